"""Input validation for the estimators, through scikit-learn's own helpers.

scikit-learn's messages ("X has 3 features, but SoftmaxRegression is expecting 4 features as
input.") are kept word for word; only the exception becomes a `ScratchValueError`, which is both
the `ValueError` scikit-learn's conventions expect and the `NnlabError` nnlab's CLI reports.
"""

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from nnlab.errors import NnlabError
from nnlab.scratch._checks import ScratchValueError


class ScratchNotFittedError(NnlabError, NotFittedError):
    """`predict`, `transform`, ... called before `fit` (a scikit-learn `NotFittedError` too)."""


def checked_X(estimator, X, *, reset: bool, dtype) -> np.ndarray:
    """X as a finite 2-D array of `dtype`; `reset` records n_features_in_ (in `fit`)."""
    try:
        return validate_data(estimator, X, reset=reset, dtype=dtype)
    except ValueError as exc:
        raise ScratchValueError(str(exc)) from exc


def checked_X_y(
    estimator, X, y, *, dtype, classifier: bool, reset: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """(X, y) for `fit`: X as `checked_X`, y 1-D with one label per row (class labels if a
    classifier)."""
    try:
        X, y = validate_data(estimator, X, y, dtype=dtype, reset=reset)
        if classifier:
            check_classification_targets(y)
    except ValueError as exc:
        raise ScratchValueError(str(exc)) from exc
    return X, y


def encode_labels(
    owner: str, y: np.ndarray, classes: np.ndarray | None = None, *, binary: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Labels as indices into the sorted class list.

    Parameters
    ----------
    owner : str
        The estimator's name, for messages.
    y : ndarray, shape (n,)
        Class labels of any sortable kind.
    classes : ndarray, optional
        The classes already known (from an earlier `partial_fit` or its `classes` argument).
    binary : bool
        Whether exactly two classes are required.

    Returns
    -------
    classes : ndarray, shape (k,)
        Sorted distinct labels.
    y_index : ndarray of int64, shape (n,)
        Index of each label in `classes`.
    """
    if classes is None:
        classes = np.unique(y)
    unseen = np.setdiff1d(np.unique(y), classes)
    if unseen.size:
        raise ScratchValueError(
            f"{owner}: labels {unseen.tolist()} are not among the classes {classes.tolist()} "
            f"given to the first partial_fit; pass every class in `classes` then."
        )
    if binary and len(classes) > 2:
        raise ScratchValueError(
            f"{owner}: Only binary classification is supported. y holds {len(classes)} classes; "
            f"use SoftmaxRegression or MLPClassifier for more, or pick two classes."
        )
    if len(classes) < 2:
        raise ScratchValueError(
            f"{owner} needs at least two classes in y to train, got one class: {classes.tolist()}."
        )
    return classes, np.searchsorted(classes, y).astype(np.int64)


def partial_fit_data(
    estimator, X, y, classes, *, first: bool, dtype, binary: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(X, y as class indices) for one `partial_fit` call, setting `classes_`.

    The first call checks the settings and needs `classes` (every label, as later batches may
    lack some); later calls check X against the fitted width and y against the known classes.
    """
    owner = type(estimator).__name__
    if first:
        estimator._check_params()
        if classes is None:
            raise ScratchValueError(
                f"{owner}.partial_fit needs `classes` (every label) on its first call."
            )
    X, y = checked_X_y(estimator, X, y, dtype=dtype, classifier=True, reset=first)
    known = np.unique(np.asarray(classes)) if first else estimator.classes_
    estimator.classes_, yi = encode_labels(owner, y, known, binary=binary)
    return X, yi


def check_fitted(estimator, attribute: str) -> None:
    """Raise `ScratchNotFittedError` if `fit` has not set `attribute` yet."""
    try:
        check_is_fitted(estimator, attribute)
    except NotFittedError as exc:
        raise ScratchNotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
            f"appropriate arguments before using this estimator."
        ) from exc
