"""`perceptron-pairs`: the smoke run's report, and the real MNIST pairs where present."""

import pytest

from nnlab.errors import ConfigError
from nnlab.experiments.perceptron_pairs import _pair


def test_pairs_name_classes_and_the_first_is_positive():
    assert _pair("8-3", tuple("0123456789")) == (8, 3)
    for bad in ("8-X", "8", "8-3-1", "3-3", ""):
        with pytest.raises(ConfigError, match="not two different classes.*e.g. --set pairs=0-1"):
            _pair(bad, tuple("0123456789"))
    fashion = ("T-shirt/top", "Trouser", "Pullover")
    assert _pair("T-shirt/top-Trouser", fashion) == (0, 1)
    assert _pair("Pullover-T-shirt/top", fashion) == (2, 0)


def test_smoke_run_reports_curves_weights_and_gaps(smoke_run):
    run_dir, metrics = smoke_run("perceptron-pairs")
    assert (run_dir / "tables" / "pairs.csv").is_file()
    for name in ("mistake_rates", "weights", "generalisation_gap"):
        assert (run_dir / "figures" / f"{name}.png").is_file()
    accs = [v for k, v in metrics.items() if k.startswith("pairs.") and k.endswith(".test_acc")]
    assert len(accs) == 3 and min(accs) > 0.8
    assert metrics["verdict.held"] is (min(accs) >= 0.9)  # every pair learnt well
    assert isinstance(metrics["verdict.matches_sklearn"], bool)
    verdict = (run_dir / "report.md").read_text().split("## What this tests")[0]
    assert ("The perceptron learned every pair" in verdict) is metrics["verdict.held"]
    assert "scikit-learn's Perceptron on the same images is" in verdict


@pytest.mark.data
def test_mnist_one_versus_zero_is_nearly_perfect(smoke_run, require_data):
    require_data("mnist/train-images-idx3-ubyte.gz", "mnist/t10k-images-idx3-ubyte.gz")
    _, metrics = smoke_run("perceptron-pairs", "--dataset", "mnist", "--set", "pairs=1-0,4-9")
    assert metrics["pairs.1_0.test_acc"] > 0.97
    assert metrics["pairs.1_0.test_acc"] > metrics["pairs.4_9.test_acc"]


def test_rgb_photos_of_any_size_give_one_weight_image_per_pair(smoke_run, photo_folder):
    run_dir, metrics = smoke_run(
        "perceptron-pairs", "--dataset", f"folder:{photo_folder}", "--set", "pairs=cat-owl"
    )
    assert (run_dir / "figures" / "weights.png").is_file()
    assert "3 channels' weights summed per pixel" in (run_dir / "report.md").read_text()
