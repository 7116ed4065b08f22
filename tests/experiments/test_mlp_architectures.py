"""`mlp-architectures`: the table's parameter counts and scores, and the smoke run's report."""

import pytest

from nnlab.errors import ConfigError
from nnlab.experiments.config import resolve
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
    assert metrics["verdict.held"] is (metrics["verdict.depth_gain"] <= Config().tolerance)
    assert metrics["verdict.best_model"] in ("MLP-1", "MLP-2", "MLP-3")
    assert "**Claim held.**" in report or "**Claim did not hold.**" in report
    assert "All 3 lie within" in report


def test_settings_are_checked():
    assert Config().hidden[2] == (1000,) * 5
    cfg = resolve(Config, overrides={"hidden": "1000x2,500-250"})
    assert cfg.hidden == ((1000, 1000), (500, 250))
    with pytest.raises(ConfigError, match="hidden expects an integer, got '1000y2'"):
        resolve(Config, overrides={"hidden": "1000x2,1000y2"})
    with pytest.raises(ConfigError, match="tolerance must be"):
        Config(tolerance=-0.1)
