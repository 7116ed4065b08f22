"""`kit.pixels`: images as the NumPy arrays the from-scratch models take."""

import numpy as np
import torch

from nnlab.data import ImageSet
from nnlab.experiments.kit.pixels import flat_pixels


def test_flat_pixels_scales_to_unit_range_in_pixel_order():
    x = torch.arange(2 * 3 * 4, dtype=torch.uint8).reshape(2, 1, 3, 4) * 10
    images = ImageSet(x, torch.tensor([1, 0]), ("a", "b"), "tiny")
    X, y = flat_pixels(images, "float32")
    assert X.dtype == np.float32 and X.shape == (2, 12)
    np.testing.assert_allclose(X[1], np.arange(12, 24) * 10 / 255, rtol=1e-6)
    np.testing.assert_array_equal(y, [1, 0])
    assert flat_pixels(images)[0].dtype == np.float64  # the default
