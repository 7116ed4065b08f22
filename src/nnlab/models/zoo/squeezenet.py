"""SqueezeNet 1.1 (Iandola et al. 2016) with torchvision's parameter names.

torchvision's ImageNet weights (`squeezenet1_1-b8a52dc0.pth`) load with `strict=True`. Its head
is a 1×1 convolution (`classifier.1`) followed by ReLU and global average pooling, so it is not
the model's last operation: a cached linear probe does not apply to it.
"""

import torch
from torch import nn

from nnlab.models.registry import register_model


class Fire(nn.Module):
    """Squeeze with 1×1 convolutions, then expand with 1×1 and 3×3 ones side by side."""

    def __init__(self, inplanes: int, squeeze: int, expand1x1: int, expand3x3: int):
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze, kernel_size=1)
        self.squeeze_activation = nn.ReLU(inplace=True)
        self.expand1x1 = nn.Conv2d(squeeze, expand1x1, kernel_size=1)
        self.expand1x1_activation = nn.ReLU(inplace=True)
        self.expand3x3 = nn.Conv2d(squeeze, expand3x3, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.squeeze_activation(self.squeeze(x))
        # [B, e1, H, W] and [B, e3, H, W] -> [B, e1 + e3, H, W]
        return torch.cat(
            [
                self.expand1x1_activation(self.expand1x1(x)),
                self.expand3x3_activation(self.expand3x3(x)),
            ],
            1,
        )


class SqueezeNet(nn.Module):
    """SqueezeNet 1.1: 3×3 stem, eight Fire modules, 1×1 conv head, global average pool.

    Parameters
    ----------
    num_classes : int
        Output channels of the final 1×1 convolution `classifier.1` (the head).
    dropout : float
        Dropout probability before the head.

    Input [B, 3, H, W] (any size >= 32); output logits [B, num_classes] (after ReLU, >= 0).
    """

    head_name = "classifier.1"

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, stride=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(64, 16, 64, 64),
            Fire(128, 16, 64, 64),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(128, 32, 128, 128),
            Fire(256, 32, 128, 128),
            nn.MaxPool2d(kernel_size=3, stride=2, ceil_mode=True),
            Fire(256, 48, 192, 192),
            Fire(384, 48, 192, 192),
            Fire(384, 64, 256, 256),
            Fire(512, 64, 256, 256),
        )
        final_conv = nn.Conv2d(512, num_classes, kernel_size=1)
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), final_conv, nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d((1, 1))
        )
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                if m is final_conv:
                    nn.init.normal_(m.weight, mean=0.0, std=0.01)
                else:
                    nn.init.kaiming_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.flatten(self.classifier(self.features(x)), 1)  # [B, K, 1, 1] -> [B, K]


@register_model("squeezenet1_1")
def squeezenet1_1(num_classes: int = 1000, dropout: float = 0.5) -> SqueezeNet:
    """SqueezeNet 1.1 (1,235,496 parameters at 1000 classes)."""
    return SqueezeNet(num_classes, dropout)
