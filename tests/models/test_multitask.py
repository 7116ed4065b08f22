"""`MultiTaskNet`: heads over one trunk, its parameters by hand, the single-task twin."""

import pytest
import torch

from nnlab.errors import ConfigError
from nnlab.models import MultiTaskNet, build, count_parameters


def test_heads_share_the_trunk():
    torch.manual_seed(0)
    model = MultiTaskNet({"item": 10, "group": 3}, in_features=784, trunk=(32, 16))
    x = torch.randn(5, 1, 28, 28)
    out = model(x)
    assert list(out) == ["item", "group"]
    # the trunk: Flatten, Linear(784, 32), ReLU, Linear(32, 16), ReLU
    first, second = model.trunk[1], model.trunk[3]
    features = torch.relu(second(torch.relu(first(x.flatten(1)))))
    assert torch.allclose(out["item"], model.heads["item"](features), atol=1e-6)
    assert torch.allclose(out["group"], model.heads["group"](features), atol=1e-6)
    assert out["group"].shape == (5, 3)


def test_parameters_saved_are_the_trunk():
    mtl = MultiTaskNet({"item": 10, "group": 3}, trunk=(256, 128))
    trunk = 784 * 256 + 256 + 256 * 128 + 128
    assert count_parameters(mtl.trunk) == trunk
    assert count_parameters(mtl) == trunk + (128 * 10 + 10) + (128 * 3 + 3)
    singles = [MultiTaskNet({t: k}, trunk=(256, 128)) for t, k in (("item", 10), ("group", 3))]
    assert sum(count_parameters(m) for m in singles) - count_parameters(mtl) == trunk


def test_same_seed_gives_the_single_task_net_the_mtl_trunk_and_first_head():
    torch.manual_seed(3)
    mtl = build("multitask", heads={"item": 10, "group": 3}, in_features=64, trunk=(8,))
    torch.manual_seed(3)
    single = MultiTaskNet({"item": 10}, in_features=64, trunk=(8,))
    for name, p in single.named_parameters():
        assert torch.equal(p, dict(mtl.named_parameters())[name]), name


def test_refused_settings():
    with pytest.raises(ConfigError, match="at least one head"):
        MultiTaskNet({})
    with pytest.raises(ConfigError, match="trunk of at least one layer"):
        MultiTaskNet({"a": 2}, trunk=())
    with pytest.raises(ConfigError, match="positive integers"):
        MultiTaskNet({"a": 0})
