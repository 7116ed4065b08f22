"""Layers with a forward pass that remembers what its backward pass needs.

A layer has `params` and `grads` (dicts of arrays with the same keys; `grads` is filled by
`backward` in place, so an optimiser can hold on to both), `forward(x)` and `backward(dy)`.
"""

import numpy as np

from nnlab.scratch._checks import check_choice
from nnlab.scratch.activations import ACTIVATIONS
from nnlab.scratch.init import xavier_uniform


class Dense:
    """Fully connected layer y = x W + b, W Xavier-uniform, b zero.

    Parameters
    ----------
    in_features, out_features : int
    rng : numpy.random.Generator
        Draws the initial W.
    dtype : type
        np.float64 (default) or np.float32.

    Attributes
    ----------
    params : dict
        "W" (in_features, out_features) and "b" (out_features,).
    grads : dict
        dL/dW and dL/db after `backward`, same shapes.
    """

    def __init__(self, in_features: int, out_features: int, *, rng, dtype: type = np.float64):
        self.params = {
            "W": xavier_uniform(in_features, out_features, rng, dtype),
            "b": np.zeros(out_features, dtype=dtype),
        }
        self.grads = {name: np.zeros_like(p) for name, p in self.params.items()}
        self._x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x [n, in] -> x W + b [n, out]; keeps x for the backward pass."""
        self._x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Fill `grads` from dL/dy [n, out]; return dL/dx [n, in] (None if not `input_grad`).

        The first layer of a network skips dL/dx: nothing uses the gradient of the data, and it
        costs as much as dL/dW.
        """
        np.matmul(self._x.T, dy, out=self.grads["W"])
        np.sum(dy, axis=0, out=self.grads["b"])
        return dy @ self.params["W"].T if input_grad else None


class Activation:
    """An elementwise (or, for softmax, row-wise) activation without parameters.

    Parameters
    ----------
    name : str
        "sigmoid", "tanh", "relu", "identity" or "softmax".
    """

    def __init__(self, name: str):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.name = check_choice("Activation", "name", name, tuple(ACTIVATIONS))
        self._forward, self._backward = ACTIVATIONS[name]
        self._y: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """f(x), same shape; keeps the output, from which every derivative here follows."""
        self._y = self._forward(x)
        return self._y

    def backward(self, dy: np.ndarray, *, input_grad: bool = True) -> np.ndarray:
        """dL/dx from dL/dy."""
        return self._backward(self._y, dy)
