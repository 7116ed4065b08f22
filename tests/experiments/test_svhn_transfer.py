"""`svhn-transfer`: the smoke run's table, chart and verdict through the CLI."""

import csv


def test_smoke_run_through_the_cli_compares_frozen_models_with_lenet(smoke_run):
    run_dir, metrics = smoke_run("svhn-transfer")
    assert (run_dir / "figures" / "validation_accuracy.png").is_file()
    with open(run_dir / "tables" / "validation_accuracy.csv") as f:
        rows = {r["model"]: r for r in csv.DictReader(f)}
    assert list(rows) == ["alexnet", "resnet18", "lenet5"]
    for row in rows.values():
        assert row["final"] == row["epoch_2"]  # two epochs at smoke scale
        assert float(row["seconds"]) > 0
    # only the new head trains on a frozen backbone: 512 * 10 + 10 for ResNet-18's fc
    assert int(rows["resnet18"]["trained_parameters"]) == 5130
    assert int(rows["alexnet"]["trained_parameters"]) == 4096 * 10 + 10
    assert rows["lenet5"]["trained_parameters"] == rows["lenet5"]["parameters"] == "62006"
    assert metrics["validation_accuracy.lenet5.final"] > 0.3  # LeNet learns digits (chance 0.1)
    report = (run_dir / "report.md").read_text()
    assert "LeNet-5 trained from scratch" in report
    best = max(("alexnet", "resnet18"), key=lambda m: float(rows[m]["final"]))
    assert metrics["verdict.best_frozen_model"] == best
    lenet = float(rows["lenet5"]["final"])
    assert metrics["verdict.held"] == (float(rows[best]["final"]) >= lenet)
