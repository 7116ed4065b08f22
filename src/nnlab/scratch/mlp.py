"""`MLPClassifier`: a multi-layer perceptron classifier in NumPy, softmax cross-entropy output."""

import numpy as np
from sklearn.base import ClassifierMixin

from nnlab.scratch._base import (
    check_fitted,
    checked_X,
    checked_X_y,
    encode_labels,
    partial_fit_data,
)
from nnlab.scratch._network_estimator import NetworkEstimator
from nnlab.scratch._threads import one_blas_thread
from nnlab.scratch.activations import softmax
from nnlab.scratch.losses import softmax_cross_entropy


class MLPClassifier(ClassifierMixin, NetworkEstimator):
    """Dense layers with `activation` between them, a softmax output, trained by SGD.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
        Units of each hidden layer: (64,) makes inputs → 64 → classes.
    activation : {"sigmoid", "tanh", "relu", "identity"}
        Hidden layers' activation.
    lr : float
        Learning rate.
    momentum : float
        Heavy-ball momentum μ in [0, 1) (0: plain SGD).
    batch_size : int
        Samples per step; each epoch visits every sample once.
    max_iter : int
        Epochs.
    loss_reduction : {"mean", "sum"}
        Whether a step follows the batch's mean or summed cross-entropy gradient ("sum" makes
        the effective step grow with the batch size, as in the CMU 16-720 exercises).
    shuffle : bool
        A new random order each epoch.
    random_state : None, int or Generator
        Draws the initial weights and the epoch orders.
    dtype : {"float64", "float32"}

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
    network_ : Network
        The trained network; its output is the logits.
    coefs_, intercepts_ : list of ndarray
        Each Dense layer's W (inputs, outputs) and b (outputs,).
    initial_coefs_ : list of ndarray
        The weights before training (the Xavier-uniform draw).
    n_iter_ : int
        Epochs trained.
    history_ : list of dict
        One record per epoch, epoch 0 = untrained: "epoch", "train_loss" and "train_acc" (the
        mean cross-entropy and accuracy on the whole training set), "val_loss" and "val_acc"
        when `validation_data` was given.
    loss_curve_ : list of float
        "train_loss" of epochs 1, 2, ...
    """

    def __init__(
        self,
        *,
        hidden_layer_sizes: tuple[int, ...] = (64,),
        activation: str = "sigmoid",
        lr: float = 0.01,
        momentum: float = 0.0,
        batch_size: int = 32,
        max_iter: int = 50,
        loss_reduction: str = "mean",
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
    def fit(self, X, y, *, validation_data=None):
        """Train a freshly initialised network for `max_iter` epochs.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
            Class labels.
        validation_data : (X_val, y_val), optional
            Scored after every epoch (in `history_`).

        Returns
        -------
        self
        """
        self._check_params()
        X, y = checked_X_y(self, X, y, dtype=self._dtype, classifier=True)
        self.classes_, yi = encode_labels("MLPClassifier", y)
        validation = None
        if validation_data is not None:
            X_val = checked_X(self, validation_data[0], reset=False, dtype=self._dtype)
            _, yi_val = encode_labels(
                "MLPClassifier", np.asarray(validation_data[1]), self.classes_
            )
            validation = (X_val, yi_val)
        self._start(X.shape[1], len(self.classes_))
        self._epochs(X, yi, self.max_iter, validation)
        return self

    @one_blas_thread
    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), from the current weights (a fresh network on the first call).

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
        classes : array-like, optional
            Every class label; required on the first call.

        Returns
        -------
        self
        """
        first = not hasattr(self, "network_")
        X, yi = partial_fit_data(self, X, y, classes, first=first, dtype=self._dtype)
        if first:
            self._start(X.shape[1], len(self.classes_))
        self._epochs(X, yi, 1, None)
        return self

    def _loss(self, logits: np.ndarray, yi: np.ndarray) -> tuple[float, np.ndarray]:
        return softmax_cross_entropy(logits, yi, self.loss_reduction)

    def _record(self, X, yi, validation) -> dict:
        """Mean cross-entropy and accuracy on the training set (and the validation set)."""
        record = dict(zip(("train_loss", "train_acc"), self._loss_accuracy(X, yi), strict=True))
        if validation is not None:
            record.update(
                zip(("val_loss", "val_acc"), self._loss_accuracy(*validation), strict=True)
            )
        return record

    def _loss_accuracy(self, X: np.ndarray, yi: np.ndarray) -> tuple[float, float]:
        logits = self.network_.forward(X)
        loss = softmax_cross_entropy(logits, yi)[0]
        return loss, float(np.mean(np.argmax(logits, axis=1) == yi))

    def _logits(self, X) -> np.ndarray:
        check_fitted(self, "network_")
        return self.network_.forward(checked_X(self, X, reset=False, dtype=self._dtype))

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes); rows sum to 1."""
        return softmax(self._logits(X))

    def predict(self, X) -> np.ndarray:
        """Predicted class labels, shape (n_samples,)."""
        index = np.argmax(self._logits(X), axis=1)  # first: it checks that we are fitted
        return self.classes_[index]
