"""`softmax-regression`: the binary relabelling, loss noise, and the smoke run's report."""

import numpy as np

from nnlab.experiments.softmax_regression import _loss_noise, _only


def test_binary_problem_keeps_two_classes_and_labels_the_second_one():
    X = np.arange(12.0).reshape(6, 2)
    y = np.array([0, 3, 1, 3, 0, 2])
    Xp, yp = _only((3, 0), X, y)
    np.testing.assert_array_equal(Xp, X[[0, 1, 3, 4]])
    np.testing.assert_array_equal(yp, [1, 0, 0, 1])  # 1 = pair[1] (class 0)


def test_loss_noise_is_the_spread_of_the_last_quarter():
    history = [{"train_loss": v} for v in [9.0, 9.0, 9.0, 9.0, 9.0, 9.0, 1.0, 3.0]]
    assert _loss_noise(history) == np.std([1.0, 3.0])


def test_smoke_run_reports_every_setting_and_both_models(smoke_run):
    run_dir, metrics = smoke_run("softmax-regression")
    assert (run_dir / "tables" / "settings.csv").is_file()
    for name in ("curves_softmax", "curves_binary"):
        assert (run_dir / "figures" / f"{name}.png").is_file()
    rows = (run_dir / "tables" / "settings.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 4  # header + 2 models x batch {256, 4096} x clip {5, off}
    assert metrics["softmax.best_val_acc"] > 0.3  # glyphs A-J: chance is 0.1
    assert metrics["binary.best_val_acc"] > 0.7
    # the claim (the larger batch's smoother curve) is the verdict; the rest are its numbers
    assert metrics["verdict.held"] is True
    assert metrics["verdict.softmax_above_chance"] is True
    assert metrics["verdict.binary_above_chance"] is True
    verdict = (run_dir / "report.md").read_text().split("## What this tests")[0]
    assert "> **Claim held.** The larger batch gave the smoother loss curve in 4 of 4" in verdict
    assert "softmax regression learned well above chance" in verdict
