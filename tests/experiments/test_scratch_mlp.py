"""`scratch-mlp`: the NIST36 stand-in, pixel conversion, and the smoke run's report."""

import numpy as np
import torch

from nnlab.data import ImageSet
from nnlab.errors import MissingDataError
from nnlab.experiments import scratch_mlp
from nnlab.experiments.scratch_mlp import flat_pixels, load_character_splits


class _Ctx:
    """The slice of `ctx` that `load_character_splits` uses, recording what it was asked."""

    seed = 0

    def __init__(self):
        self.loaded, self.notices = [], []

    def load(self, name, split, *, limit, fallback):
        self.loaded.append((name, split, limit, fallback))
        return name

    def notice(self, text):
        self.notices.append(text)


def test_missing_nist36_is_replaced_by_hand36_once_with_a_notice(monkeypatch):
    def absent(name, *args, **kwargs):
        raise MissingDataError(f"{name} is not here")

    monkeypatch.setattr(scratch_mlp.data, "load", absent)
    ctx = _Ctx()
    sets = load_character_splits(ctx, "nist36", {"train": 10, "test": 5})
    assert sets == {"train": "hand36", "test": "hand36"}
    assert ctx.loaded == [("hand36", "train", 10, "glyphs36"), ("hand36", "test", 5, "glyphs36")]
    assert len(ctx.notices) == 1 and "hand36 instead" in ctx.notices[0]
    other = _Ctx()
    load_character_splits(other, "glyphs36", {"train": None})
    assert other.loaded == [("glyphs36", "train", None, "glyphs36")] and not other.notices


def test_flat_pixels_scales_to_unit_range_in_pixel_order():
    x = torch.arange(2 * 3 * 4, dtype=torch.uint8).reshape(2, 1, 3, 4) * 10
    images = ImageSet(x, torch.tensor([1, 0]), ("a", "b"), "tiny")
    X, y = flat_pixels(images, "float32")
    assert X.dtype == np.float32 and X.shape == (2, 12)
    np.testing.assert_allclose(X[1], np.arange(12, 24) * 10 / 255, rtol=1e-6)
    np.testing.assert_array_equal(y, [1, 0])


def test_smoke_run_reports_rates_weights_confusions_and_gradcheck(smoke_run):
    run_dir, metrics = smoke_run("scratch-mlp")
    for name in ("learning_rates", "test", "gradient_check", "confusions"):
        assert (run_dir / "tables" / f"{name}.csv").is_file()
    for name in ("learning_curves", "weights_init", "weights_trained", "confusion"):
        assert (run_dir / "figures" / f"{name}.png").is_file()
    checks = [v for k, v in metrics.items() if k.startswith("gradient_check.") and "max_rel" in k]
    assert len(checks) == 4 and max(checks) < 1e-4  # backprop agrees with finite differences
    assert metrics["test_acc"] > 0.15  # glyphs36 after 8 epochs: far above chance (1/36)
    assert metrics["verdict.gradcheck_passed"] is True
    report = (run_dir / "report.md").read_text()
    assert "Backprop agrees with finite differences" in report
    assert "learning rate was" in report
