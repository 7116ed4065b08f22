"""The character classifier the reader uses: a small CNN and the augmentation it is trained with.

Training images are uint8 [N, 1, 32, 32] in NIST36's look (dark ink on white, see
`nnlab.ocr.read.standardise`); the network sees them as float in [0, 1], which is what
`nnlab.ocr.read.class_scores` feeds it. Crops from a photo are never as tidy as the training
set: a hand slants, a box is cut a little off-centre. So each training batch is moved by a small
random affine map (rotation, shear, scale, shift), the ink's outside filled with paper.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.models import build

#: largest rotation (degrees), shear, relative scale change and shift (fraction of the side)
ROTATE, SHEAR, SCALE, SHIFT = 10.0, 0.2, 0.1, 0.06


def character_cnn(
    num_classes: int = 36,
    channels: tuple[int, ...] = (32, 64, 128),
    strides: tuple[int, ...] | None = None,
) -> nn.Module:
    """The reader's CNN: `nnlab.models` "cnn" on 32x32 grey, strided downsampling, logits.

    Parameters
    ----------
    num_classes : int
    channels : tuple of int
        Output channels of each 3x3 convolution.
    strides : tuple of int, optional
        Stride of each convolution; default 1 for the first, 2 for the others.

    Returns
    -------
    nn.Module
        Input float [B, 1, 32, 32] in [0, 1]; output logits [B, num_classes].
    """
    return build("cnn", channels=channels, strides=strides, num_classes=num_classes, image_size=32)


class Augment:
    """Batch transform: uint8 [B, 1, H, W] dark-on-white -> float [B, 1, H, W] in [0, 1], jittered.

    Parameters
    ----------
    generator : torch.Generator
        CPU generator for the random maps (one per batch element).
    """

    def __init__(self, generator: torch.Generator):
        self.generator = generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Apply one random affine map per image."""
        b = len(x)
        draw = [(torch.rand(b, generator=self.generator) * 2 - 1) for _ in range(5)]
        angle, shear, scale = draw[0] * math.radians(ROTATE), draw[1] * SHEAR, 1 + draw[2] * SCALE
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.zeros(b, 2, 3)  # output -> input sampling positions, in [-1, 1] units
        theta[:, 0, 0], theta[:, 0, 1] = cos, -sin + shear
        theta[:, 1, 0], theta[:, 1, 1] = sin, cos
        theta[:, 0, 2], theta[:, 1, 2] = draw[3] * 2 * SHIFT, draw[4] * 2 * SHIFT
        ink = 1 - x.to(torch.float32) / 255  # sample ink, so the outside fills with paper (0)
        grid = F.affine_grid(theta.to(x.device), list(ink.shape), align_corners=False)
        return 1 - F.grid_sample(ink, grid, align_corners=False)
