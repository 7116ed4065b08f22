"""`svhn-transfer`: frozen ImageNet backbones with a new linear head on house-number digits.

The study freezes five ImageNet classifiers (AlexNet, VGG-16, ResNet-18/50/101), replaces their
last layer by Linear(· → 10) and trains only that on SVHN (Adam, lr 1e-3, 5 epochs, batch 64,
images resized to 224 and normalised with mean 0.5 and std 0.5), beside a LeNet-5 trained from
scratch on the 32×32 digits. It reports the validation accuracy of each model per epoch, their
sizes and training times. Question: do features learned on ImageNet photos serve digits, and
do they beat a small network trained for the task?

Choices the study leaves open, made here and exposed as settings:
- the 75/25 train/validation split is a stratified split of SVHN's `train` split (seeded by the
  run's seed); SVHN's `test` split is not used, as in the study;
- "the last layer" is torchvision's: `fc` of the ResNets, `classifier.6` of AlexNet and VGG-16,
  so the frozen part includes their fully connected hidden layers (with dropout off);
- the frozen backbone is run in eval mode once per image (`cache_features`), since nothing is
  augmented; its time counts in the model's time;
- LeNet-5 (ReLU, max-pooling) sees the digits at 32×32 with the same normalisation, optimiser,
  epochs and batch size;
- "time per model" is feature extraction plus training, evaluations excluded;
- the comparison is answered by the best final validation accuracy of the frozen models against
  LeNet-5's.

Measured here. Smoke (embedded digits) only checks the machinery. Quick (64 px, 4,000 images
split 3,000/1,000) had neither SVHN nor ImageNet weights on this machine: MNIST stood in for
SVHN and the backbones were random. Final validation accuracy: AlexNet 14.8%, VGG-16 57.9%,
ResNet-18 57.8%, ResNet-50 21.0%, ResNet-101 10.0% (a random deep ResNet's features explode in
scale), LeNet-5 95.7%. Full scale needs SVHN, the weights and a GPU.

Measured on 2026-12-07 at quick scale (`nnlab run svhn-transfer`, seed 0) on an AMD EPYC with 2
cores (AVX2 only, no native bf16), on the CPU with torch 2.13: the claim did not hold. The best
frozen model, vgg16, reached 57.9% validation accuracy after 5 epochs; LeNet-5 trained from scratch
95.7%. The frozen backbones started from random initialisation (ImageNet weights missing), so this
measures random features, not ImageNet's.
"""

from dataclasses import dataclass
from typing import Annotated

import torch

from nnlab.analysis.plots import learning_curves
from nnlab.data import split
from nnlab.errors import ConfigError
from nnlab.experiments.kit import (
    Context,
    ExperimentConfig,
    PositiveFloat,
    PositiveInt,
    Range,
    experiment,
)
from nnlab.experiments.kit.transfer import image_transform
from nnlab.models import build, count_parameters
from nnlab.models.starting import check_weights_setting, start_model
from nnlab.models.weights import PRETRAINED
from nnlab.train import make_optimizer
from nnlab.train.probe import LinearProbe

BASELINE = "lenet5"
LENET_SIZE = 32
#: the study's normalisation: (x - 0.5) / 0.5 per channel, i.e. [0, 1] -> [-1, 1]
HALF = (0.5, 0.5, 0.5)


@dataclass
class Config(ExperimentConfig):
    """Settings of `svhn-transfer`; the defaults are the study's (full scale)."""

    dataset: str = "svhn"
    #: the set used below full scale when `dataset` is absent
    substitute: str = "mnist"
    #: imagenet, none, a .pth file, or run:<id>[/<checkpoint>] (for each frozen model)
    weights: str = "imagenet"
    models: tuple[str, ...] = ("alexnet", "vgg16", "resnet18", "resnet50", "resnet101")
    #: train LeNet-5 from scratch as the baseline
    baseline: bool = True
    image_size: PositiveInt = 224
    val_fraction: Annotated[float, Range(0, 1, closed="neither")] = 0.25
    epochs: PositiveInt = 5
    batch_size: PositiveInt = 64
    lr: PositiveFloat = 1e-3
    #: at most this many images of the training split (before the split); None = all
    train_limit: PositiveInt | None = None
    cache_features: bool = True

    def __post_init__(self):
        super().__post_init__()
        unknown = [m for m in self.models if m not in PRETRAINED]
        if unknown:
            raise ConfigError(
                f"models: {', '.join(unknown)} have no ImageNet weights; choose among "
                f"{', '.join(PRETRAINED)}."
            )
        check_weights_setting(self.weights)


SCALES = {
    "smoke": {
        "dataset": "digits",
        "models": ("alexnet", "resnet18"),
        "image_size": 64,
        "epochs": 2,
        "train_limit": 400,
    },
    "quick": {"image_size": 64, "train_limit": 4000},
}


@experiment(
    "svhn-transfer",
    title="SVHN transfer: frozen ImageNet backbones against LeNet-5 from scratch",
    summary="AlexNet, VGG-16, ResNet-18/50/101 frozen + linear head vs LeNet-5 on SVHN",
    study="C",
    claim="Frozen ImageNet features serve digits: the best frozen backbone with a new linear "
    "head reaches at least the validation accuracy of LeNet-5 trained from scratch.",
    description=(
        "Five ImageNet classifiers (AlexNet, VGG-16, ResNet-18, ResNet-50, ResNet-101) keep "
        "their weights frozen; only a new final Linear(· → 10) is trained on SVHN digits "
        "(Adam, lr 1e-3, 5 epochs, batch 64; images resized to 224, mean 0.5, std 0.5; a "
        "75/25 train/validation split). LeNet-5 trained from scratch on the 32×32 digits, with "
        "the same optimiser and epochs, is the baseline."
    ),
    scales=SCALES,
)
def run(cfg: Config, ctx: Context) -> None:
    """Train a head on each frozen backbone and LeNet-5 from scratch; compare per epoch."""
    limits = {"train": cfg.train_limit}
    whole = ctx.load_splits(cfg.dataset, limits, fallback=cfg.substitute)["train"]
    train, val = split(
        whole, (1 - cfg.val_fraction, cfg.val_fraction), seed=cfg.seed, names=("train", "val")
    )
    ctx.describe_data(
        {"train": train, "valid": val},
        f"a stratified {1 - cfg.val_fraction:.0%}/{cfg.val_fraction:.0%} split of its training "
        f"split; inputs {cfg.image_size}×{cfg.image_size} for the frozen models, "
        f"{LENET_SIZE}×{LENET_SIZE} for LeNet-5, normalised to [-1, 1]",
    )
    histories, rows = {}, []
    fit_settings = {"epochs": cfg.epochs, "batch_size": cfg.batch_size}
    for arch in cfg.models:
        start = start_model(ctx, arch, len(whole.classes), cfg.weights)
        probe = LinearProbe(
            start.model,
            transform=image_transform(cfg.image_size, HALF, HALF),
            device=ctx.device,
            cache=cfg.cache_features,
        )
        head = probe.trainable
        trainable = [p for p in head.parameters() if p.requires_grad]
        history = ctx.fit(
            arch,
            head,
            probe.inputs(train),
            probe.inputs(val),
            optimizer=make_optimizer(torch.optim.Adam, trainable, lr=cfg.lr),
            transform=probe.transform,
            **fit_settings,
        )
        seconds = history[-1]["seconds"] + probe.feature_seconds
        histories[arch] = history
        rows.append(
            _row(arch, history, start.model, probe.frozen.trainable_parameters, seconds)
            | {"start": start.description}
        )
        ctx.say(f"{arch}: validation accuracy {history[-1]['val_acc']:.4f}")
    if cfg.baseline:
        ctx.seed_torch(f"init/{BASELINE}")
        lenet = build(BASELINE, num_classes=len(whole.classes), in_chans=3)
        history = ctx.fit(
            BASELINE,
            lenet,
            train,
            val,
            optimizer=make_optimizer(torch.optim.Adam, lenet.parameters(), lr=cfg.lr),
            transform=image_transform(LENET_SIZE, HALF, HALF),
            **fit_settings,
        )
        histories[BASELINE] = history
        rows.append(
            _row(BASELINE, history, lenet, count_parameters(lenet), history[-1]["seconds"])
            | {"start": "random initialisation (trained from scratch)"}
        )
    ctx.table(
        "validation_accuracy",
        rows,
        title="Validation accuracy per epoch and final, parameters (all / trained) and time",
    )
    ctx.figure(
        "validation_accuracy",
        learning_curves(histories, ("val_acc", "train_loss")),
        caption="Validation accuracy and training loss per epoch of each model.",
    )
    _verdict(ctx, rows, cfg)


def _row(name: str, history, model, trained: int, seconds: float) -> dict:
    row: dict = {"model": name}
    for record in history:
        row[f"epoch_{round(record['epoch'])}"] = record["val_acc"]
    return row | {
        "final": history[-1]["val_acc"],
        "parameters": count_parameters(model),
        "trained_parameters": trained,
        "seconds": seconds,
    }


def _verdict(ctx: Context, rows: list[dict], cfg: Config) -> None:
    """Whether the best frozen model's final validation accuracy reached LeNet-5's."""
    frozen = [r for r in rows if r["model"] != BASELINE]
    best = max(frozen, key=lambda r: r["final"]) if frozen else None
    baseline = next((r for r in rows if r["model"] == BASELINE), None)
    if best is None or baseline is None:
        ctx.verdict(
            None,
            "No comparison: the run trained "
            + ("no frozen model" if best is None else "no LeNet-5 baseline (baseline=false)")
            + ".",
        )
        return
    text = (
        f"The best frozen model, {best['model']}, reached {best['final']:.1%} validation "
        f"accuracy after {cfg.epochs} epochs; LeNet-5 trained from scratch {baseline['final']:.1%}."
    )
    if not best["start"].startswith("ImageNet"):
        text += (
            f" The frozen backbones started from {best['start']}, so this measures random "
            "features, not ImageNet's."
        )
    ctx.verdict(best["final"] >= baseline["final"], text, best_frozen_model=best["model"])
