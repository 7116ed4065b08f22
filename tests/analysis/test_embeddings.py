"""t-SNE keeps well-separated clusters apart and is reproducible for a seed."""

import numpy as np
import pytest

from nnlab.analysis.embeddings import tsne
from nnlab.errors import NnlabError


def _clusters():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=20, size=(3, 60))
    return np.concatenate([c + rng.normal(size=(30, 60)) for c in centres]), np.repeat(
        [0, 1, 2], 30
    )


def test_tsne_separates_clusters_reproducibly():
    x, y = _clusters()
    a = tsne(x, seed=1)
    assert a.shape == (90, 2)
    np.testing.assert_array_equal(a, tsne(x, seed=1))
    centroids = np.stack([a[y == k].mean(0) for k in range(3)])
    spread = max(np.linalg.norm(a[y == k] - centroids[k], axis=1).max() for k in range(3))
    gaps = [np.linalg.norm(centroids[i] - centroids[j]) for i in range(3) for j in range(i)]
    assert min(gaps) > spread  # every cluster stays apart from the others


def test_tsne_needs_a_few_samples():
    with pytest.raises(NnlabError, match="at least 4"):
        tsne(np.zeros((2, 5)))
