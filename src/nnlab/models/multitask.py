"""A multi-task network: one shared MLP trunk, one linear head per task.

`forward` returns a dict {task: logits}, which `nnlab.train.fit(..., heads=...)` trains with a
loss over the heads. With a single task it is the single-task baseline of the same shape, so
the parameters saved by sharing are exactly the trunk's.
"""

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from nnlab.errors import ConfigError
from nnlab.models.mlp import check_widths, dense_layers
from nnlab.models.registry import register_model


@register_model("multitask")
class MultiTaskNet(nn.Module):
    """Flatten -> trunk (Linear + activation per width) -> one Linear head per task.

    Parameters
    ----------
    heads : mapping of str to int
        Task name -> number of classes, in order (the first is the main task).
    in_features : int
        Inputs per image (C * H * W).
    trunk : sequence of int
        Widths of the shared hidden layers (at least one).
    activation : str
        "relu", "sigmoid" or "tanh".

    Input [B, C, H, W]; output {task: logits [B, classes]}. Attributes `trunk` (nn.Sequential)
    and `heads` (nn.ModuleDict of nn.Linear).
    """

    def __init__(
        self,
        heads: Mapping[str, int],
        *,
        in_features: int = 784,
        trunk: Sequence[int] = (256, 128),
        activation: str = "relu",
    ):
        super().__init__()
        if not heads:
            raise ConfigError("MultiTaskNet needs at least one head, e.g. heads={'item': 10}.")
        widths = check_widths("MultiTaskNet trunk", [in_features, *trunk])
        check_widths("MultiTaskNet heads", list(heads.values()))
        if len(widths) < 2:
            raise ConfigError("MultiTaskNet needs a trunk of at least one layer, e.g. (256, 128).")
        self.trunk = nn.Sequential(nn.Flatten(), *dense_layers(widths, activation))
        self.heads = nn.ModuleDict({task: nn.Linear(widths[-1], k) for task, k in heads.items()})

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.trunk(x)  # [B, trunk[-1]]
        return {task: head(features) for task, head in self.heads.items()}
