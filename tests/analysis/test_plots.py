"""Grids and scatter plots show the data they were given."""

import numpy as np
import torch

from nnlab.analysis.plots import class_scatter, tile_grid


def test_tile_grid_scales_each_tile_and_leaves_spare_axes_empty():
    tiles = torch.stack([torch.full((4, 4), float(i)) for i in range(5)])
    tiles[:, 0, 0] = -1.0
    fig = tile_grid(tiles, columns=3, titles=list("abcde"))
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(shown) == 5 and len(fig.axes) == 6
    for image in shown:  # min-max per tile: every tile spans exactly [0, 1]
        assert image.min() == 0.0 and image.max() == 1.0


def test_tile_grid_signed_is_symmetric_and_accepts_channels():
    weights = np.linspace(-2, 1, 2 * 1 * 3 * 3).reshape(2, 1, 3, 3)
    fig = tile_grid(weights, scale="signed")
    lo, hi = fig.axes[0].images[0].get_clim()
    assert lo == -2.0 and hi == 2.0


def test_class_scatter_one_collection_per_present_class():
    points = np.random.default_rng(0).normal(size=(30, 2))
    labels = np.repeat([0, 2, 3], 10)
    fig = class_scatter(points, labels, ["zero", "one", "two", "three"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["zero", "two", "three"]
    np.testing.assert_allclose(ax.collections[1].get_offsets(), points[10:20])
