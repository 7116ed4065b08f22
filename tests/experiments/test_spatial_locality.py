"""`spatial-locality`: the study's network, the exact MLP control, and the smoke run's report."""

import torch

from nnlab.data import transforms
from nnlab.experiments.spatial_locality import Config, LocalityCNN, _build
from nnlab.models import count_parameters


def test_the_cnn_maps_28_pixels_down_to_one_512_vector():
    cnn = LocalityCNN(10)
    x = torch.zeros(2, 1, 28, 28)
    assert torch.nn.Sequential(*list(cnn)[:-3])(x).shape == (2, 512, 1, 1)
    # conv 1->64 (+BN), 64->128, 128->256, 256->512, all 3x3 with bias, then Linear(512 -> 10)
    by_hand = (9 * 64 + 64) + 2 * 64 + (9 * 64 * 128 + 128) + (9 * 128 * 256 + 256)
    by_hand += (9 * 256 * 512 + 512) + (512 * 10 + 10)
    assert count_parameters(cnn) == by_hand
    assert torch.allclose(cnn(x).exp().sum(1), torch.ones(2))  # log-probabilities


class _Seeds:
    """The slice of `ctx` that `_build` uses."""

    def seed_torch(self, purpose):
        torch.manual_seed(hash(purpose) % 2**31)


def test_the_permuted_mlp_starts_as_the_same_function():
    perm = transforms.pixel_permutation(784, 3)
    x = torch.rand(5, 1, 28, 28)
    original = _build("MLP", Config(), 10, _Seeds(), perm, "original")
    permuted = _build("MLP", Config(), 10, _Seeds(), perm, "permuted")
    assert not torch.equal(original[1].weight, permuted[1].weight)
    same = torch.allclose(original(x), permuted(transforms.permute_pixels(x, perm)), atol=1e-6)
    assert same


def test_smoke_run_through_the_cli_reports_the_comparison(smoke_run):
    run_dir, metrics = smoke_run("spatial-locality")
    for name in ("accuracy.csv",):
        assert (run_dir / "tables" / name).is_file()
    for name in ("learning_curves.png", "original_vs_permuted.png"):
        assert (run_dir / "figures" / name).is_file()
    acc = {k: metrics[f"accuracy.{k}.test_acc"] for k in ("cnn_original", "cnn_permuted")}
    acc |= {k: metrics[f"accuracy.{k}.test_acc"] for k in ("mlp_original", "mlp_permuted")}
    assert acc["cnn_original"] > acc["cnn_permuted"] + 0.02, acc
    assert abs(acc["mlp_original"] - acc["mlp_permuted"]) <= 0.02, acc
    assert acc["cnn_original"] > 0.5, acc  # far above chance (0.1): the CNN did learn
    assert metrics["verdict.held"] is True
    assert metrics["verdict.cnn_gap"] == acc["cnn_original"] - acc["cnn_permuted"]
    assert metrics["verdict.control_equal"] is True
    report = (run_dir / "report.md").read_text()
    assert "**Claim held.** The CNN reached" in report
    assert "smoke-scale run" in report
    html = (run_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2
