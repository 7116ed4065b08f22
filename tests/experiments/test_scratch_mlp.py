"""`scratch-mlp`: the smoke run's report (its data loading is `Context.load_splits`, tested in
test_load_splits.py; its pixels are `kit.pixels.flat_pixels`, tested in test_pixels.py)."""


def test_smoke_run_reports_rates_weights_confusions_and_gradcheck(smoke_run):
    run_dir, metrics = smoke_run("scratch-mlp")
    for name in ("learning_rates", "test", "gradient_check", "confusions"):
        assert (run_dir / "tables" / f"{name}.csv").is_file()
    for name in ("learning_curves", "weights_init", "weights_trained", "confusion"):
        assert (run_dir / "figures" / f"{name}.png").is_file()
    checks = [v for k, v in metrics.items() if k.startswith("gradient_check.") and "max_rel" in k]
    assert len(checks) == 4 and max(checks) < 1e-4  # backprop agrees with finite differences
    assert metrics["test_acc"] > 0.15  # glyphs36 after 8 epochs: far above chance (1/36)
    assert metrics["verdict.held"] is True  # lr x1 is the best of the three
    assert metrics["verdict.gradcheck_passed"] is True
    assert metrics["verdict.max_gradcheck_error"] == max(checks)
    report = (run_dir / "report.md").read_text()
    verdict = report.split("## What this tests")[0]
    assert "> **Claim held.** The study's learning rate was the best of the three" in verdict
    assert "Backprop agrees with finite differences" in verdict
