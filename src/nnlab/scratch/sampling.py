"""Mini-batch sampling: index arrays that cover the data once per epoch, in a seeded order."""

from collections.abc import Iterator

import numpy as np


def minibatches(
    n: int,
    batch_size: int,
    rng: np.random.Generator,
    *,
    shuffle: bool = True,
    epochs: int | None = 1,
) -> Iterator[np.ndarray]:
    """Index arrays of mini-batches: every sample once per epoch, a fresh order each epoch.

    Parameters
    ----------
    n : int
        Number of samples.
    batch_size : int
        Samples per batch; the last batch of an epoch may be smaller.
    rng : numpy.random.Generator
        Draws each epoch's permutation (so a seed fixes the whole sequence).
    shuffle : bool
        False keeps the data order (0, 1, ..., n − 1) every epoch.
    epochs : int or None
        Epochs to cover; None = without end (for training by iteration count).

    Yields
    ------
    ndarray of int, shape (≤ batch_size,)
    """
    epoch = 0
    while epochs is None or epoch < epochs:
        order = rng.permutation(n) if shuffle else np.arange(n)
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]
        epoch += 1
