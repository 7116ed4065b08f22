"""param_groups: each trainable parameter in exactly one group, by the most specific prefix."""

import pytest
import torch
from torch import nn

from nnlab.errors import ConfigError
from nnlab.train import param_groups


class _Net(nn.Module):
    """Names that trip naive prefix matching: layer1 / layer10, layer1.0 / layer1.1."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.stem = nn.Linear(4, 4)
        self.layer1 = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4))
        self.layer10 = nn.Linear(4, 4)
        self.fc = nn.Linear(4, 2)
        self.stem.requires_grad_(False)  # frozen


def _names(model, group):
    by_id = {id(p): name for name, p in model.named_parameters()}
    return sorted(by_id[id(p)] for p in group["params"])


def test_every_trainable_parameter_is_in_exactly_one_group():
    model = _Net()
    groups = param_groups(model, {"layer1": 1e-3, "fc": 1e-2})
    ids = [id(p) for g in groups for p in g["params"]]
    trainable = {id(p) for p in model.parameters() if p.requires_grad}
    assert len(ids) == len(set(ids)) and set(ids) == trainable
    assert not {id(p) for p in model.stem.parameters()} & set(ids)


def test_prefixes_end_at_module_boundaries_and_the_longest_wins():
    model = _Net()
    groups = param_groups(model, {"layer1": 1e-3, "layer1.1": 1e-2, "fc.bias": 0.5})
    assert [(g["name"], g.get("lr")) for g in groups] == [
        ("layer1", 1e-3),
        ("layer1.1", 1e-2),
        ("fc.bias", 0.5),
        ("default", None),  # no default: the optimizer's lr applies
    ]
    assert _names(model, groups[0]) == ["layer1.0.bias", "layer1.0.weight"]
    assert _names(model, groups[1]) == ["layer1.1.bias", "layer1.1.weight"]
    assert _names(model, groups[2]) == ["fc.bias"]
    assert _names(model, groups[3]) == ["fc.weight", "layer10.bias", "layer10.weight"]


def test_an_empty_default_group_is_left_out():
    model = _Net()
    groups = param_groups(model, {"layer1": 0.1, "layer10": 0.2, "fc": 0.3}, default=1.0)
    assert [g["name"] for g in groups] == ["layer1", "layer10", "fc"]


def test_the_groups_train_with_their_learning_rates_in_sgd():
    model = _Net()
    groups = param_groups(model, {"layer1": 0.1, "fc": 0.01}, default=0.5)
    optimizer = torch.optim.SGD(groups, lr=99.0)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.ones_like(p)
    optimizer.step()
    expected_lr = {"layer1": 0.1, "fc": 0.01, "layer10": 0.5}
    for name, p in model.named_parameters():
        lr = 0.0 if name.startswith("stem") else expected_lr[name.split(".")[0]]
        torch.testing.assert_close(p.detach(), before[name] - lr, rtol=0, atol=1e-7)

    model = _Net()
    optimizer = torch.optim.SGD(param_groups(model, {"fc": 0.01}), lr=0.25)
    assert [g["lr"] for g in optimizer.param_groups] == [0.01, 0.25]


def test_a_key_matching_nothing_lists_the_names_and_suggests_close_ones():
    model = _Net()
    with pytest.raises(ConfigError, match=r"'layr1' \(did you mean layer1.*top-level names are"):
        param_groups(model, {"layr1": 0.1})
    with pytest.raises(ConfigError, match="fc, layer1, layer10"):
        param_groups(model, {"head": 0.1})
    with pytest.raises(ConfigError, match="'stem' matches only frozen parameters"):
        param_groups(model, {"stem": 0.1})
    with pytest.raises(ConfigError, match="'layer1.0.conv'"):  # not a module boundary
        param_groups(model, {"layer1.0.conv": 0.1, "layer1.0.weigh": 0.1})


@pytest.mark.parametrize("lr", [-0.1, "0.1", None, True])
def test_a_bad_learning_rate_is_a_config_error(lr):
    with pytest.raises(ConfigError, match="learning rate for 'fc'"):
        param_groups(_Net(), {"fc": lr})
