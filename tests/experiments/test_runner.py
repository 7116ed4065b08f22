"""Running an experiment: the run folder, its statuses, and resuming after an interruption."""

import json
import sqlite3
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F

from nnlab.data import transforms
from nnlab.errors import ConfigError, MissingDataError
from nnlab.experiments import EXPERIMENTS, Experiment, ExperimentConfig, register
from nnlab.experiments.runner import resume_experiment, run_experiment
from nnlab.models import MLP


@dataclass
class TinyConfig(ExperimentConfig):
    epochs: int = 3
    interrupt_after: str = ""  # name of the model after which the run is "killed"
    dataset: str = "digits"


def _tiny_run(cfg: TinyConfig, ctx) -> None:
    train = ctx.load(cfg.dataset, "train", fallback="digits")
    test = ctx.load(cfg.dataset, "test", fallback="digits")
    rows = []
    for name in ("first", "second"):
        ctx.seed_torch(f"init/{name}")
        model = MLP(64, [16], 10)
        history = ctx.fit(
            name,
            model,
            train,
            test,
            epochs=cfg.epochs,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5),
            loss=F.cross_entropy,
            batch_size=32,
            transform=transforms.to_float,
        )
        torch.save(model.state_dict(), ctx.run.path / f"{name}-final.pt")
        rows.append({"model": name, "val_acc": history[-1]["val_acc"]})
        if cfg.interrupt_after == name:
            raise KeyboardInterrupt
    ctx.table("result", rows)
    ctx.verdict(None, "Two MLPs trained.")


@pytest.fixture(scope="module")
def tiny():
    experiment = register(
        Experiment(
            id="tiny-test",
            title="Tiny test experiment",
            summary="two small MLPs on digits",
            description="Checks the runner.",
            study="B",
            config=TinyConfig,
            run=_tiny_run,
            scales={"smoke": {"epochs": 2}},
        )
    )
    yield experiment
    EXPERIMENTS._entries.pop(experiment.id)


def _index_row(runs_dir, run_id):
    with sqlite3.connect(runs_dir / "index.sqlite") as db:
        return db.execute("SELECT status, metrics FROM runs WHERE id = ?", (run_id,)).fetchone()


def test_a_finished_run_has_its_files_index_row_and_scale_notice(tiny, tmp_path):
    ctx = run_experiment("tiny-test", scale="smoke", runs_dir=tmp_path, device="cpu")
    run = ctx.run
    for name in ("config.json", "metrics.json", "report.md", "report.html", "tables/result.csv"):
        assert (run.path / name).is_file(), name
    assert json.loads((run.path / "config.json").read_text())["epochs"] == 2
    status, metrics = _index_row(tmp_path, run.id)
    assert status == "done"
    assert 0.5 < json.loads(metrics)["result.first.val_acc"] <= 1
    report = (run.path / "report.md").read_text()
    assert "smoke-scale run" in report and "epochs=2 (study: 3)" in report
    assert ctx.tables[0][1][1]["model"] == "second"


def test_settings_are_refused_before_any_folder_is_made(tiny, tmp_path):
    with pytest.raises(ConfigError, match="Valid settings"):
        run_experiment("tiny-test", overrides={"epoch": "1"}, runs_dir=tmp_path)
    assert not any(tmp_path.iterdir())


def test_missing_data_fails_at_full_scale_and_falls_back_below_it(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path / "no-data"))
    with pytest.raises(MissingDataError):
        run_experiment("tiny-test", scale="full", overrides={"dataset": "mnist"}, runs_dir=tmp_path)
    (failed,) = [p for p in tmp_path.iterdir() if p.is_dir() and p.name.endswith("tiny-test")]
    assert _index_row(tmp_path, failed.name)[0] == "failed"
    assert "failed" in (failed / "report.md").read_text().lower()
    ctx = run_experiment(
        "tiny-test", scale="smoke", overrides={"dataset": "mnist"}, runs_dir=tmp_path
    )
    report = (ctx.run.path / "report.md").read_text()
    assert "mnist is not in the data folder" in report and "`digits`" in report
    with pytest.raises(MissingDataError, match="does not exist"):  # the user's own path
        run_experiment(
            "tiny-test",
            scale="smoke",
            overrides={"dataset": f"folder:{tmp_path / 'typo'}"},
            runs_dir=tmp_path,
        )


def test_an_interrupted_run_resumes_to_the_same_result(tiny, tmp_path):
    straight = run_experiment("tiny-test", scale="smoke", runs_dir=tmp_path / "a").run
    with pytest.raises(KeyboardInterrupt):
        run_experiment(
            "tiny-test",
            scale="smoke",
            overrides={"interrupt_after": "first"},
            runs_dir=tmp_path / "b",
        )
    (run_dir,) = [p for p in (tmp_path / "b").iterdir() if p.is_dir()]
    assert _index_row(tmp_path / "b", run_dir.name)[0] == "interrupted"
    assert (run_dir / "checkpoints" / "first.pt").is_file()

    # the resumed run keeps its settings (interrupt_after is cleared here by hand: the "kill"
    # was a test device, not a setting a real run would carry)
    config = json.loads((run_dir / "config.json").read_text())
    config["interrupt_after"] = ""
    (run_dir / "config.json").write_text(json.dumps(config))
    resumed = resume_experiment(str(run_dir), runs_dir=tmp_path / "b").run
    assert resumed.id == run_dir.name
    assert _index_row(tmp_path / "b", run_dir.name)[0] == "done"
    for name in ("first", "second"):
        want = torch.load(straight.path / f"{name}-final.pt", weights_only=True)
        got = torch.load(run_dir / f"{name}-final.pt", weights_only=True)
        assert all(torch.equal(want[k], got[k]) for k in want), name
    assert resumed.metrics == straight.metrics
