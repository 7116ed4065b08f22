"""`cifar-mobilenet`: curves, test loss and accuracy of the smoke run through the CLI."""

import csv


def test_smoke_run_through_the_cli_reports_curves_and_test_results(smoke_run):
    run_dir, metrics = smoke_run("cifar-mobilenet")
    assert (run_dir / "figures" / "learning_curves.png").is_file()
    with open(run_dir / "tables" / "result.csv") as f:
        (row,) = csv.DictReader(f)
    assert row["model"] == "mobilenet_v2" and row["epochs"] == "2"
    assert 0 <= metrics["result.mobilenet_v2.test_acc"] <= 1
    assert metrics["verdict.held"] == (metrics["result.mobilenet_v2.test_acc"] >= 0.9)
    report = (run_dir / "report.md").read_text()
    assert "After 2 epochs of fine-tuning the test accuracy is" in report
