"""Softmax (multinomial logistic) regression and binary logistic regression, by mini-batch SGD.

Both minimise the mean cross-entropy of a batch plus the L2 penalty (α/2)·‖W‖² (the intercept
is not penalised), optionally clip the gradient to a maximum global norm, and can stop early on
a validation metric. They differ only in the link: softmax over k logits, or a sigmoid on one
logit (binary). The problems are convex, so the weights start at zero; `random_state` only
orders the mini-batches (and draws a held-out validation part when one is needed).
"""

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from nnlab.scratch._base import (
    check_fitted,
    checked_X,
    checked_X_y,
    encode_labels,
    partial_fit_data,
)
from nnlab.scratch._checks import (
    ScratchValueError,
    check_choice,
    check_finite_loss,
    check_number,
    dtype_of,
    make_rng,
)
from nnlab.scratch._threads import one_blas_thread
from nnlab.scratch.activations import sigmoid, softmax
from nnlab.scratch.losses import binary_cross_entropy_with_logits, softmax_cross_entropy
from nnlab.scratch.sampling import minibatches
from nnlab.scratch.stopping import MONITORS, EarlyStopping


class _LinearClassifier(ClassifierMixin, BaseEstimator):
    """Shared training of the two linear classifiers; subclasses give the link and the loss."""

    _binary = False

    def __init__(
        self,
        *,
        lr: float = 1e-3,
        batch_size: int = 256,
        max_iter: int = 3000,
        alpha: float = 1e-4,
        clip_norm: float | None = None,
        early_stopping: bool = False,
        monitor: str = "loss",
        patience: int = 50,
        target_accuracy: float | None = None,
        validation_fraction: float = 0.1,
        eval_every: int = 1,
        random_state=None,
        dtype: str = "float64",
    ):
        self.lr = lr
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.alpha = alpha
        self.clip_norm = clip_norm
        self.early_stopping = early_stopping
        self.monitor = monitor
        self.patience = patience
        self.target_accuracy = target_accuracy
        self.validation_fraction = validation_fraction
        self.eval_every = eval_every
        self.random_state = random_state
        self.dtype = dtype

    # -- what the subclasses define -------------------------------------------------------------

    def _n_outputs(self) -> int:
        raise NotImplementedError

    def _loss(self, z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Mean cross-entropy of logits z [n, outputs] against class indices y, and dloss/dz."""
        raise NotImplementedError

    def _predicted_index(self, z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # -- fitting --------------------------------------------------------------------------------

    @one_blas_thread
    def fit(self, X, y, *, validation_data=None):
        """Train from zero weights for `max_iter` mini-batch steps, or until early stopping.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
            Class labels.
        validation_data : (X_val, y_val), optional
            Scored every `eval_every` steps (loss and accuracy in `history_`) and monitored by
            early stopping. Without it, early stopping or a target accuracy hold out
            `validation_fraction` of (X, y).

        Returns
        -------
        self
        """
        self._check_params()
        X, y = checked_X_y(self, X, y, dtype=self._dtype, classifier=True)
        self.classes_, yi = encode_labels(type(self).__name__, y, binary=self._binary)
        self._start(X.shape[1])
        X, yi, val = self._validation_split(X, yi, validation_data, self._rng)
        stopper = None
        if self.early_stopping or self.target_accuracy is not None:
            patience = self.patience if self.early_stopping else None
            stopper = EarlyStopping(self.monitor, patience, self.target_accuracy)
        batches = minibatches(len(X), self.batch_size, self._rng, epochs=None)
        self.stop_reason_ = self._train(X, yi, batches, self.max_iter, val, stopper)
        self.best_iteration_ = stopper.best_step if stopper else None
        if stopper and self.early_stopping and stopper.best_step is not None:
            self.coef_, self.intercept_ = self._best  # the model selected on validation
        return self

    @one_blas_thread
    def partial_fit(self, X, y, classes=None):
        """One epoch of mini-batch steps over (X, y), continuing from the current weights.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
        classes : array-like, optional
            Every class label; required on the first call (later batches may lack some).

        Returns
        -------
        self
        """
        first = not hasattr(self, "coef_")
        X, yi = partial_fit_data(
            self, X, y, classes, first=first, dtype=self._dtype, binary=self._binary
        )
        if first:
            self._start(X.shape[1])
        steps = -(-len(X) // self.batch_size)  # one epoch: ceil(n / batch_size)
        batches = minibatches(len(X), self.batch_size, self._rng)
        self.stop_reason_ = self._train(X, yi, batches, steps, None, None)
        return self

    def _start(self, n_features: int) -> None:
        """Zero weights, an empty history, and the generator that orders the batches."""
        self.coef_ = np.zeros((self._n_outputs(), n_features), dtype=self._dtype)
        self.intercept_ = np.zeros(self._n_outputs(), dtype=self._dtype)
        self.history_: list[dict] = []
        self.n_iter_ = 0
        self._rng = make_rng(self.random_state)

    def _train(self, X, yi, batches, steps: int, val, stopper) -> str:
        """`steps` SGD steps on the given batches; returns why training ended."""
        name = type(self).__name__
        for step in range(steps):
            idx = next(batches)
            Xb = X[idx]
            z = Xb @ self.coef_.T + self.intercept_  # [b, outputs]
            loss, dz = self._loss(z, yi[idx])
            check_finite_loss(name, loss, f"at iteration {self.n_iter_ + 1}", self.lr)
            g_coef = dz.T @ Xb + self.alpha * self.coef_  # [outputs, features]
            g_int = dz.sum(axis=0)
            norm = float(np.sqrt((g_coef * g_coef).sum() + (g_int * g_int).sum()))
            if self.clip_norm is not None and norm > self.clip_norm:
                g_coef *= self.clip_norm / norm
                g_int *= self.clip_norm / norm
            self.coef_ -= self.lr * g_coef
            self.intercept_ -= self.lr * g_int
            self.n_iter_ += 1
            record = {
                "iteration": self.n_iter_,
                "train_loss": loss,
                "train_acc": float(np.mean(self._predicted_index(z) == yi[idx])),
                "penalty": 0.5 * self.alpha * float((self.coef_ * self.coef_).sum()),
                "grad_norm": norm,
            }
            evaluate = val is not None and (
                self.n_iter_ % self.eval_every == 0 or step == steps - 1
            )
            if evaluate:
                record["val_loss"], record["val_acc"] = self._loss_and_accuracy(*val)
            self.history_.append(record)
            if evaluate and stopper is not None:
                reason = stopper.update(self.n_iter_, record["val_loss"], record["val_acc"])
                if stopper.improved:
                    self._best = (self.coef_.copy(), self.intercept_.copy())
                if reason:
                    return reason
        return "max_iter"

    def _validation_split(self, X, yi, validation_data, rng):
        """(X, yi, (X_val, yi_val) or None): the given validation set, or a held-out part."""
        if validation_data is not None:
            X_val, y_val = validation_data
            X_val = checked_X(self, X_val, reset=False, dtype=self._dtype)
            _, yi_val = encode_labels(
                type(self).__name__, np.asarray(y_val), self.classes_, binary=self._binary
            )
            return X, yi, (X_val, yi_val)
        if not (self.early_stopping or self.target_accuracy is not None):
            return X, yi, None
        n_val = int(round(self.validation_fraction * len(X)))
        if not 1 <= n_val < len(X):
            raise ScratchValueError(
                f"{type(self).__name__}: validation_fraction={self.validation_fraction} of "
                f"{len(X)} samples leaves no validation or no training samples; pass "
                f"validation_data=(X_val, y_val) or change validation_fraction."
            )
        order = rng.permutation(len(X))
        held, kept = order[:n_val], order[n_val:]
        return X[kept], yi[kept], (X[held], yi[held])

    def _check_params(self) -> None:
        name = type(self).__name__
        check_number(name, "lr", self.lr, low=0, low_open=True)
        check_number(name, "batch_size", self.batch_size, kind=int, low=1)
        check_number(name, "max_iter", self.max_iter, kind=int, low=1)
        check_number(name, "alpha", self.alpha, low=0)
        check_number(name, "clip_norm", self.clip_norm, low=0, low_open=True, none_ok=True)
        check_choice(name, "early_stopping", self.early_stopping, (True, False))
        check_choice(name, "monitor", self.monitor, MONITORS)
        check_number(name, "patience", self.patience, kind=int, low=1)
        check_number(name, "target_accuracy", self.target_accuracy, low=0, high=1, none_ok=True)
        check_number(
            name,
            "validation_fraction",
            self.validation_fraction,
            low=0,
            high=1,
            low_open=True,
            high_open=True,
        )
        check_number(name, "eval_every", self.eval_every, kind=int, low=1)
        dtype_of(name, self.dtype)

    @property
    def _dtype(self) -> type:
        return dtype_of(type(self).__name__, self.dtype)

    # -- predicting -----------------------------------------------------------------------------

    def _logits(self, X) -> np.ndarray:
        check_fitted(self, "coef_")
        X = checked_X(self, X, reset=False, dtype=self._dtype)
        return X @ self.coef_.T + self.intercept_  # [n, outputs]

    def _loss_and_accuracy(self, X: np.ndarray, yi: np.ndarray) -> tuple[float, float]:
        z = X @ self.coef_.T + self.intercept_
        return self._loss(z, yi)[0], float(np.mean(self._predicted_index(z) == yi))

    def predict(self, X) -> np.ndarray:
        """Predicted class labels, shape (n_samples,)."""
        index = self._predicted_index(self._logits(X))  # first: it checks that we are fitted
        return self.classes_[index]


class SoftmaxRegression(_LinearClassifier):
    """Multinomial logistic regression: P(class | x) = softmax(W x + b), trained by SGD.

    Parameters
    ----------
    lr : float
        Learning rate of plain SGD on the batch-mean gradient.
    batch_size : int
        Samples per step, drawn without replacement within each epoch.
    max_iter : int
        At most this many steps (mini-batches, not epochs).
    alpha : float
        L2 penalty λ: the loss adds (λ/2)·‖W‖² (not the intercept).
    clip_norm : float, optional
        Rescale the gradient (W and b together) to this global norm when it is longer.
    early_stopping : bool
        Stop when the validation metric `monitor` has not improved for `patience`
        evaluations, and keep the best weights.
    monitor : {"loss", "accuracy"}
        Validation metric for early stopping.
    patience : int
        Evaluations without improvement before stopping.
    target_accuracy : float, optional
        Stop as soon as the validation accuracy reaches it.
    validation_fraction : float
        Part of the training data held out when a validation set is needed but not given.
    eval_every : int
        Score the validation set every this many steps.
    random_state : None, int or Generator
        Orders the mini-batches (and draws the held-out part).
    dtype : {"float64", "float32"}
        Arithmetic precision.

    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
    coef_ : ndarray, shape (n_classes, n_features)
    intercept_ : ndarray, shape (n_classes,)
    n_iter_ : int
        Steps taken.
    history_ : list of dict
        One record per step: "iteration", "train_loss" and "train_acc" (of the step's batch,
        before the update), "penalty" (after it), "grad_norm" (before clipping), and
        "val_loss", "val_acc" where the validation set was scored.
    stop_reason_ : str
        "max_iter", "patience" or "target".
    best_iteration_ : int or None
        The step of the best validation score, when a validation metric was monitored.
    """

    def _n_outputs(self) -> int:
        return len(self.classes_)

    def _loss(self, z, y):
        return softmax_cross_entropy(z, y)

    def _predicted_index(self, z):
        return np.argmax(z, axis=1)

    def decision_function(self, X) -> np.ndarray:
        """Logits W x + b, shape (n_samples, n_classes).

        With two classes, scikit-learn's convention: the log-odds z₁ − z₀ of classes_[1],
        shape (n_samples,).
        """
        z = self._logits(X)
        return z[:, 1] - z[:, 0] if z.shape[1] == 2 else z

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes); rows sum to 1."""
        return softmax(self._logits(X))


class LogisticRegression(_LinearClassifier):
    """Binary logistic regression: P(classes_[1] | x) = σ(w·x + b), trained by SGD.

    Parameters and attributes are those of `SoftmaxRegression`, except that y must hold exactly
    two classes, `coef_` has shape (1, n_features) and `intercept_` shape (1,), as in
    scikit-learn's binary linear models.
    """

    _binary = True

    def _n_outputs(self) -> int:
        return 1

    def _loss(self, z, y):
        loss, dz = binary_cross_entropy_with_logits(z[:, 0], y.astype(z.dtype))
        return loss, dz[:, None]  # [n] -> [n, 1]

    def _predicted_index(self, z):
        return (z[:, 0] > 0).astype(np.int64)

    def decision_function(self, X) -> np.ndarray:
        """The logit w·x + b, shape (n_samples,); positive means classes_[1]."""
        return self._logits(X)[:, 0]

    def predict_proba(self, X) -> np.ndarray:
        """[P(classes_[0]), P(classes_[1])] per sample, shape (n_samples, 2)."""
        p = sigmoid(self.decision_function(X))
        return np.stack([1 - p, p], axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags
