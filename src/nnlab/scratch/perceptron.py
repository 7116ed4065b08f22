"""Rosenblatt's perceptron (1958): the classic online rule, made fast without changing it.

On each mistake, y·(w·x + b) ≤ 0 with y ∈ {−1, +1}, the rule sets w ← w + η·y·x and b ← b + η·y,
one sample at a time, so each update depends on all earlier ones. A Python loop over samples
would spend most of its time on the samples it gets right; here a pass scores a whole run of
upcoming samples with one matrix product, jumps to the first mistake, updates, and scores again
from the next sample. The weights, mistakes and order are exactly the per-sample rule's; only
the arithmetic is batched. The run length adapts to the last pass's mistake rate (short while
mistakes are frequent, long once they are rare).
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
from nnlab.scratch._checks import check_choice, check_number, dtype_of, make_rng
from nnlab.scratch._threads import one_blas_thread

#: bounds on how many samples one matrix product scores ahead
_MIN_RUN, _MAX_RUN = 8, 4096


def online_pass(Xa: np.ndarray, s: np.ndarray, w: np.ndarray, eta: float, run: int) -> int:
    """One pass of the perceptron rule over the rows in order; updates `w` in place.

    Parameters
    ----------
    Xa : ndarray, shape (n, d + 1)
        Samples with a constant 1 appended (so the last weight is the bias b).
    s : ndarray, shape (n,)
        Labels −1 or +1.
    w : ndarray, shape (d + 1,)
        Weights and bias, changed in place.
    eta : float
        Learning rate η.
    run : int
        How many upcoming samples to score with one product.

    Returns
    -------
    int
        Mistakes made (= updates done) in the pass.
    """
    n, i, mistakes = len(Xa), 0, 0
    while i < n:
        end = min(i + run, n)
        margins = s[i:end] * (Xa[i:end] @ w)  # [end - i], with w as it is now
        wrong = np.flatnonzero(margins <= 0)
        if wrong.size == 0:
            i = end
            continue
        j = i + int(wrong[0])  # the first mistake; later margins used the old w: rescore
        w += (eta * s[j]) * Xa[j]
        mistakes += 1
        i = j + 1
    return mistakes


class Perceptron(ClassifierMixin, BaseEstimator):
    """Binary perceptron trained by Rosenblatt's online rule.

    Parameters
    ----------
    eta0 : float
        Learning rate η (scikit-learn's name). With a random start its size relative to the
        initial weights matters; from zero weights it would not.
    max_iter : int
        At most this many passes over the training data.
    tol : float, optional
        Stop when the mistake rate of a pass differs from the previous pass's by less than
        `tol` (None: run `max_iter` passes unless a pass makes no mistake).
    shuffle : bool
        Visit the samples in a new random order each pass.
    init_scale : float
        The initial w and b are drawn from N(0, init_scale²) (0: start from zero).
    random_state : None, int or Generator
        Draws the initial weights and the pass orders.
    dtype : {"float64", "float32"}

    Attributes
    ----------
    classes_ : ndarray, shape (2,)
        classes_[1] is the positive class (y = +1).
    coef_ : ndarray, shape (1, n_features)
    intercept_ : ndarray, shape (1,)
    n_iter_ : int
        Passes made.
    history_ : list of dict
        One record per pass: "pass" and "mistake_rate" (updates made in the pass / samples).
    """

    def __init__(
        self,
        *,
        eta0: float = 0.01,
        max_iter: int = 1000,
        tol: float | None = 1e-3,
        shuffle: bool = True,
        init_scale: float = 0.01,
        random_state=None,
        dtype: str = "float64",
    ):
        self.eta0 = eta0
        self.max_iter = max_iter
        self.tol = tol
        self.shuffle = shuffle
        self.init_scale = init_scale
        self.random_state = random_state
        self.dtype = dtype

    @one_blas_thread
    def fit(self, X, y):
        """Random start, then passes of the online rule until the mistake rate settles.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
            Two class labels.

        Returns
        -------
        self
        """
        self._check_params()
        X, y = checked_X_y(self, X, y, dtype=dtype_of("Perceptron", self.dtype), classifier=True)
        self.classes_, yi = encode_labels("Perceptron", y, binary=True)
        self._start(X.shape[1])
        Xa, s = _augmented(X), (2 * yi - 1).astype(X.dtype)
        for _ in range(self.max_iter):
            rate = self._one_pass(Xa, s)
            previous = self.history_[-2]["mistake_rate"] if self.n_iter_ > 1 else None
            settled = self.tol is not None and previous is not None
            if rate == 0 or (settled and abs(rate - previous) < self.tol):
                break
        return self

    @one_blas_thread
    def partial_fit(self, X, y, classes=None):
        """One pass of the online rule over (X, y), from the current weights.

        Parameters
        ----------
        X : array-like, shape (n_samples, n_features)
        y : array-like, shape (n_samples,)
        classes : array-like, optional
            Both class labels; required on the first call.

        Returns
        -------
        self
        """
        first = not hasattr(self, "coef_")
        dtype = dtype_of("Perceptron", self.dtype)
        X, yi = partial_fit_data(self, X, y, classes, first=first, dtype=dtype, binary=True)
        if first:
            self._start(X.shape[1])
        self._one_pass(_augmented(X), (2 * yi - 1).astype(X.dtype))
        return self

    def _start(self, n_features: int) -> None:
        """Random initial weights, the pass-order generator, an empty history."""
        self._rng = make_rng(self.random_state)
        self._set_weights(self.init_scale * self._rng.standard_normal(n_features + 1))
        self.history_, self.n_iter_ = [], 0

    def _one_pass(self, Xa: np.ndarray, s: np.ndarray) -> float:
        """A pass in this pass's order; records and returns its mistake rate."""
        order = self._rng.permutation(len(Xa)) if self.shuffle else np.arange(len(Xa))
        last = self.history_[-1]["mistake_rate"] if self.history_ else 1.0
        # score about 4 expected mistakes' worth of samples per product
        run = int(np.clip(4 / max(last, 1e-6), _MIN_RUN, _MAX_RUN))
        w = np.concatenate([self.coef_[0], self.intercept_]).astype(Xa.dtype)
        mistakes = online_pass(Xa[order], s[order], w, self.eta0, run)
        self._set_weights(w)
        self.n_iter_ += 1
        rate = mistakes / len(Xa)
        self.history_.append({"pass": self.n_iter_, "mistake_rate": rate})
        return rate

    def _set_weights(self, w: np.ndarray) -> None:
        dtype = dtype_of("Perceptron", self.dtype)
        self.coef_ = w[None, :-1].astype(dtype)  # [1, n_features]
        self.intercept_ = w[-1:].astype(dtype)

    def _check_params(self) -> None:
        check_number("Perceptron", "eta0", self.eta0, low=0, low_open=True)
        check_number("Perceptron", "max_iter", self.max_iter, kind=int, low=1)
        check_number("Perceptron", "tol", self.tol, low=0, none_ok=True)
        check_choice("Perceptron", "shuffle", self.shuffle, (True, False))
        check_number("Perceptron", "init_scale", self.init_scale, low=0)
        dtype_of("Perceptron", self.dtype)

    def decision_function(self, X) -> np.ndarray:
        """w·x + b, shape (n_samples,); positive means classes_[1]."""
        check_fitted(self, "coef_")
        X = checked_X(self, X, reset=False, dtype=dtype_of("Perceptron", self.dtype))
        return X @ self.coef_[0] + self.intercept_[0]

    def predict(self, X) -> np.ndarray:
        """Predicted class labels, shape (n_samples,)."""
        positive = self.decision_function(X) > 0  # first: it checks that the model is fitted
        return self.classes_[positive.astype(np.int64)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags


def _augmented(X: np.ndarray) -> np.ndarray:
    """[X | 1]: shape (n, d) -> (n, d + 1), so the bias is the last weight."""
    return np.hstack([X, np.ones((len(X), 1), dtype=X.dtype)])
