"""`mlp-lr-search`: the grid, the retrained best rate, and the smoke run's report."""

import pytest

from nnlab.errors import ConfigError
from nnlab.experiments.config import resolve
from nnlab.experiments.mlp_lr_search import Config


def test_smoke_run_through_the_cli_searches_retrains_and_tests(smoke_run):
    run_dir, metrics = smoke_run("mlp-lr-search")
    for name in ("search", "test"):
        assert (run_dir / "tables" / f"{name}.csv").is_file()
    assert (run_dir / "figures" / "search_curves.png").is_file()
    val = {lr: metrics[f"search.{lr}.val_acc"] for lr in ("0_001", "0_01", "0_1")}
    best = max(val, key=val.get)
    assert metrics["best_lr"] == float(best.replace("_", "."))  # the highest validation accuracy
    assert metrics[f"test.{best}.test_acc"] == metrics["test_acc"] > 0.8
    # smoke: 64 -> 64 -> 32 -> 10 on the embedded 8x8 digits
    assert metrics[f"test.{best}.parameters"] == 64 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10
    report = (run_dir / "report.md").read_text()
    assert metrics["verdict.held"] is (metrics["best_lr"] < 0.1)
    assert f"The best learning rate on the validation split was {metrics['best_lr']:g}" in report


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="lrs must be > 0"):
        Config(lrs=(0.1, 0.0))
    with pytest.raises(ConfigError, match="at least one learning rate"):
        Config(lrs=())
    with pytest.raises(ConfigError, match="val_fraction must be in"):
        Config(val_fraction=1.0)
    with pytest.raises(ConfigError, match="hidden"):
        resolve(Config, overrides={"hidden": "256x"})
    assert resolve(Config, overrides={"hidden": "256x2-128"}).hidden == (256, 256, 128)
