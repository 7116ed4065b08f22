"""Forward-hook capture: outputs equal a direct computation, hooks gone afterwards."""

import pytest
import torch

from nnlab.analysis.activations import capture
from nnlab.errors import UnknownNameError
from nnlab.models import CNN


def test_captured_maps_are_the_layers_outputs_and_the_model_is_left_as_it_was():
    torch.manual_seed(0)
    model = CNN((4, 8))
    model.train()
    x = torch.randn(2, 1, 28, 28)
    maps = capture(model, x, ["conv1", "act2", "fc"])
    direct_conv1 = model.conv1(x)
    direct_act2 = torch.relu(model.conv2(torch.relu(direct_conv1)))
    assert torch.allclose(maps["conv1"], direct_conv1, atol=1e-6)
    assert torch.allclose(maps["act2"], direct_act2, atol=1e-6)
    assert maps["act2"].shape == (2, 8, 14, 14)
    assert torch.allclose(maps["fc"], model(x), atol=1e-6)
    assert model.training
    assert all(not m._forward_hooks for m in model.modules())
    assert not maps["conv1"].requires_grad


def test_unknown_layers_are_named():
    model = CNN((4,))
    with pytest.raises(UnknownNameError, match=r"no layer\(s\) \['conv9'\].*conv1, act1"):
        capture(model, torch.zeros(1, 1, 28, 28), ["conv9"])
    assert all(not m._forward_hooks for m in model.modules())
