"""Multi-head `fit`/`evaluate`: the weighted loss, per-head labels and accuracy, exact twins."""

import pytest
import torch
import torch.nn.functional as F

from nnlab.data import load
from nnlab.data.transforms import to_signed
from nnlab.errors import ConfigError
from nnlab.models import MultiTaskNet
from nnlab.train import evaluate, fit, head_loss

#: digits 0-9 -> odd (1) or even (0)
PARITY = [d % 2 for d in range(10)]


@pytest.fixture(scope="module")
def digits():
    return load("digits", "train"), load("digits", "test")


def _net(heads, seed=0):
    torch.manual_seed(seed)
    return MultiTaskNet(heads, in_features=64, trunk=(32,))


def _adam(model):
    return torch.optim.Adam(model.parameters(), lr=3e-3)


def test_head_loss_at_lambda_0_and_1_is_the_single_task_loss():
    torch.manual_seed(0)
    outputs = {"item": torch.randn(7, 10), "group": torch.randn(7, 3)}
    targets = {"item": torch.randint(0, 10, (7,)), "group": torch.randint(0, 3, (7,))}
    item = F.cross_entropy(outputs["item"], targets["item"])
    group = F.cross_entropy(outputs["group"], targets["group"])
    assert head_loss({"item": 1.0, "group": 0.0})(outputs, targets) == item
    assert head_loss({"item": 0.0, "group": 1.0})(outputs, targets) == group
    mixed = head_loss({"item": 0.25, "group": 0.75})(outputs, targets)
    assert torch.allclose(mixed, 0.25 * item + 0.75 * group)


def test_fit_at_lambda_1_trains_trunk_and_item_head_exactly_as_a_single_task_net(digits):
    train, test = digits
    mtl, single = _net({"item": 10, "group": 2}), _net({"item": 10})
    settings = dict(epochs=2, batch_size=64, transform=to_signed, seed=5)
    fit(
        mtl,
        train,
        test,
        optimizer=_adam(mtl),
        loss=head_loss({"item": 1.0, "group": 0.0}),
        heads={"item": None, "group": PARITY},
        **settings,
    )
    group_before = _net({"item": 10, "group": 2}).heads["group"].weight
    fit(
        single,
        train,
        test,
        optimizer=_adam(single),
        loss=head_loss({"item": 1.0}),
        heads={"item": None},
        **settings,
    )
    for name, p in single.named_parameters():
        assert torch.allclose(p, dict(mtl.named_parameters())[name], atol=1e-6), name
    # weight 0: the group head got zero gradients, so Adam left it where it started
    assert torch.equal(mtl.heads["group"].weight, group_before)


def test_history_and_evaluate_score_every_head_against_its_own_labels(digits):
    train, test = digits
    model = _net({"item": 10, "group": 2})
    loss = head_loss({"item": 0.5, "group": 0.5})
    heads = {"item": None, "group": PARITY}
    history = fit(
        model,
        train,
        test,
        epochs=3,
        optimizer=_adam(model),
        loss=loss,
        heads=heads,
        transform=to_signed,
    )
    last = history[-1]
    assert {"val_acc/item", "val_acc/group", "val_acc", "train_acc"} <= set(last)
    assert last["val_acc"] == last["val_acc/item"]  # the first head is the main one
    scores = evaluate(model, test, loss=loss, heads=heads, transform=to_signed, batch_size=100)
    # a direct whole-set computation
    with torch.no_grad():
        model.eval()
        out = model(to_signed(test.x))
    group_y = torch.tensor(PARITY)[test.y]
    item_acc = (out["item"].argmax(1) == test.y).double().mean().item()
    group_acc = (out["group"].argmax(1) == group_y).double().mean().item()
    direct = 0.5 * F.cross_entropy(out["item"], test.y) + 0.5 * F.cross_entropy(
        out["group"], group_y
    )
    assert scores.head_accuracy == pytest.approx({"item": item_acc, "group": group_acc})
    assert scores.accuracy == pytest.approx(item_acc)
    assert scores.loss == pytest.approx(direct.item(), rel=1e-5)
    assert last["val_acc/group"] == pytest.approx(group_acc)
    assert group_acc > 0.8 and item_acc > 0.8  # both heads learned
    assert torch.equal(scores.predictions, out["item"].argmax(1))


def test_single_output_evaluation_has_no_head_accuracy(digits):
    _, test = digits
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 10))
    assert evaluate(model, test, transform=to_signed).head_accuracy == {}


def test_refused_multi_head_settings(digits):
    train, _ = digits
    model = _net({"item": 10, "group": 2})
    common = dict(epochs=1, optimizer=_adam(model), transform=to_signed)
    loss = head_loss({"item": 0.5, "group": 0.5})
    with pytest.raises(ConfigError, match="returned several heads"):
        fit(model, train, **common)
    with pytest.raises(ConfigError, match="needs a loss over its heads"):
        fit(model, train, heads={"item": None, "group": PARITY}, **common)
    with pytest.raises(ConfigError, match="has 3 entries but the set has 10 classes"):
        fit(model, train, loss=loss, heads={"item": None, "group": [0, 1, 0]}, **common)
    with pytest.raises(ConfigError, match="output has heads"):
        fit(model, train, loss=loss, heads={"item": None, "colour": PARITY}, **common)
    with pytest.raises(ConfigError, match="sequence of integer labels"):
        fit(model, train, loss=loss, heads={"item": None, "group": [0.5] * 10}, **common)
    with pytest.raises(ConfigError, match="one weight per head"):
        fit(
            model,
            train,
            loss=head_loss({"item": 1.0}),
            heads={"item": None, "group": PARITY},
            **common,
        )
    with pytest.raises(ConfigError, match="at least 0"):
        head_loss({"item": -1.0})
