"""Weight initialisation: Xavier (Glorot) uniform, seeded by a NumPy generator."""

import numpy as np


def xavier_uniform(
    fan_in: int, fan_out: int, rng: np.random.Generator, dtype: type = np.float64
) -> np.ndarray:
    """Weights drawn from U(−a, a), a = √(6 / (fan_in + fan_out)) (Glorot & Bengio 2010).

    The bound keeps the variance of activations and of gradients about equal from layer to
    layer for tanh/sigmoid-like units: Var(w) = a² / 3 = 2 / (fan_in + fan_out).

    Parameters
    ----------
    fan_in, fan_out : int
        Inputs and outputs of the layer.
    rng : numpy.random.Generator
    dtype : type
        np.float64 or np.float32.

    Returns
    -------
    ndarray, shape (fan_in, fan_out)
    """
    bound = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(dtype, copy=False)
