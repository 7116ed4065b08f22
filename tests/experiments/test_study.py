"""Studies: the plan (seeds × grid), the driver (records, failures, Ctrl-C, resume) and the
summary, on experiments registered for the test and run in this process."""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from nnlab.cli import main
from nnlab.errors import ConfigError
from nnlab.experiments import EXPERIMENTS, Experiment, ExperimentConfig
from nnlab.experiments.study import cell as cell_module
from nnlab.experiments.study import parse_grid, parse_seeds, resume_study, run_study
from nnlab.experiments.study.cell import CellSpec, run_cell
from nnlab.experiments.study.plan import plan_cells
from nnlab.runs import RunIndex
from nnlab.runs.folder import new_run_folder
from nnlab.train import Speed


@dataclass
class _Config(ExperimentConfig):
    gain: float = 1.0
    name: str = "a"
    fail_seed: int = -1
    stop_seed: int = -1


def _score(cfg) -> float:
    """A number that depends on the setting and the seed, as a trained model's would."""
    return cfg.gain * 0.5 + 0.01 * ((cfg.seed * 7) % 5)


def _noisy(cfg, ctx):
    if cfg.seed == cfg.fail_seed:
        raise RuntimeError(f"seed {cfg.seed} breaks")
    marker = ctx.run.path / "was-stopped"
    if cfg.seed == cfg.stop_seed and not marker.exists():
        marker.touch()
        raise KeyboardInterrupt
    ctx.table("result", [{"model": "m", "score": _score(cfg), "name": cfg.name}])
    ctx.verdict(cfg.seed % 2 == 0, "Even seeds hold.", score=_score(cfg), big=cfg.gain > 1)


@pytest.fixture
def noisy(monkeypatch):
    experiment = Experiment(
        "study-noisy", "A noisy experiment", "s", "d", "A", _Config, _noisy, {}, "Even seeds."
    )
    monkeypatch.setitem(EXPERIMENTS._entries, experiment.id, experiment)
    return experiment


def test_seeds_are_a_count_a_list_or_ranges():
    assert parse_seeds("5") == [0, 1, 2, 3, 4]
    assert parse_seeds("0,3,7") == [0, 3, 7]
    assert parse_seeds("10-14") == [10, 11, 12, 13, 14]
    assert parse_seeds("0, 5-7") == [0, 5, 6, 7]
    for bad in ("0", "1,1", "5-3", "a", "-1", "1,,2"):
        with pytest.raises(ConfigError, match="--seeds"):
            parse_seeds(bad)


def test_grid_values_split_on_commas_or_semicolons():
    assert parse_grid(["lr=0.01,0.1", "hidden=64-32,128"]) == {
        "lr": ["0.01", "0.1"],
        "hidden": ["64-32", "128"],
    }
    assert parse_grid(["lrs=0.1,0.01;0.5"]) == {"lrs": ["0.1,0.01", "0.5"]}
    for bad in (["lr"], ["lr="], ["lr=1,1"], ["seed=1,2"], ["lr=1", "lr=2"]):
        with pytest.raises(ConfigError):
            parse_grid(bad)


def test_the_cells_are_the_cross_product_with_seeds_innermost(noisy):
    cells = plan_cells(noisy, "full", {}, [3, 4], {"gain": ["1", "2"], "name": ["x", "y", "z"]})
    got = [(c.setting["gain"], c.setting["name"], c.seed) for c in cells]
    want = [(g, n, s) for g in ("1", "2") for n in ("x", "y", "z") for s in (3, 4)]
    assert got == want
    assert cells[0].label == "gain=1,name=x"
    assert [c.config["seed"] for c in cells[:2]] == [3, 4] and cells[-1].config["gain"] == 2.0
    with pytest.raises(ConfigError, match="gain=oops"):
        plan_cells(noisy, "full", {}, [0], {"gain": ["1", "oops"]})
    with pytest.raises(ConfigError, match="nope"):
        plan_cells(noisy, "full", {}, [0], {"nope": ["1"]})
    with pytest.raises(ConfigError, match="both in --grid and --set"):
        plan_cells(noisy, "full", {"gain": "1"}, [0], {"gain": ["1", "2"]})


def test_a_study_records_every_run_summarises_it_and_goes_on_past_a_failure(noisy, tmp_path):
    seeds = [0, 1, 2, 3]
    outcome = run_study(
        noisy.id,
        scale="full",
        overrides={"fail_seed": "3"},
        seeds=seeds,
        grid={"gain": ["1", "2"]},
        runs_dir=tmp_path,
    )
    state = outcome.state
    assert outcome.failed == 2  # seed 3 of each setting
    failed = [c for c in state["cells"] if c["status"] == "failed"]
    assert [c["seed"] for c in failed] == [3, 3] and "seed 3 breaks" in failed[0]["error"]
    index = RunIndex(tmp_path / "index.sqlite")
    by_id = {r.id: r for r in index.runs()}
    assert len(by_id) == 8 and {c["run"] for c in state["cells"]} == set(by_id)
    for cell in state["cells"]:  # each run is an ordinary one, indexed by the driver
        record = by_id[cell["run"]]
        assert record.status == cell["status"] and record.config["seed"] == cell["seed"]
        assert record.experiment == noisy.id
        assert record.config["gain"] == float(cell["setting"]["gain"])
    metrics = json.loads((outcome.path / "metrics.json").read_text())
    done = [_score(_Config(gain=2.0, seed=s)) for s in (0, 1, 2)]
    key = "gain=2/result.m.score"
    assert metrics[f"{key}.n"] == 3
    assert metrics[f"{key}.mean"] == pytest.approx(np.mean(done))
    assert metrics[f"{key}.std"] == pytest.approx(np.std(done, ddof=1))
    low, high = stats.t.interval(0.95, 2, loc=np.mean(done), scale=stats.sem(done))
    assert (metrics[f"{key}.ci_low"], metrics[f"{key}.ci_high"]) == (
        pytest.approx(low),
        pytest.approx(high),
    )
    assert metrics["gain=1/verdict.held.count"] == 2 and metrics["gain=1/verdict.held.n"] == 3
    assert (metrics["gain=2/verdict.big.count"], metrics["gain=1/verdict.big.count"]) == (3, 0)
    # gain 2 minus gain 1, seed by seed: 0.5 exactly, every seed
    diff = "gain=2 - gain=1/result.m.score"
    assert metrics[f"{diff}.mean"] == pytest.approx(0.5) and metrics[f"{diff}.n"] == 3
    report = (outcome.path / "report.md").read_text()
    assert "2 of 8 runs did not finish" in report and "Claim held in 4 of 6 runs." in report
    csv = (outcome.path / "tables" / "result.csv").read_text().splitlines()
    assert csv[0].startswith("gain,model,score.mean,score.std,score.n")


def test_ctrl_c_stops_a_study_and_resume_keeps_done_runs(noisy, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        run_study(noisy.id, scale="full", overrides={"stop_seed": "1"}, seeds=[0, 1, 2],
                  runs_dir=tmp_path)  # fmt: skip
    (folder,) = tmp_path.glob("*-study")
    first = json.loads((folder / "study.json").read_text())["cells"]
    assert [c["status"] for c in first] == ["done", "interrupted", "pending"]
    outcome = resume_study(folder.name, runs_dir=tmp_path)
    cells = outcome.state["cells"]
    assert [c["status"] for c in cells] == ["done"] * 3 and outcome.failed == 0
    assert [c["run"] for c in cells[:2]] == [c["run"] for c in first[:2]]  # kept; resumed
    assert cells[1]["attempts"] == 2 and cells[0]["attempts"] == 1
    assert len(RunIndex(tmp_path / "index.sqlite").runs()) == 3


def test_a_run_its_worker_could_not_open_fails_alone(noisy, tmp_path, monkeypatch):
    real = cell_module.create_run

    def refuse_seed_1(experiment, scale, overrides, *args, **kwargs):
        if overrides["seed"] == 1:
            raise ConfigError("this worker cannot open the run")
        return real(experiment, scale, overrides, *args, **kwargs)

    monkeypatch.setattr(cell_module, "create_run", refuse_seed_1)
    outcome = run_study(noisy.id, scale="full", seeds=[0, 1, 2], runs_dir=tmp_path)
    assert [c["status"] for c in outcome.state["cells"]] == ["done", "failed", "done"]
    assert "cannot open the run" in outcome.state["cells"][1]["error"]
    index = RunIndex(tmp_path / "index.sqlite")
    assert index.get(outcome.state["cells"][1]["run"]).status == "failed"


def test_a_run_left_half_made_by_a_lost_worker_starts_anew_in_its_folder(noisy, tmp_path):
    folder = new_run_folder(tmp_path, noisy.id)
    (folder / "config.json").write_text("{")  # the worker died before run.json
    spec = CellSpec(noisy.id, "full", {"seed": 2}, None, str(folder), None, Speed(), None)
    result = run_cell(spec)
    assert result.status == "done" and result.run_id == folder.name
    assert result.config["seed"] == 2
    assert result.metrics["result.m.score"] == _score(_Config(seed=2))


_KILLED_DRIVER = """
import sys, time
from dataclasses import dataclass
from nnlab.experiments import EXPERIMENTS, Experiment, ExperimentConfig
from nnlab.experiments.study import run_study

@dataclass
class Config(ExperimentConfig):
    pause: float = 0.0

def slow(cfg, ctx):
    time.sleep(cfg.pause if cfg.seed == 1 else 0)
    ctx.table("result", [{"model": "m", "score": cfg.seed}])
    ctx.verdict(True, "Done.")

EXPERIMENTS._entries["study-slow"] = Experiment(
    "study-slow", "Slow", "s", "d", "A", Config, slow, {}, "It ends.")
run_study("study-slow", scale="full", overrides={"pause": sys.argv[2]}, seeds=[0, 1, 2],
          runs_dir=sys.argv[1])
"""


def test_a_killed_driver_leaves_a_study_that_resumes(monkeypatch, tmp_path):
    driver = subprocess.Popen([sys.executable, "-c", _KILLED_DRIVER, str(tmp_path), "60"])
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until seed 0 is done and seed 1 is running
            states = list(tmp_path.glob("*-study/study.json"))
            cells = json.loads(states[0].read_text())["cells"] if states else []
            if [c["status"] for c in cells][:2] == ["done", "running"]:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the study never started its second run")
        time.sleep(0.5)  # the second run is sleeping inside the experiment
    finally:
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
    index = RunIndex(tmp_path / "index.sqlite")
    assert sorted(r.status for r in index.runs()) == ["done", "interrupted"]

    @dataclass
    class Config(ExperimentConfig):
        pause: float = 0.0

    def fast(cfg, ctx):
        ctx.table("result", [{"model": "m", "score": cfg.seed}])
        ctx.verdict(True, "Done.")

    slow = Experiment("study-slow", "Slow", "s", "d", "A", Config, fast, {}, "It ends.")
    monkeypatch.setitem(EXPERIMENTS._entries, slow.id, slow)
    (folder,) = tmp_path.glob("*-study")
    assert main(["run", "--resume", folder.name, "--out", str(tmp_path)]) == 0
    cells = json.loads((folder / "study.json").read_text())["cells"]
    assert [c["status"] for c in cells] == ["done"] * 3
    assert sorted(r.status for r in index.runs()) == ["done"] * 3
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["result.m.score.mean"] == pytest.approx(1.0)


def test_the_ray_engine_without_ray_is_refused_before_any_folder(noisy, tmp_path, monkeypatch,
                                                                  capsys):  # fmt: skip
    monkeypatch.setitem(sys.modules, "ray", None)  # as if nnlab[ray] were not installed
    assert main(["run", noisy.id, "--seeds", "2", "--engine", "ray", "--out", str(tmp_path)]) == 2
    assert 'pip install "nnlab[ray]"' in capsys.readouterr().err
    assert not list(tmp_path.glob("*"))


def test_the_cli_exit_status_counts_the_failed_runs(noisy, tmp_path, capsys):
    out = ["--out", str(tmp_path)]
    code = main(["run", noisy.id, "--scale", "full", "--seeds", "3", "--set", "fail_seed=2", *out])
    assert code == 1
    printed = capsys.readouterr().out
    assert "1 of 3 runs did not finish" in printed and "Study: " in printed
    assert main(["run", noisy.id, "--workers", "2", *out]) == 2  # no study asked for
    assert "--seeds" in capsys.readouterr().err
    assert main(["run", noisy.id, "--seeds", "2", "--seed", "1", *out]) == 2
    assert main(["run", noisy.id, "--seeds", "2", "--gpus-per-run", "0.5", *out]) == 2
    assert "--engine ray" in capsys.readouterr().err
    assert main(["run", noisy.id, "--grid", "gain=1,x", *out]) == 2
    assert "gain=x" in capsys.readouterr().err
    (study,) = tmp_path.glob("*-study")  # refused studies made no folder
    assert main(["runs", *out]) == 0
    assert study.name in capsys.readouterr().out
    assert main(["report", *out]) == 0
    index = (tmp_path / "index.html").read_text()
    assert f'href="{study.name}/report.html"' in index and "held in 1 of 2" in index
