"""`CNN`: the study's five networks counted by hand, map sizes, the pooling variant, errors."""

import pytest
import torch
import torch.nn.functional as F

from nnlab.errors import ConfigError
from nnlab.models import CNN, build, count_parameters


def _conv(c_in, c_out, k=3):
    return k * k * c_in * c_out + c_out


def _dense(n_in, n_out):
    return n_in * n_out + n_out


# 28x28 input, "same" padding: stride 2 halves (rounding up) 28 -> 14 -> 7 -> 4 -> 2
STUDY = {
    "CNN-1": (
        (32, 64, 128),
        _conv(1, 32) + _conv(32, 64) + _conv(64, 128) + _dense(128 * 7 * 7, 10),
    ),
    "CNN-2": ((64, 128), _conv(1, 64) + _conv(64, 128) + _dense(128 * 14 * 14, 10)),
    "CNN-3": (
        (128, 128, 128),
        _conv(1, 128) + 2 * _conv(128, 128) + _dense(128 * 7 * 7, 10),
    ),
    "CNN-4": ((16, 32), _conv(1, 16) + _conv(16, 32) + _dense(32 * 14 * 14, 10)),
    "CNN-5": (
        (32, 64, 128, 256, 512),
        _conv(1, 32)
        + _conv(32, 64)
        + _conv(64, 128)
        + _conv(128, 256)
        + _conv(256, 512)
        + _dense(512 * 2 * 2, 10),
    ),
}


@pytest.mark.parametrize("name", list(STUDY))
def test_study_cnns_have_the_hand_counted_parameters(name):
    channels, by_hand = STUDY[name]
    model = CNN(channels)
    assert count_parameters(model) == by_hand
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_cnn1_computes_convolutions_with_the_stated_strides():
    torch.manual_seed(0)
    model = CNN((4, 6, 8))
    x = torch.randn(3, 1, 28, 28)
    h = F.relu(F.conv2d(x, model.conv1.weight, model.conv1.bias, stride=1, padding=1))
    h = F.relu(F.conv2d(h, model.conv2.weight, model.conv2.bias, stride=2, padding=1))
    h = F.relu(F.conv2d(h, model.conv3.weight, model.conv3.bias, stride=2, padding=1))
    assert h.shape == (3, 8, 7, 7) and model.feature_size == (7, 7)
    expected = F.linear(h.flatten(1), model.fc.weight, model.fc.bias)
    assert torch.allclose(model(x), expected, atol=1e-5)
    assert model.conv_names() == ["conv1", "conv2", "conv3"]


def test_pooling_variant_and_head():
    # fcn-vs-cnn's CNN: conv + 2x2 max-pool twice, 32 -> 16 -> 8, then hidden 64, then 36
    model = CNN((16, 32), image_size=32, num_classes=36, strides=(2, 2), pool=True, head=(64,))
    assert [m.stride for m in (model.conv1, model.conv2)] == [(1, 1), (1, 1)]
    assert model.feature_size == (8, 8)
    by_hand = _conv(1, 16) + _conv(16, 32) + _dense(32 * 8 * 8, 64) + _dense(64, 36)
    assert count_parameters(model) == by_hand
    x = torch.randn(2, 1, 32, 32)
    h = F.max_pool2d(F.relu(model.conv1(x)), 2)
    h = F.max_pool2d(F.relu(model.conv2(h)), 2)
    expected = model.fc(F.relu(model.hidden1(h.flatten(1))))
    assert torch.allclose(model(x), expected, atol=1e-5)


def test_rgb_input_and_registry():
    torch.manual_seed(0)
    model = build("cnn", channels=(8,), in_chans=3, num_classes=4, image_size=16, kernel_size=5)
    assert model.conv1.weight.shape == (8, 3, 5, 5)
    assert count_parameters(model) == _conv(3, 8, 5) + _dense(8 * 16 * 16, 4)
    assert model(torch.zeros(1, 3, 16, 16)).shape == (1, 4)


def test_a_rectangular_image_sizes_the_dense_layer_by_height_and_width():
    model = CNN((8, 16), in_chans=3, num_classes=5, image_size=(40, 50))
    assert model.feature_size == (20, 25)  # stride 1, then 2: ceil(40 / 2), ceil(50 / 2)
    assert model.fc.in_features == 16 * 20 * 25
    assert model(torch.zeros(2, 3, 40, 50)).shape == (2, 5)


def test_refused_settings():
    with pytest.raises(ConfigError, match="shrinks to nothing"):
        CNN((8,) * 4, image_size=4, strides=(1, 2, 2, 2), pool=True)
    with pytest.raises(ConfigError, match="one stride per convolution"):
        CNN((8, 16), strides=(1,))
    with pytest.raises(ConfigError, match="odd"):
        CNN((8,), kernel_size=4)
    with pytest.raises(ConfigError, match="at least one convolution"):
        CNN(())
