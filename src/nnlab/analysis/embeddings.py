"""Low-dimensional views of learned features for plots: t-SNE after a PCA reduction.

PCA to 50 dimensions first is the standard recipe (van der Maaten): it removes noise and makes
t-SNE's neighbour search cheap; both steps are seeded, so a run's plot is reproducible.
"""

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE

from nnlab.errors import NnlabError

#: fewest points t-SNE embeds (its perplexity must stay below N; (N - 1) / 3 >= 1)
MIN_TSNE_POINTS = 4


def tsne(features, *, seed: int = 0, pca_dims: int = 50, perplexity: float = 30.0) -> np.ndarray:
    """2-D t-SNE coordinates of feature vectors.

    Parameters
    ----------
    features : array-like [N, D]
        NumPy array or torch tensor, one row per sample.
    seed : int
        Seeds PCA's solver and t-SNE's initialisation.
    pca_dims : int
        Reduce to this many principal components first when D is larger.
    perplexity : float
        t-SNE's effective neighbour count; lowered to (N - 1) / 3 for small N, as t-SNE requires
        perplexity < N.

    Returns
    -------
    array [N, 2]
    """
    if hasattr(features, "detach"):
        features = features.detach().cpu().numpy()
    x = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
    if len(x) < MIN_TSNE_POINTS:
        raise NnlabError(f"t-SNE needs at least {MIN_TSNE_POINTS} samples, got {len(x)}.")
    if x.shape[1] > pca_dims and len(x) > pca_dims:
        x = PCA(n_components=pca_dims, random_state=seed).fit_transform(x)
    perplexity = min(perplexity, (len(x) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(
        x
    )
