"""Figures the reports share: learning curves and image grids.

Figures are made with `matplotlib.figure.Figure` directly (no pyplot state, no GUI backend), so
they work in any process and are saved by the run folder.
"""

from collections.abc import Mapping, Sequence

import matplotlib
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


def tile_grid(
    images,
    *,
    columns: int | None = None,
    titles: Sequence[str] | None = None,
    title: str | None = None,
    scale: str = "each",
) -> Figure:
    """Many small images in a grid: weight images, conv filters, activation maps.

    Parameters
    ----------
    images : array-like [N, H, W] or [N, C, H, W] (C = 1 or 3)
        NumPy array or torch tensor of any real dtype.
    columns : int, optional
        Tiles per row (default: about sqrt(N)).
    titles : sequence of str, optional
        One caption per tile.
    title : str, optional
        Figure title.
    scale : str
        "each": min-max scale every tile on its own (shows each filter's pattern);
        "all": one range for all tiles (compares magnitudes);
        "signed": one range symmetric around 0 with a diverging colour map (red +, blue -).
    """
    if scale not in ("each", "all", "signed"):
        raise ValueError(f"scale must be 'each', 'all' or 'signed', got {scale!r}")
    if hasattr(images, "detach"):
        images = images.detach().cpu().numpy()
    tiles = np.asarray(images, dtype=np.float64)
    if tiles.ndim == 4:  # [N, C, H, W] -> [N, H, W] or [N, H, W, 3]
        tiles = tiles[:, 0] if tiles.shape[1] == 1 else tiles.transpose(0, 2, 3, 1)
    n = len(tiles)
    columns = columns or max(1, int(np.ceil(np.sqrt(n))))
    rows = max(1, int(np.ceil(n / columns)))
    size = 1.1 if titles is None else 1.3
    fig = Figure(
        figsize=(size * columns, size * rows + (0.4 if title else 0)), layout="constrained"
    )
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    bound = float(np.abs(tiles).max()) or 1.0
    low, high = float(tiles.min()), float(tiles.max())
    for i, ax in enumerate(axes):
        ax.set_axis_off()
        if i >= n:
            continue
        tile = tiles[i]
        if scale == "signed":
            ax.imshow(tile, cmap="RdBu_r", vmin=-bound, vmax=bound)
        else:
            lo, hi = (tile.min(), tile.max()) if scale == "each" else (low, high)
            scaled = (tile - lo) / (hi - lo) if hi > lo else np.zeros_like(tile)
            ax.imshow(scaled, cmap="gray", vmin=0, vmax=1)
        if titles is not None:
            ax.set_title(titles[i], fontsize="x-small")
    if title:
        fig.suptitle(title)
    return fig


def class_scatter(points, labels, classes: Sequence[str], *, title: str | None = None) -> Figure:
    """2-D points coloured by class with a legend (PCA or t-SNE views).

    Parameters
    ----------
    points : array-like [N, 2]
        Coordinates, NumPy or torch.
    labels : array-like of int [N]
        Class index of each point.
    classes : sequence of str
        Class names, index = class; classes without points are left out of the legend.
    title : str, optional
        Axes title.

    Returns
    -------
    Figure
        Its axes are `fig.axes[0]`, so callers can draw more (centroids, ellipses).
    """
    xy = np.asarray(points.detach().cpu() if hasattr(points, "detach") else points, float)
    y = np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels)
    fig = Figure(figsize=(6.4, 5.4), layout="constrained")
    ax = fig.subplots()
    colours = _class_colours(len(classes))
    for k, name in enumerate(classes):
        mine = y == k
        if mine.any():
            ax.scatter(xy[mine, 0], xy[mine, 1], s=4, alpha=0.6, color=colours[k], label=name)
    ax.legend(fontsize="small", markerscale=3, loc="best", ncols=2 if len(classes) > 10 else 1)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return fig


def _class_colours(k: int) -> list:
    """k distinguishable colours: tab10 up to 10 classes, then a sampled hsv wheel."""
    if k <= 10:
        return [matplotlib.colormaps["tab10"](i) for i in range(k)]
    return [matplotlib.colormaps["hsv"](i / k) for i in range(k)]
