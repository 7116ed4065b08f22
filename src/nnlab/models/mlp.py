"""A multilayer perceptron over flattened images, the baseline of the architecture studies."""

from collections.abc import Sequence

import torch
from torch import nn

from nnlab.errors import ConfigError

#: activation name -> module class
ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}


class MLP(nn.Sequential):
    """Flatten, then Linear + activation per hidden layer, then a Linear to the classes.

    Parameters
    ----------
    in_features : int
        Inputs per image (C * H * W, e.g. 784 for MNIST).
    hidden : sequence of int
        Width of each hidden layer; empty for softmax regression.
    num_classes : int
        Outputs.
    activation : str
        "relu", "sigmoid" or "tanh".
    log_probs : bool
        End with LogSoftmax (for an NLL loss) instead of raw logits.

    Input [B, C, H, W] (or [B, in_features]); output [B, num_classes].
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        num_classes: int,
        *,
        activation: str = "relu",
        log_probs: bool = False,
    ):
        if activation not in ACTIVATIONS:
            raise ConfigError(
                f"MLP activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}."
            )
        widths = [in_features, *hidden, num_classes]
        if any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
            raise ConfigError(f"MLP layer widths must be positive integers, got {widths}.")
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(widths[:-2], widths[1:-1], strict=True):
            layers += [nn.Linear(a, b), ACTIVATIONS[activation]()]
        layers.append(nn.Linear(widths[-2], widths[-1]))
        if log_probs:
            layers.append(nn.LogSoftmax(dim=1))
        super().__init__(*layers)


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of scalar parameters (all, or only those that train)."""
    params: list[torch.Tensor] = [
        p for p in model.parameters() if p.requires_grad or not trainable_only
    ]
    return sum(p.numel() for p in params)
