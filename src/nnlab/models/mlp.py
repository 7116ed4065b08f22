"""A multilayer perceptron over flattened images, the baseline of the architecture studies.

Also the pieces the other configurable families share: activation names, dense layer stacks,
the "1000x2" / "32-64-128" width notation that experiment settings use, and parameter counting.
"""

import re
from collections.abc import Sequence

import torch
from torch import nn

from nnlab.errors import ConfigError
from nnlab.models.registry import register_model

#: activation name -> module class
ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}

_WIDTH_TOKEN = re.compile(r"^(\d+)(?:x(\d+))?$")


@register_model("mlp")
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

    Input [B, C, H, W] (or [B, in_features]); output [B, num_classes]. Hidden layer i is
    `self[2 * i + 1]` (index 0 is the Flatten). With widths w = [in_features, *hidden,
    num_classes] it has sum_i (w[i] * w[i+1] + w[i+1]) parameters.
    """

    def __init__(
        self,
        in_features: int = 784,
        hidden: Sequence[int] = (),
        num_classes: int = 10,
        *,
        activation: str = "relu",
        log_probs: bool = False,
    ):
        widths = check_widths("MLP", [in_features, *hidden, num_classes])
        layers: list[nn.Module] = [nn.Flatten(), *dense_layers(widths[:-1], activation)]
        layers.append(nn.Linear(widths[-2], widths[-1]))
        if log_probs:
            layers.append(nn.LogSoftmax(dim=1))
        super().__init__(*layers)


def dense_layers(widths: Sequence[int], activation: str = "relu") -> list[nn.Module]:
    """Linear + activation from each width to the next: the hidden part of an MLP.

    Parameters
    ----------
    widths : sequence of int
        [inputs, hidden 1, ..., hidden k]; k pairs of (Linear, activation) come out.
    activation : str
        A key of `ACTIVATIONS`.

    Returns
    -------
    list of nn.Module
        Input [B, widths[0]] -> output [B, widths[-1]].
    """
    act = activation_class(activation)
    layers: list[nn.Module] = []
    for a, b in zip(widths[:-1], widths[1:], strict=True):
        layers += [nn.Linear(a, b), act()]
    return layers


def activation_class(name: str) -> type[nn.Module]:
    """The module class of an activation name, or a ConfigError listing the names."""
    if name not in ACTIVATIONS:
        raise ConfigError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {name!r}.")
    return ACTIVATIONS[name]


def check_widths(who: str, widths: Sequence[int]) -> list[int]:
    """`widths` as a list if every one is a positive int, else a ConfigError naming `who`."""
    widths = list(widths)
    if any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
        raise ConfigError(f"{who} layer widths must be positive integers, got {widths}.")
    return widths


def parse_widths(spec: str, *, setting: str = "widths") -> tuple[int, ...]:
    """Layer widths from the compact text settings use: "1000x2" -> (1000, 1000).

    Parameters
    ----------
    spec : str
        Widths joined by "-", each optionally repeated with "xN": "32-64-128", "500x7",
        "1000x2-10". An empty string means no layers.
    setting : str
        The setting's name, for the error message.

    Returns
    -------
    tuple of int
    """
    widths: list[int] = []
    for token in filter(None, spec.replace(" ", "").split("-")):
        match = _WIDTH_TOKEN.match(token)
        if match is None or int(match[1]) < 1 or (match[2] is not None and int(match[2]) < 1):
            raise ConfigError(
                f"{setting}: {spec!r} is not a list of layer widths; write widths joined by '-', "
                f"each optionally repeated with 'xN', e.g. '32-64-128' or '1000x2'."
            )
        widths += [int(match[1])] * int(match[2] or 1)
    return tuple(widths)


def format_widths(widths: Sequence[int]) -> str:
    """The readable form of layer widths for tables: (1000, 1000, 1000) -> "[1000]×3"."""
    widths = list(widths)
    if len(widths) > 2 and len(set(widths)) == 1:
        return f"[{widths[0]}]×{len(widths)}"
    return "[" + ", ".join(map(str, widths)) + "]"


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of scalar parameters (all, or only those that train)."""
    params: list[torch.Tensor] = [
        p for p in model.parameters() if p.requires_grad or not trainable_only
    ]
    return sum(p.numel() for p in params)
