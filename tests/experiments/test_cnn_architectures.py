"""`cnn-architectures`: the CNN table, the MLP-vs-CNN tables and chart, from the smoke run."""

import csv

import pytest

from nnlab.errors import ConfigError
from nnlab.experiments.cnn_architectures import Config
from nnlab.experiments.config import resolve


def test_smoke_run_through_the_cli_compares_cnns_with_mlps(smoke_run):
    run_dir, metrics = smoke_run("cnn-architectures")
    for name in ("cnns", "mlp_vs_cnn", "families"):
        assert (run_dir / "tables" / f"{name}.csv").is_file()
    for name in ("test_accuracy", "bubbles"):
        assert (run_dir / "figures" / f"{name}.png").is_file()
    # smoke CNN-1: 8 and 16 channels on 8x8 digits, 8 -> 8 -> 4, then a dense layer
    assert metrics["cnns.cnn_1.parameters"] == (9 * 8 + 8) + (9 * 8 * 16 + 16) + (16 * 16 * 10 + 10)
    for model in ("cnn_1", "cnn_2", "mlp_1"):
        row = f"mlp_vs_cnn.{model}"
        per_mparam = metrics[f"{row}.epoch_seconds"] / (metrics[f"{row}.parameters"] / 1e6)
        assert metrics[f"{row}.epoch_seconds_per_mparam"] == pytest.approx(per_mparam)
    best_cnn = max(metrics["cnns.cnn_1.test_acc"], metrics["cnns.cnn_2.test_acc"])
    assert metrics["families.cnn.best_test_acc"] == best_cnn
    assert metrics["families.mlp.models"] == 1
    report = (run_dir / "report.md").read_text()
    assert metrics["verdict.held"] is False or metrics["verdict.best_gap"] > 0
    assert metrics["verdict.best_gap"] == pytest.approx(
        metrics["families.cnn.best_test_acc"] - metrics["families.mlp.best_test_acc"]
    )
    assert ".** The best CNN reached" in report


def test_non_square_photos_size_each_cnn_by_height_and_width(smoke_run, photo_folder):
    run_dir, _ = smoke_run("cnn-architectures", "--dataset", f"folder:{photo_folder}")
    with open(run_dir / "tables" / "cnns.csv") as f:
        first = next(csv.DictReader(f))
    # smoke CNN-1 (8, 16) on 3×40×50: convolutions 3·8·9 + 8 and 8·16·9 + 16, then the
    # 16 × 20 × 25 map (stride 2: ceil of half of each side) densely to 3 classes
    assert int(first["parameters"]) == 224 + 1168 + 16 * 20 * 25 * 3 + 3


def test_width_settings_are_tuples_spelt_as_on_the_command_line():
    cfg = resolve(Config, overrides={"cnns": "8-16,128x3", "mlps": ""})
    assert cfg.cnns == ((8, 16), (128, 128, 128)) and cfg.mlps == ()
    assert Config().cnns[2] == (128, 128, 128)
    with pytest.raises(ConfigError, match="at least one CNN"):
        Config(cnns=())
    with pytest.raises(ConfigError, match="cnns must be > 0"):
        Config(cnns=((8, 0),))
