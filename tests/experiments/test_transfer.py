"""The fine-tuning experiments' kit: their input transform and their shared settings."""

import pytest
import torch

from nnlab.errors import ConfigError
from nnlab.experiments.kit.transfer import TransferConfig, image_transform


def test_image_transform_makes_normalised_rgb_at_the_size():
    x = torch.full((2, 1, 8, 8), 255, dtype=torch.uint8)
    out = image_transform(16, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))(x)
    assert out.shape == (2, 3, 16, 16)
    torch.testing.assert_close(out, torch.full_like(out, 2.0))  # (1 - 0.5) / 0.25


def test_transfer_settings_check_their_ranges_and_the_weights_form():
    assert TransferConfig(weights="run:earlier", train_limit=10).train_limit == 10
    with pytest.raises(ConfigError, match="epochs must be > 0"):
        TransferConfig(epochs=0)
    with pytest.raises(ConfigError, match="weights must be"):
        TransferConfig(weights="imagenette")
