"""One epoch of mini-batch gradient descent on a `Network`: the loop the estimators share."""

from collections.abc import Callable

import numpy as np

from nnlab.scratch.network import Network
from nnlab.scratch.optim import SGD
from nnlab.scratch.sampling import minibatches


def train_epoch(
    net: Network,
    optimizer: SGD,
    loss: Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]],
    X: np.ndarray,
    T: np.ndarray,
    batch_size: int,
    rng: np.random.Generator,
    *,
    shuffle: bool = True,
) -> float:
    """One pass over (X, T) in random mini-batches: forward, loss, backward, step.

    Parameters
    ----------
    net : Network
    optimizer : SGD
        Holds `net.params`.
    loss : callable
        `loss(output, targets) -> (value, d value / d output)`.
    X : ndarray, shape (n, features)
        Inputs, in the network's dtype.
    T : ndarray, shape (n, ...)
        Targets (labels, one-hot rows, or X itself for an autoencoder).
    batch_size : int
    rng : numpy.random.Generator
        Draws the epoch's order.
    shuffle : bool
        False visits the samples in order.

    Returns
    -------
    float
        The sum of the batch losses (NaN or inf if training diverged).
    """
    total = 0.0
    for idx in minibatches(len(X), batch_size, rng, shuffle=shuffle):
        value, d_out = loss(net.forward(X[idx]), T[idx])
        net.backward(d_out)
        optimizer.step(net.grads)
        total += value
    return total
