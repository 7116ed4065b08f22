"""`contrastive`: the study's encoder, and the smoke run's curves, t-SNE and accuracy table."""

import csv
import json

import pytest
import torch

from nnlab.experiments.contrastive import Encoder


def test_the_encoder_is_vgg16_bn_convolutions_and_a_25088_to_z_linear(require_data):
    reference = json.loads(
        (require_data("reference") / "reference" / "torchvision-architectures.json").read_text()
    )
    with torch.device("meta"):
        encoder = Encoder(64)
    ours = {k: list(v.shape) for k, v in encoder.state_dict().items()}
    features = {k: v for k, v in reference["vgg16_bn"]["state_dict"].items() if "features" in k}
    assert {k: v for k, v in ours.items() if k.startswith("features.")} == features
    assert ours["fc.weight"] == [64, 25088]
    assert encoder(torch.zeros(2, 3, 32, 32, device="meta")).shape == (2, 64)


@pytest.mark.parametrize("width", [0.25, 0.0625])
def test_a_narrow_encoder_keeps_the_layer_pattern(width):
    encoder = Encoder(16, width)
    convs = [m.out_channels for m in encoder.features if isinstance(m, torch.nn.Conv2d)]
    assert convs == [max(1, round(c * width)) for c in (64, 64, 128, 128, *[256] * 3, *[512] * 6)]
    assert encoder(torch.zeros(3, 3, 32, 32)).shape == (3, 16)


def test_smoke_run_through_the_cli_reports_every_mode_and_head(smoke_run):
    run_dir, metrics = smoke_run("contrastive")
    for name in ("triplet_loss", "tsne_z16", "finetune_curves"):
        assert (run_dir / "figures" / f"{name}.png").is_file()
    with open(run_dir / "tables" / "accuracy.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["mode"], r["head"]) for r in rows] == [
        ("fine_tune_linear", "linear"),
        ("fine_tune_nn", "linear"),
        ("fine_tune_nn", "mlp"),
    ]
    assert all(f"{s}_{m}" in rows[0] for s in ("train", "val", "test") for m in ("acc", "loss"))
    with open(run_dir / "tables" / "triplet_training.csv") as f:
        (stage,) = csv.DictReader(f)
    # 24 iterations of batches of 128 are 6 passes over the 450 training images (90% of 500)
    assert (int(stage["iterations"]), int(stage["anchors"])) == (24, 6 * 450)
    assert float(stage["final_loss"]) < float(stage["first_loss"])  # the triplet loss fell
    report = (run_dir / "report.md").read_text()
    assert "skipped_anchors" in report and "z = 16: probe" in report
    gap = max(float(r["test_acc"]) for r in rows[1:]) - float(rows[0]["test_acc"])
    assert metrics["verdict.z16_probe_gap"] == pytest.approx(gap, abs=1e-3)
    held = metrics["verdict.z16_probe_gap"] <= 0.05
    assert metrics["verdict.held"] == metrics["verdict.z16_held"] == held


def test_a_tiny_image_folder_runs_and_says_why_it_has_no_tsne(smoke_run, photo_folder):
    """15 photos: 12 to train on, one to validate — too few for t-SNE, which is not an error."""
    run_dir, _ = smoke_run("contrastive", "--dataset", f"folder:{photo_folder}")
    report = (run_dir / "report.md").read_text()
    assert "No t-SNE figure for z = 16: the validation split holds 1 image(s)" in report
    assert not (run_dir / "figures" / "tsne_z16.png").exists()
    assert "folder:" in report and "3 classes" in report
