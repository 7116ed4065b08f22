"""What `MLPClassifier` and `Autoencoder` share: settings checks, the network, the epoch loop.

Both train a `Network` (Xavier-uniform weights, zero biases) by mini-batch SGD with optional
momentum, one epoch at a time, and record a history with one record per epoch, epoch 0 being
the untrained network. The records come from scoring the whole training (and validation) set
after each epoch, not from averaging batch losses during it, so a record describes one model.
"""

import numpy as np
from sklearn.base import BaseEstimator

from nnlab.scratch._checks import (
    check_choice,
    check_finite_loss,
    check_number,
    check_sizes,
    dtype_of,
    make_rng,
)
from nnlab.scratch.activations import ACTIVATIONS
from nnlab.scratch.losses import REDUCTIONS
from nnlab.scratch.network import Network, mlp
from nnlab.scratch.optim import SGD
from nnlab.scratch.training import train_epoch

HIDDEN_ACTIVATIONS = tuple(name for name in ACTIVATIONS if name != "softmax")


class NetworkEstimator(BaseEstimator):
    """Base of the network estimators; subclasses define `__init__` (their defaults), the
    output activation `_output`, `_loss(out, targets)` and `_record(X, T, validation)`."""

    _output = "identity"

    def _check_params(self) -> None:
        name = type(self).__name__
        check_sizes(name, "hidden_layer_sizes", self.hidden_layer_sizes)
        check_choice(name, "activation", self.activation, HIDDEN_ACTIVATIONS)
        check_number(name, "lr", self.lr, low=0, low_open=True)
        check_number(name, "momentum", self.momentum, low=0, high=1, high_open=True)
        check_number(name, "batch_size", self.batch_size, kind=int, low=1)
        check_number(name, "max_iter", self.max_iter, kind=int, low=1)
        check_choice(name, "loss_reduction", self.loss_reduction, REDUCTIONS)
        check_choice(name, "shuffle", self.shuffle, (True, False))
        dtype_of(name, self.dtype)

    @property
    def _dtype(self) -> type:
        return dtype_of(type(self).__name__, self.dtype)

    def _start(self, n_in: int, n_out: int) -> None:
        """A fresh network n_in → hidden → n_out, its optimiser, and an empty history."""
        self._rng = make_rng(self.random_state)
        hidden = check_sizes(type(self).__name__, "hidden_layer_sizes", self.hidden_layer_sizes)
        sizes = (n_in, *hidden, n_out)
        self.network_: Network = mlp(
            sizes, self.activation, output=self._output, rng=self._rng, dtype=self._dtype
        )
        self._optimizer = SGD(self.network_.params, self.lr, self.momentum)
        self.initial_coefs_ = [layer.params["W"].copy() for layer in self.network_.dense_layers]
        self.history_: list[dict] = []
        self.n_iter_ = 0

    def _epochs(self, X: np.ndarray, T: np.ndarray, epochs: int, validation) -> None:
        """Train `epochs` epochs on (X, T), recording each (and the start, if not yet done)."""
        if not self.history_:
            self.history_.append({"epoch": 0, **self._record(X, T, validation)})
        for _ in range(epochs):
            total = train_epoch(
                self.network_,
                self._optimizer,
                self._loss,
                X,
                T,
                self.batch_size,
                self._rng,
                shuffle=self.shuffle,
            )
            self.n_iter_ += 1
            check_finite_loss(type(self).__name__, total, f"in epoch {self.n_iter_}", self.lr)
            self.history_.append({"epoch": self.n_iter_, **self._record(X, T, validation)})

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Weights of each Dense layer, shape (inputs, outputs) (the network's own arrays)."""
        return [layer.params["W"] for layer in self.network_.dense_layers]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Biases of each Dense layer, shape (outputs,)."""
        return [layer.params["b"] for layer in self.network_.dense_layers]

    @property
    def loss_curve_(self) -> list[float]:
        """The training-set loss after each epoch (as scikit-learn's MLP records it)."""
        return [record["train_loss"] for record in self.history_[1:]]
