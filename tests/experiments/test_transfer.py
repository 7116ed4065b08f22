"""Starting weights (imagenet / none / file / run:<id>) and linear probes on cached features."""

import json
import types
from dataclasses import replace

import pytest
import torch

from nnlab.data import ImageSet
from nnlab.errors import ConfigError, MissingDataError
from nnlab.experiments import transfer
from nnlab.experiments.transfer import LinearProbe, extract_features, start_model
from nnlab.models import build
from nnlab.models.weights import PRETRAINED
from nnlab.train import evaluate, fit


class _Ctx:
    """The slice of the run context that `start_model` uses."""

    def __init__(self, scale: str, runs_dir):
        self.scale, self.notices = scale, []
        self.run = types.SimpleNamespace(runs_dir=runs_dir)

    def seed_torch(self, purpose):
        torch.manual_seed(sum(map(ord, purpose)))

    def notice(self, text):
        self.notices.append(text)


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """No weight files anywhere and no way to download them."""
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    spec = PRETRAINED["squeezenet1_1"]
    dead = replace(spec, url="http://127.0.0.1:9/" + spec.file_name)  # nothing listens on 9
    monkeypatch.setitem(PRETRAINED, "squeezenet1_1", dead)


def _images(n=40, size=32, classes=4) -> ImageSet:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    return ImageSet(x, torch.arange(n) % classes, tuple("abcd"[:classes]), "noise", "train")


def _float(x):
    return x.float() / 127.5 - 1


def test_missing_imagenet_weights_fall_back_with_a_notice_below_full(offline, tmp_path):
    ctx = _Ctx("quick", tmp_path)
    start = start_model(ctx, "squeezenet1_1", 5, "imagenet")
    assert not start.pretrained and "random initialisation" in start.description
    assert start.model.classifier[1].out_channels == 5
    (notice,) = ctx.notices
    assert "squeezenet1_1-b8a52dc0.pth" in notice and "random initialisation" in notice
    with pytest.raises(MissingDataError, match="squeezenet1_1-b8a52dc0.pth"):
        start_model(_Ctx("full", tmp_path), "squeezenet1_1", 5, "imagenet")


def test_a_weights_file_gives_the_backbone_and_a_fresh_head(tmp_path):
    torch.manual_seed(0)
    source = build("lenet5", num_classes=10)
    path = tmp_path / "mine.pth"
    torch.save(source.state_dict(), path)
    start = start_model(_Ctx("full", tmp_path), "lenet5", 3, str(path))
    assert start.pretrained and "unchecked" in start.description
    for key, value in source.features.state_dict().items():
        assert torch.equal(start.model.features.state_dict()[key], value)
    assert start.model.classifier[4].weight.shape == (3, 84)
    with pytest.raises(MissingDataError, match="does not exist"):
        start_model(_Ctx("full", tmp_path), "lenet5", 3, str(tmp_path / "nope.pth"))
    with pytest.raises(ConfigError, match="weights must be"):
        start_model(_Ctx("full", tmp_path), "lenet5", 3, "imagenette")


def _fake_run(runs_dir, run_id: str, checkpoints: dict) -> None:
    folder = runs_dir / run_id
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"experiment": "x"}))
    for name, model in checkpoints.items():
        torch.save({"model": model.state_dict()}, folder / "checkpoints" / f"{name}.pt")


def test_weights_from_an_earlier_run_pick_the_checkpoint_that_fits(tmp_path):
    torch.manual_seed(1)
    lenet, other = build("lenet5", num_classes=7), build("lenet5", num_classes=7, in_chans=3)
    _fake_run(tmp_path, "run-a", {"lenet": lenet, "rgb": other})
    start = start_model(_Ctx("smoke", tmp_path), "lenet5", 2, "run:run-a")
    assert "run run-a, checkpoint lenet" in start.description
    assert torch.equal(start.model.features[0].weight, lenet.features[0].weight)
    _fake_run(tmp_path, "run-b", {"one": lenet, "two": lenet})
    with pytest.raises(ConfigError, match="several of them hold"):
        start_model(_Ctx("smoke", tmp_path), "lenet5", 2, "run:run-b")
    start = start_model(_Ctx("smoke", tmp_path), "lenet5", 2, "run:run-b/two")
    assert torch.equal(start.model.features[0].weight, lenet.features[0].weight)
    with pytest.raises(ConfigError, match="none of them holds"):
        start_model(_Ctx("smoke", tmp_path), "resnet18", 2, "run:run-a")
    with pytest.raises(Exception, match="no run 'run-c'"):
        start_model(_Ctx("smoke", tmp_path), "lenet5", 2, "run:run-c")


def test_a_probe_on_cached_features_trains_the_head_as_on_the_images():
    train, val = _images(), _images(16)
    results = []
    for cache in (True, False):
        torch.manual_seed(0)
        model = build("lenet5", num_classes=4, in_chans=3)
        probe = LinearProbe(model, transform=_float, device=torch.device("cpu"), cache=cache)
        head = model.classifier[4]
        history = fit(
            probe.trainable,
            probe.inputs(train),
            probe.inputs(val),
            epochs=2,
            batch_size=8,
            optimizer=torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9),
            transform=probe.transform,
            device="cpu",
        )
        test = evaluate(probe.trainable, probe.inputs(val), transform=probe.transform)
        results.append((head.weight.detach().clone(), history, test, model))
    (w_cached, h_cached, t_cached, _), (w_images, h_images, t_images, model) = results
    torch.testing.assert_close(w_cached, w_images)
    assert [r["train_loss"] for r in h_cached] == pytest.approx([r["train_loss"] for r in h_images])
    assert torch.equal(t_cached.predictions, t_images.predictions)
    assert not model.features.training  # the frozen part stayed in eval mode during the fit


def test_features_are_the_heads_input_and_a_head_that_is_not_last_is_refused():
    torch.manual_seed(0)
    model = build("lenet5", num_classes=4, in_chans=3).eval()
    images = _images(10)
    features = extract_features(model, images, transform=_float, device=torch.device("cpu"))
    with torch.no_grad():
        expected = model.classifier[:4](model.features(_float(images.x)).flatten(1))
    torch.testing.assert_close(features.x, expected)
    assert torch.equal(features.y, images.y) and len(features) == 10
    squeezenet = build("squeezenet1_1", num_classes=4)
    with pytest.raises(ConfigError, match="not its last layer"):
        extract_features(squeezenet, images, transform=_float, device=torch.device("cpu"))


def test_image_transform_makes_normalised_rgb_at_the_size():
    x = torch.full((2, 1, 8, 8), 255, dtype=torch.uint8)
    out = transfer.image_transform(16, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))(x)
    assert out.shape == (2, 3, 16, 16)
    torch.testing.assert_close(out, torch.full_like(out, 2.0))  # (1 - 0.5) / 0.25
