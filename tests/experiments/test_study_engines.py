"""The engines on a real experiment: a study's runs on 2 spawned workers, and as Ray tasks, give
the numbers of the same runs started one by one."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from nnlab.experiments import run_experiment
from nnlab.experiments.study import EngineChoice, run_study
from nnlab.experiments.study.engines import usable_cores
from nnlab.runs import RunIndex
from nnlab.train import thread_limit

EXPERIMENT = "mlp-lr-search"
SEEDS = (0, 1)


def _numbers(metrics: dict) -> dict:
    """A run's metrics without its timings (which no two runs share)."""
    return {k: v for k, v in metrics.items() if "seconds" not in k}


def _cell_metrics(study: os.PathLike) -> dict[int, dict]:
    """seed -> the metrics of the study's run of that seed."""
    state = json.loads((study / "study.json").read_text())
    assert [c["status"] for c in state["cells"]] == ["done"] * len(SEEDS)
    return {
        c["seed"]: _numbers(json.loads((study.parent / c["run"] / "metrics.json").read_text()))
        for c in state["cells"]
    }


@pytest.fixture(scope="module")
def one_by_one(tmp_path_factory) -> dict[int, dict]:
    """seed -> metrics of the smoke run started alone, with 1 thread."""
    runs = tmp_path_factory.mktemp("one-by-one")
    with thread_limit(1):
        return {
            seed: _numbers(
                run_experiment(
                    EXPERIMENT, scale="smoke", overrides={"seed": seed}, runs_dir=runs
                ).run.metrics  # fmt: skip
            )
            for seed in SEEDS
        }


def _same(got: dict, want: dict, threads: int) -> None:
    """Bit-identical with the same thread count (the promise); within float noise otherwise."""
    if threads == 1:
        assert got == want
    else:
        assert got == pytest.approx(want, rel=1e-5)


def test_two_local_workers_give_the_runs_started_one_by_one(one_by_one, tmp_path):
    env = {**os.environ, "NNLAB_CACHE": str(tmp_path / "cache")}
    seeds = ",".join(map(str, SEEDS))
    cmd = [sys.executable, "-m", "nnlab", "run", EXPERIMENT, "--scale", "smoke",
           "--seeds", seeds, "--workers", "2", "--out", str(tmp_path)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    (study,) = tmp_path.glob("*-study")
    assert f"Study: {study / 'report.html'}" in done.stdout
    state = json.loads((study / "study.json").read_text())
    assert state["engine"] == {"name": "local", "slots": 2, "threads": max(1, usable_cores() // 2)}
    got = _cell_metrics(study)
    for seed in SEEDS:
        _same(got[seed], one_by_one[seed], state["engine"]["threads"])
    index = RunIndex(tmp_path / "index.sqlite")
    assert sorted(r.status for r in index.runs()) == ["done", "done"]
    metrics = json.loads((study / "metrics.json").read_text())
    accs = [one_by_one[s]["test_acc"] for s in SEEDS]
    assert metrics["test_acc.mean"] == pytest.approx(sum(accs) / 2)
    assert metrics["verdict.held.n"] == 2
    assert (study / "figures" / "curves-final.png").stat().st_size > 1000


def test_a_ray_study_on_a_local_instance_gives_the_same_runs(one_by_one, tmp_path):
    ray = pytest.importorskip("ray", reason='the Ray engine needs pip install "nnlab[ray]"')
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        outcome = run_study(
            EXPERIMENT,
            scale="smoke",
            seeds=SEEDS,
            engine=EngineChoice(name="ray", cpus=1),
            runs_dir=tmp_path,
        )
    finally:
        ray.shutdown()
    assert outcome.failed == 0 and outcome.state["engine"]["name"] == "ray"
    assert outcome.state["engine"]["slots"] == 2
    got = _cell_metrics(outcome.path)
    for seed in SEEDS:
        assert got[seed] == one_by_one[seed]  # 1 thread each, as Ray's 1 CPU per run
    pids = {json.loads((tmp_path / c["run"] / "run.json").read_text())["pid"]
            for c in outcome.state["cells"]}  # fmt: skip
    assert os.getpid() not in pids  # the runs ran in Ray's worker processes


def test_a_killed_worker_is_replaced_and_its_run_resumed(one_by_one, tmp_path):
    env = {**os.environ, "NNLAB_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "nnlab", "run", EXPERIMENT, "--scale", "smoke",
           "--seeds", "0,1", "--workers", "2", "--out", str(tmp_path)]  # fmt: skip
    driver = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and time.monotonic() < deadline and driver.poll() is None:
        for info_file in tmp_path.glob(f"*-{EXPERIMENT}/run.json"):
            info = json.loads(info_file.read_text())
            if info["status"] == "running" and info["pid"] != driver.pid:
                os.kill(info["pid"], signal.SIGKILL)  # a worker dies in the middle of a run
                killed = info_file.parent.name
                break
        time.sleep(0.02)
    out, err = driver.communicate(timeout=300)
    assert killed is not None, "no run was caught running"
    assert driver.returncode == 0, err.decode()
    (study,) = tmp_path.glob("*-study")
    cells = json.loads((study / "study.json").read_text())["cells"]
    assert max(c["attempts"] for c in cells) == 2  # tried again in a fresh pool
    state = json.loads((study / "study.json").read_text())
    got = _cell_metrics(study)
    for seed in SEEDS:  # the resumed run reaches the numbers of an uninterrupted one
        _same(got[seed], one_by_one[seed], state["engine"]["threads"])
