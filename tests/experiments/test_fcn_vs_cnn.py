"""`fcn-vs-cnn`: curves and table from the smoke run; hand36 standing in for NIST36."""

import pytest

from nnlab.experiments import run_experiment


def test_smoke_run_through_the_cli_shows_the_cnn_ahead(smoke_run):
    run_dir, metrics = smoke_run("fcn-vs-cnn")
    assert (run_dir / "tables" / "final.csv").is_file()
    assert (run_dir / "figures" / "curves.png").is_file()
    assert metrics["final.fcn.parameters"] == 1024 * 64 + 64 + 64 * 36 + 36
    assert metrics["final.cnn.parameters"] == 9 * 16 + 16 + 9 * 16 * 32 + 32 + 32 * 8 * 8 * 36 + 36
    assert metrics["final.cnn.test_acc"] > metrics["final.fcn.test_acc"] + 0.1
    report = (run_dir / "report.md").read_text()
    assert metrics["verdict.held"] is True
    assert metrics["verdict.gap"] == pytest.approx(
        metrics["final.cnn.test_acc"] - metrics["final.fcn.test_acc"]
    )
    assert "**Claim held.** After 3 epochs the CNN scored" in report


@pytest.mark.data
def test_missing_nist36_is_replaced_by_hand36_and_said_at_the_top(tmp_path, require_data):
    root = require_data("mnist", "emnist")
    if (root / "nist36").exists():
        pytest.skip("NIST36 is present: no substitute to test")
    overrides = {"epochs": 1, "train_limit": 720, "valid_limit": 360, "test_limit": 360}
    ctx = run_experiment(
        "fcn-vs-cnn",
        scale="smoke",
        overrides={**overrides, "dataset": "nist36"},
        runs_dir=tmp_path,
    )
    top = (ctx.run.path / "report.md").read_text().split("## What this tests")[0]
    assert "nist36 is not in the data folder" in top and "uses `hand36` instead" in top
    assert "Data: hand36, 720 training" in (ctx.run.path / "report.md").read_text()


def test_a_folder_without_a_valid_split_gets_one_held_out_of_train(smoke_run, photo_folder):
    """15 photos: 3 to test (the folder's 80/20), then 2 of the other 12 (20%, one per class
    for two of the three) held out to validate, 10 left to train on."""
    run_dir, _ = smoke_run("fcn-vs-cnn", "--dataset", f"folder:{photo_folder}")
    report = (run_dir / "report.md").read_text()
    assert "2 of its 12 training images (20%, stratified by class) are held out" in report
    assert "10 training, 2 validation and 3 test images" in report
