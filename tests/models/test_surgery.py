"""replace_head and freeze: a frozen part gets no gradients, never trains, keeps its BatchNorm."""

import copy

import pytest
import torch
import torch.nn.functional as F

from nnlab.data import ImageSet
from nnlab.errors import ConfigError
from nnlab.models import build
from nnlab.models.surgery import freeze, replace_head
from nnlab.train import fit


def _images(n=16, size=32, classes=3, seed=0) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    y = torch.arange(n) % classes
    return ImageSet(x, y, tuple("abc"[:classes]), "noise", "train")


def _float(x):
    return x.float() / 255


@pytest.mark.parametrize(
    ("arch", "kind"),
    [("resnet18", torch.nn.Linear), ("squeezenet1_1", torch.nn.Conv2d), ("alexnet", None)],
)
def test_replace_head_makes_a_fresh_layer_with_the_new_classes(arch, kind):
    with torch.device("meta"):
        model = build(arch)
    old = model.get_submodule(model.head_name)
    new = replace_head(model, 7)
    assert model.get_submodule(model.head_name) is new and new is not old
    assert isinstance(new, kind or torch.nn.Linear) and new.weight.shape[0] == 7
    assert new.weight.shape[1:] == old.weight.shape[1:]


def test_replace_head_refuses_what_it_cannot_replace():
    model = build("lenet5")
    with pytest.raises(ConfigError, match="no layer 'fc'"):
        replace_head(model, 3, name="fc")
    with pytest.raises(ConfigError, match="only a Linear"):
        replace_head(model, 3, name="features.1")
    with pytest.raises(ConfigError, match="positive int"):
        replace_head(model, 0)


def test_frozen_parameters_and_batchnorm_statistics_do_not_change_in_a_fit():
    torch.manual_seed(0)
    model = build("resnet18", num_classes=3)
    frozen = freeze(model, except_=["fc"])
    before = copy.deepcopy(model.state_dict())
    trainable = [p for p in model.parameters() if p.requires_grad]
    fit(
        model,
        _images(),
        epochs=1,
        batch_size=8,
        optimizer=torch.optim.SGD(trainable, lr=0.1, momentum=0.9),
        transform=_float,
        device="cpu",
    )
    after = model.state_dict()
    changed = sorted(k for k in before if not torch.equal(before[k], after[k]))
    assert changed == ["fc.bias", "fc.weight"]  # running_mean/var, num_batches_tracked too
    assert frozen.frozen_modules == (
        "conv1",
        "bn1",
        "relu",
        "maxpool",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "avgpool",
    )
    assert frozen.batchnorms == 20  # bn1, 2 per block x 8 blocks, 3 downsampling shortcuts
    assert frozen.trainable_parameters == 512 * 3 + 3
    assert frozen.frozen_parameters == 11_689_512 - 512 * 1000 - 1000
    assert "20 BatchNorm layers keep their running statistics" in frozen.describe()


def test_train_mode_does_not_reach_the_frozen_part_and_it_gets_no_gradients():
    torch.manual_seed(0)
    model = build("resnet18", num_classes=3)
    freeze(model, except_=["layer4", "fc"])
    model.train()
    modes = {name: m.training for name, m in model.named_modules()}
    assert not modes["layer3.1.bn2"] and not modes["bn1"] and not modes["layer1"]
    assert modes["layer4.0.bn1"] and modes["fc"] and modes[""]
    out = model(torch.randn(4, 3, 32, 32))
    F.cross_entropy(out, torch.tensor([0, 1, 2, 0])).backward()
    for name, p in model.named_parameters():
        assert (p.grad is not None) == name.startswith(("layer4.", "fc."))
    # the kept stage does update its statistics; the frozen ones use theirs unchanged
    assert model.layer4[0].bn1.num_batches_tracked == 1
    assert model.layer3[0].bn1.num_batches_tracked == 0


def test_a_frozen_copy_stays_frozen():
    model = build("lenet5")
    freeze(model, except_=["classifier.4"])
    twin = copy.deepcopy(model).train()
    assert not twin.features.training and twin.classifier[4].training
    assert not twin.features[0].weight.requires_grad


def test_freeze_refuses_unknown_names_and_a_bare_string():
    model = build("lenet5")
    with pytest.raises(ConfigError, match="no module or parameter fc"):
        freeze(model, except_=["fc"])
    with pytest.raises(ConfigError, match="list of names"):
        freeze(model, except_="classifier")
