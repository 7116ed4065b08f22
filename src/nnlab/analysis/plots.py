"""Figures the reports share: learning curves and image grids.

Figures are made with `matplotlib.figure.Figure` directly (no pyplot state, no GUI backend), so
they work in any process and are saved by the run folder.
"""

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

#: record key -> axis label for learning curves
_LABELS = {
    "train_loss": "training loss",
    "val_loss": "validation loss",
    "train_acc": "training accuracy",
    "val_acc": "validation accuracy",
}


def learning_curves(
    histories: Mapping[str, Sequence[Mapping[str, float]]],
    keys: Sequence[str] = ("train_loss", "val_acc"),
    *,
    labels: Mapping[str, str] | None = None,
    styles: Mapping[str, Mapping] | None = None,
    x: str = "epoch",
) -> Figure:
    """One panel per record key, one line per model.

    Parameters
    ----------
    histories : mapping
        Model label -> its training history (a list of records, e.g. `nnlab.train.History`).
    keys : sequence of str
        Record keys to plot, one panel each (e.g. "train_loss", "val_acc").
    labels : mapping, optional
        Axis titles for keys, overriding the defaults (e.g. {"val_acc": "test accuracy"}).
    styles : mapping, optional
        Model label -> matplotlib line settings (e.g. {"color": "C0", "linestyle": "--"}), so
        related models share a colour and curves that coincide stay visible.
    x : str
        The record key on the horizontal axis.
    """
    names = {**_LABELS, **(labels or {})}
    fig = Figure(figsize=(5.2 * len(keys), 3.8), layout="constrained")
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    for ax, key in zip(axes, keys, strict=True):
        for label, history in histories.items():
            points = [(r[x], r[key]) for r in history if r.get(key) is not None]
            if points:
                xs, ys = zip(*points, strict=True)
                style = {"marker": "o", "markersize": 3, **(styles or {}).get(label, {})}
                ax.plot(xs, ys, label=label, **style)
        ax.set_xlabel(x)
        ax.set_ylabel(names.get(key, key))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    return fig


def image_rows(
    rows: Mapping[str, torch.Tensor], *, titles: Sequence[str] | None = None, scale: float = 1.3
) -> Figure:
    """Rows of images, one labelled row per entry (e.g. "original" above "permuted").

    Parameters
    ----------
    rows : mapping
        Row label -> uint8 images [n, C, H, W] (C = 1 or 3); all rows have the same n.
    titles : sequence of str, optional
        One title per column (e.g. class names).
    scale : float
        Inches per image.
    """
    n = len(next(iter(rows.values())))
    fig = Figure(figsize=(scale * n, scale * len(rows) + 0.3), layout="constrained")
    axes = fig.subplots(len(rows), n, squeeze=False)
    for r, (label, images) in enumerate(rows.items()):
        for c in range(n):
            ax = axes[r, c]
            ax.imshow(_displayable(images[c]), cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label)
            if r == 0 and titles is not None:
                ax.set_title(titles[c], fontsize="small")
    return fig


def _displayable(image: torch.Tensor) -> np.ndarray:
    """[C, H, W] uint8 -> [H, W] (grey) or [H, W, 3] for imshow."""
    array = image.detach().cpu().numpy()
    return array[0] if array.shape[0] == 1 else array.transpose(1, 2, 0)
