"""`mlp-architectures`: the table's parameter counts and scores, and the smoke run's report."""

import pytest

from nnlab.errors import ConfigError
from nnlab.experiments.mlp_architectures import Config


def test_smoke_run_through_the_cli_reports_the_table_and_curves(smoke_run):
    run_dir, metrics = smoke_run("mlp-architectures")
    assert (run_dir / "tables" / "architectures.csv").is_file()
    assert (run_dir / "figures" / "test_accuracy.png").is_file()
    # smoke MLPs on 8x8 digits: [64, 64], [64] x 3, [32] x 5, counted by hand
    by_hand = {
        "mlp_1": 64 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10,
        "mlp_2": 64 * 64 + 64 + 2 * (64 * 64 + 64) + 64 * 10 + 10,
        "mlp_3": 64 * 32 + 32 + 4 * (32 * 32 + 32) + 32 * 10 + 10,
    }
    for key, count in by_hand.items():
        assert metrics[f"architectures.{key}.parameters"] == count
        assert 0.1 < metrics[f"architectures.{key}.test_acc"] <= 1
        assert metrics[f"architectures.{key}.train_seconds"] > 0
    assert metrics["architectures.mlp_1.test_acc"] > 0.85
    report = (run_dir / "report.md").read_text()
    assert "The hypothesis held at this scale" in report or "did not hold at this scale" in report
    assert "All 3 lie within" in report


def test_settings_are_checked():
    assert Config().widths[2] == (1000,) * 5
    with pytest.raises(ConfigError, match="hidden: '1000y2'"):
        Config(hidden=("1000x2", "1000y2"))
