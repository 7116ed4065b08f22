"""`pca-separability`: the smoke run's report, and the claim on real MNIST."""

import numpy as np
import pytest

from nnlab.experiments import run_experiment


def test_smoke_run_through_the_cli_reports_every_table_and_figure(smoke_run):
    run_dir, metrics = smoke_run("pca-separability")
    for name in ("classes", "pairs", "extremes"):
        assert (run_dir / "tables" / f"{name}.csv").is_file()
    for name in ("scatter", "ellipses", "pair_accuracy"):
        assert (run_dir / "figures" / f"{name}.png").is_file()
    pairs = {k: v for k, v in metrics.items() if k.startswith("pairs.") and k.endswith(".accuracy")}
    assert len(pairs) == 45  # every digit pair once
    assert metrics["pairs.mean_accuracy"] == pytest.approx(np.mean(list(pairs.values())))
    # the 1,438 embedded training digits, each counted in its class once
    assert sum(v for k, v in metrics.items() if k.startswith("classes.") and k.endswith(".n")) == (
        1438
    )
    report = (run_dir / "report.md").read_text()
    top = report.split("## What this tests")[0]
    assert "A line in the 2-D PCA plane separates 0/1 at" in top  # the verdict's sentence
    assert metrics["verdict.gap"] == pytest.approx(
        metrics["pairs.0_1.accuracy"] - metrics["pairs.3_5.accuracy"]
    )
    assert metrics["verdict.held"] is (metrics["verdict.gap"] >= 0.10)
    assert "smoke-scale run" in top


@pytest.mark.data
def test_quick_scale_on_mnist_shows_0_1_far_more_separable_than_3_5(tmp_path, require_data):
    require_data("mnist/train-images-idx3-ubyte.gz", "mnist/train-labels-idx1-ubyte.gz")
    ctx = run_experiment("pca-separability", scale="quick", runs_dir=tmp_path)
    metrics = ctx.run.metrics
    assert metrics["pairs.0_1.accuracy"] > 0.98
    assert metrics["pairs.0_1.accuracy"] - metrics["pairs.3_5.accuracy"] > 0.15
    assert metrics["verdict.held"] is True
    assert 0.15 < metrics["pca.explained.pc1"] + metrics["pca.explained.pc2"] < 0.2
