"""LeNet-5 (LeCun et al. 1998) for 32×32 images: the from-scratch baseline of `svhn-transfer`.

The modern reading of the network: ReLU instead of scaled tanh, max-pooling instead of trainable
sub-sampling, and a fully connected C5 (the paper's partial S2→C3 connection table is dropped).
"""

import torch
from torch import nn

from nnlab.errors import ConfigError
from nnlab.models.registry import register_model

SIZE = 32


class LeNet5(nn.Module):
    """conv5×5(6) → pool → conv5×5(16) → pool → 120 → 84 → classes.

    Parameters
    ----------
    num_classes : int
        Outputs of `classifier.4`, the head.
    in_chans : int
        Input channels (1 grey, 3 RGB).

    Input [B, in_chans, 32, 32]; output logits [B, num_classes]. 61,706 parameters for 1 channel
    and 10 classes.
    """

    head_name = "classifier.4"

    def __init__(self, num_classes: int = 10, in_chans: int = 1):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_chans, 6, kernel_size=5),  # 32 -> 28
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # -> 14
            nn.Conv2d(6, 16, kernel_size=5),  # -> 10
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),  # -> 5
        )
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120),
            nn.ReLU(inplace=True),
            nn.Linear(120, 84),
            nn.ReLU(inplace=True),
            nn.Linear(84, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != (SIZE, SIZE):
            raise ConfigError(
                f"LeNet-5 takes {SIZE}x{SIZE} images, got {tuple(x.shape[-2:])}; resize the "
                f"images first (nnlab.data.transforms.resize(x, {SIZE}))."
            )
        return self.classifier(torch.flatten(self.features(x), 1))  # [B, 16, 5, 5] -> [B, 400]


@register_model("lenet5")
def lenet5(num_classes: int = 10, in_chans: int = 1) -> LeNet5:
    """LeNet-5 for 32×32 images (61,706 parameters for grey and 10 classes)."""
    return LeNet5(num_classes, in_chans)
