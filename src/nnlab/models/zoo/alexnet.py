"""AlexNet (Krizhevsky et al. 2012) in torchvision's "one weird trick" form, with its names.

torchvision's published ImageNet weights (`alexnet-owt-7be5be79.pth`) load with `strict=True`.
The adaptive pooling to 6×6 lets it take any input of at least 63×63 pixels.
"""

import torch
from torch import nn

from nnlab.models.registry import register_model


class AlexNet(nn.Module):
    """Five convolutions and three fully connected layers (61,100,840 parameters at 1000 classes).

    Parameters
    ----------
    num_classes : int
        Outputs of the last Linear (`classifier.6`, the head).
    dropout : float
        Dropout probability before the two hidden Linear layers.

    Input [B, 3, H, W] with H, W >= 63; output logits [B, num_classes].
    """

    head_name = "classifier.6"

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))  # [B, 256, 6, 6] -> [B, 9216]


@register_model("alexnet")
def alexnet(num_classes: int = 1000, dropout: float = 0.5) -> AlexNet:
    """AlexNet (61,100,840 parameters at 1000 classes); see `AlexNet`."""
    return AlexNet(num_classes, dropout)
