"""VGG-16 and VGG-16-BN (Simonyan & Zisserman 2014) with torchvision's parameter names.

torchvision's ImageNet weights (`vgg16-397923af.pth`, `vgg16_bn-6c64b313.pth`) load with
`strict=True`. `make_layers` also builds narrower copies of the convolutional part (the
`contrastive` experiment's encoder at small scales), keeping the layer pattern.
"""

from collections.abc import Sequence

import torch
from torch import nn

from nnlab.errors import ConfigError
from nnlab.models.registry import register_model

#: configuration "D" of the paper: 13 convolutions (channels) and 5 max-pools ("M")
VGG16_LAYERS: tuple[int | str, ...] = (
    *(64, 64, "M", 128, 128, "M"),
    *(256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
)


def make_layers(
    cfg: Sequence[int | str] = VGG16_LAYERS, batch_norm: bool = False, width: float = 1.0
) -> nn.Sequential:
    """VGG's convolutional part: 3×3 convolutions (+ BatchNorm) + ReLU, and 2×2 max-pools.

    Parameters
    ----------
    cfg : sequence
        Output channels per convolution, "M" for a max-pool.
    batch_norm : bool
        BatchNorm after each convolution (VGG-16-BN).
    width : float
        Multiplies every channel count (at least 1 channel); 1.0 is the published network.

    Returns
    -------
    nn.Sequential
        Input [B, 3, H, W]; output [B, round(512 * width), H / 32, W / 32] for VGG-16.
    """
    if not width > 0:
        raise ConfigError(f"VGG width must be positive, got {width!r}; 1.0 is the published one.")
    layers: list[nn.Module] = []
    channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            continue
        out = max(1, round(int(v) * width))
        layers.append(nn.Conv2d(channels, out, kernel_size=3, padding=1))
        if batch_norm:
            layers.append(nn.BatchNorm2d(out))
        layers.append(nn.ReLU(inplace=True))
        channels = out
    return nn.Sequential(*layers)


def init_vgg(model: nn.Module) -> None:
    """torchvision's VGG initialisation: He-normal (fan-out) convolutions, N(0, 0.01) Linears."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


class VGG(nn.Module):
    """Convolutions, adaptive pooling to 7×7, and three fully connected layers.

    Parameters
    ----------
    features : nn.Sequential
        The convolutional part (`make_layers`), ending in 512 channels.
    num_classes : int
        Outputs of the last Linear (`classifier.6`, the head).
    dropout : float
        Dropout probability after the two hidden Linear layers.

    Input [B, 3, H, W] with H, W >= 32; output logits [B, num_classes].
    """

    head_name = "classifier.6"

    def __init__(self, features: nn.Sequential, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        init_vgg(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))  # [B, 512, 7, 7] -> [B, 25088]


@register_model("vgg16")
def vgg16(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-16 (138,357,544 parameters at 1000 classes)."""
    return VGG(make_layers(VGG16_LAYERS), num_classes, dropout)


@register_model("vgg16_bn")
def vgg16_bn(num_classes: int = 1000, dropout: float = 0.5) -> VGG:
    """VGG-16 with BatchNorm after every convolution (138,365,992 parameters)."""
    return VGG(make_layers(VGG16_LAYERS, batch_norm=True), num_classes, dropout)
