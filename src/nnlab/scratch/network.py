"""`Network`: layers chained for the forward pass and, in reverse, for backprop."""

from collections.abc import Sequence

import numpy as np

from nnlab.scratch.layers import Activation, Dense


class Network:
    """A sequence of layers.

    Parameters
    ----------
    layers : sequence
        Objects with `params`, `grads`, `forward(x)` and `backward(dy, input_grad=...)`
        (`Dense`, `Activation`).

    Attributes
    ----------
    params, grads : dict of ndarray
        Every layer's parameters and gradients under "<layer index>.<name>" ("0.W", "0.b",
        "2.W", ...); the arrays are the layers' own, so updating them in place updates the
        network.
    """

    def __init__(self, layers: Sequence):
        self.layers = list(layers)
        self.params = {
            f"{i}.{k}": p for i, layer in enumerate(self.layers) for k, p in layer.params.items()
        }
        self.grads = {
            f"{i}.{k}": g for i, layer in enumerate(self.layers) for k, g in layer.grads.items()
        }

    def forward(self, x: np.ndarray, *, upto: int | None = None) -> np.ndarray:
        """The output of layer `upto` (default the last) for input x [n, features]."""
        for layer in self.layers[: None if upto is None else upto + 1]:
            x = layer.forward(x)
        return x

    def backward(self, dy: np.ndarray) -> None:
        """Backprop dL/d(output) through every layer, filling `grads`; needs a `forward` first."""
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            # the gradient with respect to the data itself is never needed
            dy = self.layers[i].backward(dy, input_grad=i > 0)

    @property
    def dense_layers(self) -> list[Dense]:
        """The `Dense` layers in order (their W and b are the network's weights)."""
        return [layer for layer in self.layers if isinstance(layer, Dense)]


def mlp(
    sizes: Sequence[int],
    activation: str,
    *,
    output: str = "identity",
    rng: np.random.Generator,
    dtype: type = np.float64,
) -> Network:
    """A multi-layer perceptron: Dense layers of `sizes`, `activation` between them.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, inputs first: (1024, 64, 36) is 1024 → 64 → 36.
    activation : str
        Hidden layers' activation ("sigmoid", "tanh", "relu", "identity").
    output : str
        The last layer's activation; "identity" leaves logits (for a fused softmax loss).
    rng : numpy.random.Generator
        Draws the Xavier-uniform weights, layer by layer.
    dtype : type
        np.float64 or np.float32.

    Returns
    -------
    Network
        Layers alternate Dense, Activation (identity ones too), so layer 2k is the k-th Dense
        layer and layer 2k + 1 its activation.
    """
    layers: list = []
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    for i, (n_in, n_out) in enumerate(pairs):
        layers.append(Dense(n_in, n_out, rng=rng, dtype=dtype))
        layers.append(Activation(output if i == len(pairs) - 1 else activation))
    return Network(layers)
