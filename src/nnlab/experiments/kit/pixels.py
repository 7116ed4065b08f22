"""NumPy-side helpers of the experiments that work on raw pixels (the from-scratch models)."""

import numpy as np

from nnlab.data import ImageSet


def flat_pixels(images: ImageSet, dtype: str = "float64") -> tuple[np.ndarray, np.ndarray]:
    """(X, y) as NumPy: X [N, C·H·W] pixels / 255 in [0, 1], y [N] int64 class indices."""
    x = images.x.cpu().numpy().reshape(len(images), -1)  # [N, C, H, W] -> [N, C·H·W]
    return x.astype(dtype) / 255, images.y.cpu().numpy()
