"""The zoo against torchvision: every state-dict key and shape, and the published parameter counts.

Architectures are built on the meta device, so VGG's 138M parameters cost no memory. The
reference is ../shared/data/reference/torchvision-architectures.json, read off torchvision's own
model definitions; the counts below are torchvision's published ones, typed in independently.
"""

import json

import pytest
import torch
import torch.nn.functional as F

from nnlab.errors import ConfigError
from nnlab.models import build
from nnlab.models.zoo import VGG16_LAYERS, make_layers

#: torchvision's published parameter counts (its model documentation, 1000 classes)
PUBLISHED = {
    "alexnet": 61_100_840,
    "vgg16": 138_357_544,
    "vgg16_bn": 138_365_992,
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "mobilenet_v2": 3_504_872,
    "squeezenet1_1": 1_235_496,
}


@pytest.fixture(scope="module")
def reference():
    from nnlab.data import data_root

    path = data_root() / "reference" / "torchvision-architectures.json"
    if not path.is_file():
        pytest.skip(f"reference file missing: {path}")
    return json.loads(path.read_text())


def _on_meta(arch: str, **kwargs) -> torch.nn.Module:
    with torch.device("meta"):
        return build(arch, **kwargs)


@pytest.mark.parametrize("arch", list(PUBLISHED))
def test_state_dict_keys_and_shapes_equal_torchvisions(arch, reference):
    model = _on_meta(arch)
    ours = [(k, list(v.shape)) for k, v in model.state_dict().items()]
    theirs = list(reference[arch]["state_dict"].items())
    assert [k for k, _ in ours] == [k for k, _ in theirs]  # same names, same order
    assert ours == theirs


@pytest.mark.parametrize("arch", list(PUBLISHED))
def test_parameter_counts_equal_the_published_ones(arch, reference):
    count = sum(p.numel() for p in _on_meta(arch).parameters())
    assert count == PUBLISHED[arch] == reference[arch]["num_params"]
    assert reference[arch]["weights"]["IMAGENET1K_V1"]["num_params"] == count


@pytest.mark.parametrize(
    ("arch", "features", "shape"),
    [
        # feature maps at 224 px fix every stride and padding (the state dict cannot see them)
        ("alexnet", "features", (256, 6, 6)),
        ("squeezenet1_1", "features", (512, 13, 13)),
        ("mobilenet_v2", "features", (1280, 7, 7)),
        ("resnet18", "layer4", (512, 7, 7)),
    ],
)
def test_feature_maps_at_224_have_torchvisions_sizes(arch, features, shape):
    torch.manual_seed(0)
    model = build(arch).eval()
    seen = {}
    model.get_submodule(features).register_forward_hook(lambda m, a, out: seen.update(out=out))
    with torch.no_grad():
        logits = model(torch.randn(1, 3, 224, 224))
    assert seen["out"].shape[1:] == shape
    assert logits.shape == (1, 1000) and torch.isfinite(logits).all()


def test_vgg_features_end_in_512_7x7_maps_at_224():
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert make_layers(VGG16_LAYERS)(x).shape == (1, 512, 7, 7)


def test_resnet50_puts_the_stride_in_the_3x3_convolution():
    # torchvision's "v1.5": the state dict is the same whichever conv strides, the outputs not
    block = _on_meta("resnet50").layer2[0]
    assert block.conv1.stride == (1, 1) and block.conv2.stride == (2, 2)
    assert block.downsample[0].stride == (2, 2)


def test_basic_block_computes_the_residual_sum_by_hand():
    torch.manual_seed(0)
    model = build("resnet18").eval()
    block = model.layer2[0]  # stride 2 with a downsampling shortcut
    x = torch.randn(2, 64, 16, 16)

    def bn(module, t):
        return F.batch_norm(
            t, module.running_mean, module.running_var, module.weight, module.bias, False
        )

    with torch.no_grad():
        out = F.relu(bn(block.bn1, F.conv2d(x, block.conv1.weight, stride=2, padding=1)))
        out = bn(block.bn2, F.conv2d(out, block.conv2.weight, padding=1))
        shortcut = bn(block.downsample[1], F.conv2d(x, block.downsample[0].weight, stride=2))
        torch.testing.assert_close(block(x), F.relu(out + shortcut))


def test_lenet5_has_the_hand_counted_parameters_and_refuses_other_sizes():
    model = build("lenet5", num_classes=10, in_chans=1)
    by_hand = (
        (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    )
    assert sum(p.numel() for p in model.parameters()) == by_hand == 61_706
    assert build("lenet5", in_chans=3)(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    with pytest.raises(ConfigError, match="32x32"):
        model(torch.zeros(1, 1, 28, 28))


def test_every_zoo_model_names_its_head():
    for arch in [*PUBLISHED, "lenet5"]:
        model = _on_meta(arch)
        head = model.get_submodule(model.head_name)
        assert head.weight.shape[0] == (10 if arch == "lenet5" else 1000)
