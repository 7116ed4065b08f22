"""`cnn-visualization`: filters, activation maps and deep dreams from the smoke run."""

import pytest

from nnlab.errors import ConfigError
from nnlab.experiments.cnn_visualization import Config
from nnlab.experiments.config import resolve


def test_smoke_run_through_the_cli_dreams_images_the_cnn_calls_the_target(smoke_run):
    run_dir, metrics = smoke_run("cnn-visualization")
    for name in ("model", "dreams"):
        assert (run_dir / "tables" / f"{name}.csv").is_file()
    figures = {p.stem for p in (run_dir / "figures").iterdir()}
    assert figures == {
        "filters_conv1",
        "filters_conv2",
        "activations_conv1",
        "activations_conv2",
        "deep_dream",
    }
    probabilities = [v for k, v in metrics.items() if k.endswith(".probability")]
    assert len(probabilities) == 4  # classes 2 and 9, each from noise and from a real digit
    assert min(probabilities) == metrics["verdict.lowest_probability"] > 0.9
    assert metrics["verdict.held"] is True
    assert metrics["model.cnn_8_16.test_acc"] > 0.85


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="two classes"):
        Config(digits=("2",))
    with pytest.raises(ConfigError, match="dream_penalty must be one of 'tv', 'l2'"):
        resolve(Config, overrides={"dream_penalty": "l1"})
    with pytest.raises(ConfigError, match="threshold must be in"):
        Config(threshold=1.0)
    assert resolve(Config, overrides={"channels": "16x2-32"}).channels == (16, 16, 32)
