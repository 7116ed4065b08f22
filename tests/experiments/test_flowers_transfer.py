"""`flowers-transfer`: the custom CNN, and both models' curves and test accuracy at smoke scale."""

import json
import os
import subprocess
import sys

import torch

from nnlab.experiments.flowers_transfer import ScratchCNN, _center_crop


def test_the_custom_cnn_has_four_blocks_and_takes_any_size():
    model = ScratchCNN(17, width=32)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128, 256]
    by_hand = sum(9 * c.in_channels * c.out_channels + 2 * c.out_channels for c in convs)
    assert sum(p.numel() for p in model.parameters()) == by_hand + 256 * 17 + 17
    assert model(torch.zeros(2, 3, 96, 80)).shape == (2, 17)


def test_center_crop_takes_the_middle():
    x = torch.arange(36.0).view(1, 1, 6, 6)
    assert torch.equal(_center_crop(x, 2), torch.tensor([[[[14.0, 15.0], [20.0, 21.0]]]]))


def test_smoke_run_through_the_cli_reports_both_models(tmp_path):
    env = {**os.environ, "NNLAB_CACHE": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "nnlab", "run", "flowers-transfer", "--scale", "smoke"]
    done = subprocess.run(
        [*cmd, "--out", str(tmp_path / "runs")], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert (run_dir / "tables" / "test_accuracy.csv").is_file()
    assert (run_dir / "figures" / "learning_curves.png").is_file()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    gap = (
        metrics["test_accuracy.squeezenet1_1.test_acc"]
        - metrics["test_accuracy.custom_cnn.test_acc"]
    )
    assert abs(metrics["verdict.test_acc_gap"] - gap) < 1e-12
    assert metrics["verdict.claim_held"] == (gap > 0)
