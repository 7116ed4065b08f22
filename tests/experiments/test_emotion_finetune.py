"""`emotion-finetune`: per-stage learning rates as configured, and the smoke run's report."""

import torch

from nnlab.experiments.emotion_finetune import Config, finetune_optimizer
from nnlab.models import build


def test_each_resnet_stage_gets_its_configured_learning_rate():
    cfg = Config(lr_layer1=1e-5, lr_layer2=5e-5, lr_layer3=1e-4, lr_layer4=5e-4, lr_fc=1e-3)
    with torch.device("meta"):
        model = build("resnet18", num_classes=7)
    optimizer = finetune_optimizer(model, cfg)
    lr_of = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    expected = {"layer1": 1e-5, "layer2": 5e-5, "layer3": 1e-4, "layer4": 5e-4, "fc": 1e-3}
    for name, p in model.named_parameters():
        assert lr_of[id(p)] == expected.get(name.split(".")[0], 1e-5), name  # conv1, bn1: 1e-5
    assert len(lr_of) == len(list(model.parameters()))  # every parameter in exactly one group
    assert all(g["momentum"] == 0.9 for g in optimizer.param_groups)


def test_smoke_run_through_the_cli_reports_both_modes(smoke_run):
    run_dir, metrics = smoke_run("emotion-finetune")
    for name in ("comparison.csv", "per_class.csv"):
        assert (run_dir / "tables" / name).is_file()
    for name in ("confusion_pretrained", "confusion_fine_tuned", "learning_curves"):
        assert (run_dir / "figures" / f"{name}.png").is_file()
    for metric in ("accuracy", "macro_f1", "weighted_f1"):
        a, b = (metrics[f"comparison.{metric}.{m}"] for m in ("pretrained", "fine_tuned"))
        assert abs(metrics[f"comparison.{metric}.relative_improvement"] - (b - a) / a) < 1e-9
    support = sum(v for k, v in metrics.items() if k.startswith("per_class.") and "support" in k)
    assert support == 128  # the smoke scale's test images, every one counted once
    report = (run_dir / "report.md").read_text()
    assert "**Claim held.** Fine-tuning reached" in report or "**Claim did not hold.**" in report
    assert isinstance(metrics["verdict.held"], bool) and "verdict.relative_accuracy_gain" in metrics
    assert "20 BatchNorm layers keep their running statistics" in report
    top = report.split("## What this tests")[0]
    assert "smoke-scale run" in top
    if "random initialisation" in report:  # no weight file here: said at the top, never silent
        assert "No ImageNet weights for resnet18" in top
