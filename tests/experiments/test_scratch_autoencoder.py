"""`scratch-autoencoder`: PSNR by hand, and the smoke run's report."""

import numpy as np
import pytest

from nnlab.experiments.scratch_autoencoder import _psnr


def test_psnr_by_hand():
    x = np.zeros((2, 100))
    x_hat = np.stack([np.full(100, 0.1), np.full(100, 0.01)])  # MSE 1e-2 and 1e-4
    np.testing.assert_allclose(_psnr(x, x_hat), [20.0, 40.0])
    assert _psnr(x, x)[0] == pytest.approx(120.0)  # a perfect copy: capped, not infinite


def test_smoke_run_reports_loss_reconstructions_and_psnr(smoke_run):
    run_dir, metrics = smoke_run("scratch-autoencoder")
    assert (run_dir / "tables" / "psnr.csv").is_file()
    for name in ("loss_curve", "reconstructions"):
        assert (run_dir / "figures" / f"{name}.png").is_file()
    ours = metrics["psnr.autoencoder.mean_psnr_db"]
    baseline = metrics["psnr.mean_training_image.mean_psnr_db"]
    assert ours == metrics["mean_psnr_db"] and ours > baseline + 1.0
    assert metrics["verdict.held"] is True
    verdict = (run_dir / "report.md").read_text().split("## What this tests")[0]
    assert "> **Claim held.** The autoencoder learned to reconstruct" in verdict
