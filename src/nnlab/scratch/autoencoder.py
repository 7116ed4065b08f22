"""`Autoencoder`: a dense autoencoder in NumPy, sigmoid output, squared-error loss.

Inputs are expected in [0, 1] (the sigmoid output's range), e.g. pixel intensities / 255.
"""

import numpy as np
from sklearn.base import TransformerMixin

from nnlab.scratch._base import check_fitted, checked_X
from nnlab.scratch._network_estimator import NetworkEstimator
from nnlab.scratch._threads import one_blas_thread
from nnlab.scratch.losses import squared_error


class Autoencoder(TransformerMixin, NetworkEstimator):
    """inputs → hidden layers → inputs, trained to reproduce its input by SGD with momentum.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
        Units of each hidden layer; (32, 32, 32) makes d → 32 → 32 → 32 → d.
    activation : {"relu", "sigmoid", "tanh", "identity"}
        Hidden layers' activation (the output layer's is a sigmoid).
    lr : float
        Learning rate.
    momentum : float
        Heavy-ball momentum μ in [0, 1).
    batch_size : int
    max_iter : int
        Epochs.
    loss_reduction : {"sum", "mean"}
        Whether a step follows the batch's summed squared error (the CMU 16-720 exercise, for
        which lr 3e-5 was chosen) or its per-sample mean.
    shuffle : bool
    random_state : None, int or Generator
    dtype : {"float64", "float32"}

    Attributes
    ----------
    network_ : Network
    coefs_, intercepts_, initial_coefs_ : list of ndarray
        As for `MLPClassifier`.
    n_iter_ : int
        Epochs trained.
    history_ : list of dict
        One record per epoch, epoch 0 = untrained: "epoch", "train_loss" (mean over samples of
        the squared error summed over a sample's inputs) and "val_loss" with `validation_data`.
    loss_curve_ : list of float
    code_layer_ : int
        Index in `network_.layers` of the activation whose output `transform` returns: that of
        the middle hidden layer (the first of the two middle ones for an even count).
    """

    _output = "sigmoid"

    def __init__(
        self,
        *,
        hidden_layer_sizes: tuple[int, ...] = (32, 32, 32),
        activation: str = "relu",
        lr: float = 3e-5,
        momentum: float = 0.9,
        batch_size: int = 32,
        max_iter: int = 100,
        loss_reduction: str = "sum",
        shuffle: bool = True,
        random_state=None,
        dtype: str = "float64",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.lr = lr
        self.momentum = momentum
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.loss_reduction = loss_reduction
        self.shuffle = shuffle
        self.random_state = random_state
        self.dtype = dtype

    @one_blas_thread
    def fit(self, X, y=None, *, validation_data=None):
        """Train a freshly initialised autoencoder for `max_iter` epochs.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
            Values in [0, 1].
        y : ignored
        validation_data : array-like, shape (n_val, n_features), optional
            Scored after every epoch (in `history_`).

        Returns
        -------
        self
        """
        self._check_params()
        X = checked_X(self, X, reset=True, dtype=self._dtype)
        validation = None
        if validation_data is not None:
            validation = checked_X(self, validation_data, reset=False, dtype=self._dtype)
        self._start(X.shape[1], X.shape[1])
        hidden = len(self.network_.dense_layers) - 1
        self.code_layer_ = 2 * ((hidden - 1) // 2) + 1
        self._epochs(X, X, self.max_iter, validation)
        return self

    def _loss(self, out: np.ndarray, X: np.ndarray) -> tuple[float, np.ndarray]:
        return squared_error(out, X, self.loss_reduction)

    def _record(self, X, T, validation) -> dict:
        record = {"train_loss": squared_error(self.network_.forward(X), X)[0]}
        if validation is not None:
            record["val_loss"] = squared_error(self.network_.forward(validation), validation)[0]
        return record

    def _checked(self, X) -> np.ndarray:
        check_fitted(self, "network_")
        return checked_X(self, X, reset=False, dtype=self._dtype)

    def transform(self, X) -> np.ndarray:
        """The code: the middle hidden layer's output, shape (n_samples, its units)."""
        return self.network_.forward(self._checked(X), upto=self.code_layer_)

    def reconstruct(self, X) -> np.ndarray:
        """The network's output, shape (n_samples, n_features), values in (0, 1)."""
        return self.network_.forward(self._checked(X))

    def score(self, X, y=None) -> float:
        """Minus the mean squared error per sample (summed over features): higher is better."""
        X = self._checked(X)
        return -squared_error(self.network_.forward(X), X)[0]
