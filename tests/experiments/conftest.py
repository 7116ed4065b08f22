"""`smoke_run`: an experiment run at smoke scale through the real CLI, in a fresh process;
`photo_folder`: a user's own small image folder."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _smoke(folder: Path, experiment: str, *args: str) -> tuple[Path, dict]:
    """Run `python -m nnlab run EXPERIMENT --scale smoke *ARGS --out FOLDER/runs` with its own
    tensor cache; check it exits 0 and prints its report's path; (run folder, metrics)."""
    env = {**os.environ, "NNLAB_CACHE": str(folder / "cache")}
    runs = folder / "runs"
    cmd = [sys.executable, "-m", "nnlab", "run", experiment, "--scale", "smoke", *args]
    done = subprocess.run([*cmd, "--out", str(runs)], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    assert f"Report: {run_dir / 'report.html'}" in done.stdout
    return run_dir, json.loads((run_dir / "metrics.json").read_text())


@pytest.fixture(scope="session")
def plain_smoke_runs(tmp_path_factory):
    """A function `plain_smoke_runs(experiment) -> (run_dir, metrics)`: the experiment's default
    smoke run, made once per test session and shared by every test that reads it."""
    made: dict[str, tuple[Path, dict]] = {}

    def run(experiment: str) -> tuple[Path, dict]:
        if experiment not in made:
            made[experiment] = _smoke(tmp_path_factory.mktemp(f"smoke-{experiment}"), experiment)
        return made[experiment]

    return run


@pytest.fixture
def smoke_run(tmp_path, plain_smoke_runs):
    """A function `smoke_run(experiment, *args) -> (run_dir, metrics)`.

    Runs `python -m nnlab run EXPERIMENT --scale smoke *ARGS` in a fresh process (see `_smoke`)
    and returns the run folder and its parsed metrics.json. Without ARGS it is the session's
    shared run of that experiment: read it, do not change it.
    """

    def run(experiment: str, *args: str) -> tuple[Path, dict]:
        return _smoke(tmp_path, experiment, *args) if args else plain_smoke_runs(experiment)

    return run


@pytest.fixture
def photo_folder(tmp_path) -> Path:
    """PATH/<class>/<image>.jpg: 3 classes (cat, dog, owl) × 5 noise photos of 40×50 RGB, the
    kind of small, non-square set a user points `--dataset folder:PATH` at."""
    rng = np.random.default_rng(0)
    for name in ("cat", "dog", "owl"):
        (tmp_path / "photos" / name).mkdir(parents=True)
        for i in range(5):
            pixels = rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "photos" / name / f"{i}.jpg")
    return tmp_path / "photos"
