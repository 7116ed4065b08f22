"""Activation functions and their backward passes, written from each function's *output*.

Every derivative used here can be written from the activation's output y alone (σ' = y(1 − y),
tanh' = 1 − y², ReLU' = [y > 0]), so a layer needs to keep only its output for backprop. Softmax
subtracts the row maximum first: exp of a large logit overflows, and softmax(x + c) = softmax(x).
"""

from collections.abc import Callable

import numpy as np
from scipy.special import expit


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) = 1 / (1 + e^(−x)), without overflow for large |x| (`scipy.special.expit`)."""
    return expit(x)


def sigmoid_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """dL/dx from y = σ(x) and dL/dy: σ'(x) = y(1 − y)."""
    return dy * y * (1 - y)


def tanh(x: np.ndarray) -> np.ndarray:
    """The hyperbolic tangent, elementwise."""
    return np.tanh(x)


def tanh_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """dL/dx from y = tanh(x) and dL/dy: tanh'(x) = 1 − y²."""
    return dy * (1 - y * y)


def relu(x: np.ndarray) -> np.ndarray:
    """max(x, 0), elementwise."""
    return np.maximum(x, 0)


def relu_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """dL/dx from y = relu(x) and dL/dy; the derivative at 0 is taken as 0 (as torch does)."""
    return dy * (y > 0)


def identity(x: np.ndarray) -> np.ndarray:
    """x itself: the output of a linear layer, or a linear network."""
    return x


def identity_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """dL/dx = dL/dy."""
    return dy


def softmax(x: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits.

    Parameters
    ----------
    x : ndarray, shape (n, k)
        Logits.

    Returns
    -------
    ndarray, shape (n, k)
        Probabilities; each row sums to 1. The row maximum is subtracted before `exp`, which
        changes nothing mathematically and keeps `exp` from overflowing.
    """
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(y: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """dL/dx from y = softmax(x) and dL/dy [n, k]: the Jacobian diag(y) − y yᵀ, row by row."""
    return y * (dy - (dy * y).sum(axis=-1, keepdims=True))


#: name -> (forward, backward(y, dy)), for layers and estimators' `activation` setting
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "sigmoid": (sigmoid, sigmoid_backward),
    "tanh": (tanh, tanh_backward),
    "relu": (relu, relu_backward),
    "identity": (identity, identity_backward),
    "softmax": (softmax, softmax_backward),
}
