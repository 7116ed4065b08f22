"""`MLP` and the width notation: parameter counts by hand, registry builds, refused settings."""

import pytest
import torch
from torch import nn

from nnlab.errors import ConfigError
from nnlab.models import MLP, build, count_parameters
from nnlab.models.mlp import format_widths, parse_widths


def _dense_parameters(widths):
    """sum of a*b + b over consecutive widths: weights plus biases, by hand."""
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:], strict=False))


@pytest.mark.parametrize(
    ("hidden", "by_hand"),
    [
        # the five MLPs of mlp-architectures, counted on paper
        ((1000, 1000), 784 * 1000 + 1000 + 1000 * 1000 + 1000 + 1000 * 10 + 10),  # 1,796,010
        ((1000,) * 3, 2_797_010),
        ((1000,) * 5, 4_799_010),
        ((500,) * 7, 784 * 500 + 500 + 6 * (500 * 500 + 500) + 500 * 10 + 10),  # 1,900,510
        ((500,) * 8, 2_151_010),
        ((256, 256, 128, 128), 317_450),  # mlp-lr-search's network
        ((), 7850),  # softmax regression
    ],
)
def test_parameter_counts_match_the_formula(hidden, by_hand):
    model = MLP(784, hidden, 10)
    assert count_parameters(model) == by_hand == _dense_parameters([784, *hidden, 10])


def test_layers_compute_what_the_layout_says():
    torch.manual_seed(0)
    model = MLP(12, (5, 4), 3, activation="tanh", log_probs=True)
    x = torch.randn(6, 1, 3, 4)
    h = torch.tanh(model[1](x.flatten(1)))  # hidden layer i is model[2 i + 1]
    h = torch.tanh(model[3](h))
    expected = torch.log_softmax(model[5](h), dim=1)
    assert torch.allclose(model(x), expected, atol=1e-6)


def test_build_by_name_gives_the_same_network():
    torch.manual_seed(1)
    direct = MLP(64, (32,), 10)
    torch.manual_seed(1)
    built = build("mlp", in_features=64, hidden=(32,), num_classes=10)
    x = torch.randn(4, 64)
    assert isinstance(built, MLP) and torch.equal(direct(x), built(x))


@pytest.mark.parametrize(
    ("spec", "widths"),
    [
        ("1000x2", (1000, 1000)),
        ("32-64-128", (32, 64, 128)),
        ("500x7", (500,) * 7),
        ("128x3-10", (128, 128, 128, 10)),
        (" 16 - 32 ", (16, 32)),
        ("", ()),
    ],
)
def test_width_notation(spec, widths):
    assert parse_widths(spec) == widths


@pytest.mark.parametrize("spec", ["1000x", "x2", "0-10", "10x0", "ten", "1.5", "10,20"])
def test_malformed_widths_name_the_setting(spec):
    with pytest.raises(ConfigError, match="hidden: .*e.g. '32-64-128'"):
        parse_widths(spec, setting="hidden")


def test_format_widths():
    assert format_widths((1000, 1000, 1000)) == "[1000]×3"
    assert format_widths((1000, 1000)) == "[1000, 1000]"
    assert format_widths((32, 64)) == "[32, 64]"


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="activation must be one of relu"):
        MLP(784, (10,), 10, activation="gelu")
    with pytest.raises(ConfigError, match="positive integers"):
        MLP(784, (10, 0), 10)
    assert isinstance(MLP(4, (), 2)[1], nn.Linear)
