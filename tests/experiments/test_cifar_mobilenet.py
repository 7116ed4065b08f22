"""`cifar-mobilenet`: curves, test loss and accuracy of the smoke run through the CLI."""

import csv
import json
import os
import subprocess
import sys


def test_smoke_run_through_the_cli_reports_curves_and_test_results(tmp_path):
    env = {**os.environ, "NNLAB_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "nnlab", "run", "cifar-mobilenet", "--scale", "smoke"]
    done = subprocess.run(
        [*cmd, "--out", str(tmp_path / "runs")], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert (run_dir / "figures" / "learning_curves.png").is_file()
    with open(run_dir / "tables" / "result.csv") as f:
        (row,) = csv.DictReader(f)
    assert row["model"] == "mobilenet_v2" and row["epochs"] == "2"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0 <= metrics["result.mobilenet_v2.test_acc"] <= 1
    assert metrics["verdict.claim_held"] == (metrics["result.mobilenet_v2.test_acc"] >= 0.9)
    report = (run_dir / "report.md").read_text()
    assert "after 2 epochs of fine-tuning the test accuracy is" in report
