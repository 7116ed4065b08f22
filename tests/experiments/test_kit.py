"""The experiment kit: declared settings (ranges, widths, settings files), the one verdict, the
data sentence, and a run that ends without a verdict."""

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import pytest

from nnlab.cli import main
from nnlab.errors import ConfigError, NnlabError
from nnlab.experiments import EXPERIMENTS, Context, Experiment
from nnlab.experiments.catalog import in_catalogue_order
from nnlab.experiments.config import (
    ExperimentConfig,
    Momentum,
    PositiveInt,
    Range,
    Widths,
    describe_fields,
    read_settings_file,
    resolve,
)
from nnlab.experiments.runner import run_experiment


@dataclass
class _Config(ExperimentConfig):
    epochs: PositiveInt = 2
    limit: PositiveInt | None = None
    momentum: Momentum = 0.5
    dropout: Annotated[float, Range(0, 1, closed="right")] = 0.5
    hidden: Widths = (16, 8)
    archs: tuple[Widths, ...] = ((4,), (4, 4))
    optimiser: Literal["sgd", "adam"] = "sgd"
    verdict: str = "held"  # what the fake experiment says: held, not, none, missing, twice


def _fake_run(cfg: _Config, ctx: Context) -> None:
    sets = ctx.load_splits("digits", {"train": 300, "test": 100})
    ctx.describe_data(sets, "inputs in [0, 1]")
    ctx.table("result", [{"epochs": cfg.epochs, "value": 1.5}])
    if cfg.verdict == "missing":
        return
    held = {"held": True, "not": False, "none": None, "twice": True}[cfg.verdict]
    ctx.verdict(held, "The value was 1.5.", value=1.5, best="mlp")
    if cfg.verdict == "twice":
        ctx.verdict(False, "Again.")


@pytest.fixture
def fake(monkeypatch):
    experiment = Experiment(
        "kit-fake", "Kit fake", "s", "Trains nothing.", "A", _Config, _fake_run, {}, "It holds."
    )
    monkeypatch.setitem(EXPERIMENTS._entries, "kit-fake", experiment)
    return experiment


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("epochs", "0", "epochs must be > 0"),
        ("limit", "-3", "limit must be > 0"),
        ("momentum", "1", r"momentum must be in \[0, 1\)"),
        ("dropout", "0", r"dropout must be in \(0, 1\]"),
        ("hidden", "16-0", "hidden must be > 0"),
        ("archs", "4,4-0", "archs must be > 0"),
        ("optimiser", "rmsprop", "optimiser must be one of 'sgd', 'adam'"),
        ("hidden", "16-a", "hidden expects an integer"),
    ],
)
def test_declared_settings_refuse_what_they_exclude(key, value, says):
    with pytest.raises(ConfigError, match=says):
        resolve(_Config, overrides={key: value})


def test_ranges_hold_however_the_config_is_built():
    with pytest.raises(ConfigError, match="momentum"):
        _Config(momentum=1.0)
    with pytest.raises(ConfigError, match="dropout"):
        _Config(dropout=float("nan"))
    assert _Config(limit=None).limit is None and _Config(dropout=1.0).dropout == 1.0


@pytest.mark.parametrize(
    ("text", "widths"),
    [("256-256", (256, 256)), ("256,256", (256, 256)), ("128x3", (128, 128, 128)),
     ("64-32x2", (64, 32, 32)), ("(32, 64)", (32, 64)), ("8", (8,))],
)  # fmt: skip
def test_one_spelling_of_layer_widths_in_every_form(text, widths):
    assert resolve(_Config, overrides={"hidden": text}).hidden == widths


def test_a_list_of_architectures_is_comma_separated_widths():
    cfg = resolve(_Config, overrides={"archs": "8-16,8-16-32,4x2"})
    assert cfg.archs == ((8, 16), (8, 16, 32), (4, 4))


def test_settings_are_described_with_their_ranges():
    kinds = {name: kind for name, kind, _ in describe_fields(_Config)}
    assert kinds["epochs"] == "int > 0"
    assert kinds["limit"] == "int > 0 | None"
    assert kinds["momentum"] == "float in [0, 1)"
    assert kinds["hidden"] == "Widths" and kinds["archs"] == "tuple[Widths, ...]"


def test_a_settings_file_sits_between_the_scale_and_set(tmp_path):
    toml = tmp_path / "settings.toml"
    toml.write_text('epochs = 5\nhidden = [32, 16]\narchs = ["8-8", [4]]\noptimiser = "adam"\n')
    file = (str(toml), read_settings_file(toml))
    scales = {"smoke": {"epochs": 1, "momentum": 0.9}}
    cfg = resolve(_Config, "smoke", scales, {"optimiser": "sgd"}, file=file)
    assert (cfg.epochs, cfg.momentum, cfg.hidden, cfg.archs) == (5, 0.9, (32, 16), ((8, 8), (4,)))
    assert cfg.optimiser == "sgd"  # --set wins
    (tmp_path / "run.json").write_text(json.dumps({"epochs": 4}))
    assert read_settings_file(tmp_path / "run.json") == {"epochs": 4}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("epochs = ", "not valid TOML"),
        ("[table]\nepochs = 3", "without tables"),
        ("epoch = 3", "unknown setting 'epoch'. Did you mean epochs"),
        ("epochs = 0", "epochs must be > 0"),
        ('epochs = "many"', "epochs expects an integer"),
    ],
)
def test_a_bad_settings_file_is_named_in_the_error(tmp_path, content, says):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=says) as error:
        resolve(_Config, file=(str(path), read_settings_file(path)))
    assert "bad.toml" in str(error.value) or "epochs must be" in str(error.value)


def test_a_missing_settings_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read it"):
        read_settings_file(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("said", "held", "line"),
    [("held", True, "**Claim held.**"), ("not", False, "**Claim did not hold.**"),
     ("none", None, "**No claim tested.**")],
)  # fmt: skip
def test_the_verdict_is_one_schema_and_opens_the_report(fake, tmp_path, said, held, line):
    ctx = run_experiment("kit-fake", scale="full", overrides={"verdict": said}, runs_dir=tmp_path)
    metrics = json.loads((ctx.run.path / "metrics.json").read_text())
    assert metrics["verdict.held"] is held
    assert metrics["verdict.value"] == 1.5 and metrics["verdict.best"] == "mlp"
    info = json.loads((ctx.run.path / "run.json").read_text())
    assert info["verdict"] == {"held": held, "sentence": "The value was 1.5."}
    report = (ctx.run.path / "report.md").read_text()
    assert f"> {line} The value was 1.5." in report.split("## What this tests")[0]
    assert "**Claim:** It holds." in report
    assert line.strip("*") in (ctx.run.path / "report.html").read_text()


@pytest.mark.parametrize(("said", "error"), [("missing", "without its verdict"),
                                             ("twice", "second verdict")])  # fmt: skip
def test_a_run_needs_exactly_one_verdict(fake, tmp_path, said, error):
    with pytest.raises(NnlabError, match=error):
        run_experiment("kit-fake", scale="full", overrides={"verdict": said}, runs_dir=tmp_path)
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert json.loads((folder / "run.json").read_text())["status"] == "failed"


def test_the_data_sentence_follows_the_sets_notes_in_order(fake, tmp_path):
    ctx = run_experiment("kit-fake", scale="full", runs_dir=tmp_path)
    report = (ctx.run.path / "report.md").read_text()
    assert (
        "Data: digits, 300 training and 100 test images of 1×8×8, 10 classes; inputs in [0, 1]."
        in report
    )


def test_run_config_flag_reads_the_file_and_refuses_it_with_resume(fake, tmp_path, capsys):
    settings = tmp_path / "s.toml"
    settings.write_text("epochs = 7\n")
    out = tmp_path / "runs"
    assert (
        main(["run", "kit-fake", "--scale", "full", "--config", str(settings), "--out", str(out)])
        == 0
    )
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    assert json.loads((folder / "config.json").read_text())["epochs"] == 7
    assert main(["run", "--resume", folder.name, "--config", str(settings), "--out", str(out)]) == 2
    assert "--resume continues a run with its own settings" in capsys.readouterr().err


def test_the_template_is_a_working_experiment(monkeypatch, tmp_path):
    """experiments/_template.py, imported as a new module, runs and keeps the contract; with
    NNLAB_TENSORBOARD set its fit also writes TensorBoard events of the same history."""
    import importlib.util

    import nnlab.experiments as package

    monkeypatch.setattr(EXPERIMENTS, "_entries", dict(EXPERIMENTS._entries))
    path = Path(package.__path__[0]) / "_template.py"
    spec = importlib.util.spec_from_file_location("nnlab_template_copy", path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    tensorboard = importlib.util.find_spec("tensorboard") is not None
    monkeypatch.setenv("NNLAB_TENSORBOARD", "1" if tensorboard else "")
    ctx = run_experiment("my-experiment", scale="smoke", runs_dir=tmp_path)
    metrics = json.loads((ctx.run.path / "metrics.json").read_text())
    assert metrics["verdict.held"] in (True, False)
    assert metrics["verdict.test_acc"] == pytest.approx(metrics["result.mlp.test_acc"])
    rows = list(csv.DictReader((ctx.run.path / "histories" / "mlp.csv").open()))
    assert len(rows) == 2  # smoke: 2 epochs, one evaluation each
    if tensorboard:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

        events = EventAccumulator(str(ctx.run.path / "tensorboard" / "mlp"))
        events.Reload()
        logged = [(e.step, e.value) for e in events.Scalars("mlp/val_acc")]
        want = [(int(r["step"]), float(r["val_acc"])) for r in rows]
        assert [s for s, _ in logged] == [s for s, _ in want]
        assert [v for _, v in logged] == pytest.approx([v for _, v in want], rel=1e-6)


def test_list_json_gives_scripts_the_claims_and_settings(capsys):
    assert main(["list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [e["id"] for e in listed] == [e.id for e in in_catalogue_order()]
    assert main(["list", "spatial-locality", "--json"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert one["claim"] == EXPERIMENTS.get("spatial-locality").claim
    epochs = next(s for s in one["settings"] if s["name"] == "epochs")
    assert epochs == {"name": "epochs", "type": "int > 0", "full": 20, "quick": 8, "smoke": 6}
