"""Starting weights: imagenet (with its fallback below full scale), none, a file, run:<id>."""

import json
import types
from dataclasses import replace

import pytest
import torch

from nnlab.errors import ConfigError, MissingDataError
from nnlab.models import build
from nnlab.models.starting import start_model
from nnlab.models.weights import PRETRAINED


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
