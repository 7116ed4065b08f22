"""`smoke_run`: an experiment run at smoke scale through the real CLI, in a fresh process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def smoke_run(tmp_path):
    """A function `smoke_run(experiment, *args) -> (run_dir, metrics)`.

    Runs `python -m nnlab run EXPERIMENT --scale smoke *ARGS --out TMP/runs` with its own tensor
    cache, checks it exits 0 and prints its report's path, and returns the run folder and its
    parsed metrics.json.
    """

    def run(experiment: str, *args: str) -> tuple[Path, dict]:
        env = {**os.environ, "NNLAB_CACHE": str(tmp_path / "cache")}
        runs = tmp_path / "runs"
        cmd = [sys.executable, "-m", "nnlab", "run", experiment, "--scale", "smoke", *args]
        done = subprocess.run([*cmd, "--out", str(runs)], capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
        assert f"Report: {run_dir / 'report.html'}" in done.stdout
        return run_dir, json.loads((run_dir / "metrics.json").read_text())

    return run
