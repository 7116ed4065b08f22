"""Classification metrics for the reports: accuracy, confusion matrix, per-class report.

Thin, checked wrappers over scikit-learn's definitions, taking NumPy arrays or torch tensors, so
every experiment reports precision, recall and F1 the same way (zero_division=0: a class never
predicted gets precision 0, not a warning).
"""

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from sklearn import metrics as skm

from nnlab.errors import NnlabError


def _labels(values, name: str) -> np.ndarray:
    """Class indices as a 1-D int64 NumPy array (from a tensor, list or array)."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 1:
        raise NnlabError(f"{name} must be a 1-D array of class indices, got shape {array.shape}.")
    return array.astype(np.int64, copy=False)


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    true, pred = _labels(y_true, "y_true"), _labels(y_pred, "y_pred")
    if len(true) != len(pred):
        raise NnlabError(f"y_true has {len(true)} labels but y_pred has {len(pred)}.")
    return true, pred


def accuracy(y_true, y_pred) -> float:
    """Fraction of predictions equal to the true class (0.0 for no samples)."""
    true, pred = _pair(y_true, y_pred)
    return float((true == pred).mean()) if len(true) else 0.0


def confusion_matrix(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Counts [K, K]: row = true class, column = predicted class (all K classes, even unseen)."""
    true, pred = _pair(y_true, y_pred)
    return skm.confusion_matrix(true, pred, labels=np.arange(num_classes)).astype(np.int64)


def classification_report(y_true, y_pred, classes: Sequence[str]) -> list[dict]:
    """Precision, recall, F1 and support per class, then the macro and weighted averages.

    Parameters
    ----------
    y_true, y_pred : array-like of int [N]
        True and predicted class indices into `classes`.
    classes : sequence of str
        Class names, index = class.

    Returns
    -------
    list of dict
        Rows {"class", "precision", "recall", "f1", "support"}: one per class in index order,
        then "macro avg" (unweighted mean over classes) and "weighted avg" (weighted by support).
    """
    true, pred = _pair(y_true, y_pred)
    labels = np.arange(len(classes))
    rows = []
    per_class = skm.precision_recall_fscore_support(
        true, pred, labels=labels, average=None, zero_division=0
    )
    for k, name in enumerate(classes):
        p, r, f, s = (column[k] for column in per_class)
        rows.append(_row(name, p, r, f, s))
    for average in ("macro", "weighted"):
        p, r, f, _ = skm.precision_recall_fscore_support(
            true, pred, labels=labels, average=average, zero_division=0
        )
        rows.append(_row(f"{average} avg", p, r, f, len(true)))
    return rows


def _row(name: str, precision, recall, f1, support) -> dict:
    return {
        "class": name,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "support": int(support),
    }


def confusion_figure(
    matrix: np.ndarray,
    classes: Sequence[str],
    *,
    normalize: bool = True,
    title: str | None = None,
) -> Figure:
    """A confusion matrix as a heat map, true class down, predicted class across.

    Parameters
    ----------
    matrix : array [K, K]
        Counts from `confusion_matrix`.
    classes : sequence of str
        Class names for the axes.
    normalize : bool
        Colour by the fraction of each true class (row) rather than raw counts; cells are
        annotated with counts when K <= 12.
    title : str, optional
        Figure title.
    """
    counts = np.asarray(matrix)
    k = len(classes)
    shown = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1) if normalize else counts
    side = min(max(4.0, 0.32 * k + 2.0), 14.0)
    fig = Figure(figsize=(side + 1.0, side), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of true class" if normalize else "count")
    ax.set_xticks(range(k), classes, rotation=90 if k > 12 else 45, fontsize="small")
    ax.set_yticks(range(k), classes, fontsize="small")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 12:
        threshold = 0.5 * (shown.max() if shown.size else 0)
        for i in range(k):
            for j in range(k):
                colour = "white" if shown[i, j] > threshold else "black"
                ax.text(
                    j,
                    i,
                    str(counts[i, j]),
                    ha="center",
                    va="center",
                    color=colour,
                    fontsize="x-small",
                )
    if title:
        ax.set_title(title)
    return fig
