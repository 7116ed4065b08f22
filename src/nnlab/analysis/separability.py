"""How linearly separable each pair of classes is: a linear SVM per pair of classes.

For K classes, `pairwise_svm` trains K(K-1)/2 scikit-learn `LinearSVC`s, one on the points of
each pair, and scores each on those same points: the fraction a straight line can put on the
right side, a measure of separability rather than of generalisation.
"""

import itertools
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.svm import LinearSVC

from nnlab.analysis.pca import as_numpy
from nnlab.errors import ConfigError


def pairwise_svm(
    points,
    labels,
    classes: Sequence[str],
    *,
    C: float = 1.0,
    max_iter: int = 10_000,
    seed: int = 0,
) -> list[dict]:
    """Train and score a linear SVM on every pair of classes.

    Parameters
    ----------
    points : array-like [N, D]
        NumPy array or torch tensor (e.g. a 2-D PCA projection).
    labels : array-like of int [N]
        Class indices into `classes`.
    classes : sequence of str
        Class names; every class must have points.
    C : float
        LinearSVC's regularisation (squared hinge loss, L2 penalty).
    max_iter : int
        LinearSVC's iteration limit; a pair that hits it is marked `converged` False.
    seed : int
        LinearSVC's random_state.

    Returns
    -------
    list of dict
        One row per pair (a < b, in order (0, 1), (0, 2), ...): {"pair": "a/b" (names),
        "a", "b" (indices), "accuracy" (on the pair's points), "n", "converged"}.
    """
    xy = as_numpy(points).astype(np.float64).reshape(len(points), -1)
    y = as_numpy(labels).astype(np.int64)
    if len(xy) != len(y):
        raise ConfigError(f"pairwise_svm got {len(xy)} points but {len(y)} labels.")
    counts = np.bincount(y, minlength=len(classes))
    if len(counts) > len(classes) or (counts == 0).any():
        raise ConfigError(
            f"pairwise_svm needs points of every one of the {len(classes)} classes "
            f"{list(classes)}; got counts {counts.tolist()}."
        )
    rows = []
    for a, b in itertools.combinations(range(len(classes)), 2):
        mine = (y == a) | (y == b)
        svm = LinearSVC(C=C, max_iter=max_iter, random_state=seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            svm.fit(xy[mine], y[mine])
        rows.append(
            {
                "pair": f"{classes[a]}/{classes[b]}",
                "a": a,
                "b": b,
                "accuracy": float(svm.score(xy[mine], y[mine])),
                "n": int(mine.sum()),
                "converged": not any(issubclass(w.category, ConvergenceWarning) for w in caught),
            }
        )
    return rows
