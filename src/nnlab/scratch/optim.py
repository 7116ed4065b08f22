"""Stochastic gradient descent, optionally with (heavy-ball) momentum."""

import numpy as np

from nnlab.scratch._checks import check_number


class SGD:
    """Update parameters in place: v ← μ v − lr g, p ← p + v (plain SGD when μ = 0).

    For a fixed learning rate this is the same sequence of parameters as `torch.optim.SGD`,
    whose buffer holds v / (−lr).

    Parameters
    ----------
    params : dict of ndarray
        The arrays to update (updated in place, so layers keep seeing them).
    lr : float
        Learning rate, > 0.
    momentum : float
        μ in [0, 1).
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float, momentum: float = 0.0):
        self.params = params
        self.lr = check_number("SGD", "lr", lr, low=0, low_open=True)
        self.momentum = check_number("SGD", "momentum", momentum, low=0, high=1, high_open=True)
        self._velocity = {name: np.zeros_like(p) for name, p in params.items()}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        """One update from `grads` (same keys and shapes as `params`)."""
        for name, p in self.params.items():
            if self.momentum:
                v = self._velocity[name]
                v *= self.momentum
                v -= self.lr * grads[name]
                p += v
            else:
                p -= self.lr * grads[name]
