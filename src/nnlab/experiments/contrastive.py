"""`contrastive`: a VGG-16-BN encoder trained with the triplet loss alone, then classified.

The study trains an encoder (VGG-16 with BatchNorm, average-pooled to 7×7, Linear to a z-dim
embedding, z = 64 and 32) on CIFAR-10 with the triplet margin loss (L2, margin 1.0): within each
shuffled batch of 2048, every image is an anchor with a random same-class image as positive and
a random other-class image as negative; 2000 iterations with early stopping on the loss. No
label is seen but through the triplets. Then it classifies: `fine_tune_linear` freezes the
encoder and fits a softmax regression on the embeddings; `fine_tune_nn` trains encoder and
classifier together (Adam, lr 1e-4) with a Linear head or Linear(z→512)+ReLU+Linear(512→10).
Claim: the triplet embeddings carry the classes, so the linear probe on the frozen embeddings
comes close to training end to end.

Choices the study leaves open, made here and exposed as settings:
- images are used at 32×32 (CIFAR's size; other sets are resized), scaled to [0, 1] and
  normalised per channel with the training split's own mean and std; no augmentation;
- the triplet stage uses Adam at lr 1e-3; the training loss is recorded every `eval_every`
  iterations (its mean since the last record), and training stops once it has not improved by
  `min_delta` for `patience` records;
- anchors whose class has no other image in the batch (or whose batch holds one class) are
  skipped; their number is reported;
- 10% of the training split (stratified) is the validation set; the test split is CIFAR's;
- the softmax regression is trained with Adam (lr 1e-3) for 10 epochs on embeddings computed
  once from the frozen encoder (in eval mode); `fine_tune_nn` starts from a copy of the same
  trained encoder and trains `finetune_epochs` (10); both use batch 256 and keep their last
  epoch (no selection);
- train/validation/test accuracy and loss are measured in eval mode after training;
- "close" is judged as the linear probe's test accuracy within `gap_tolerance` (5 points) of
  the best fine-tuned model's; the t-SNE plot shows the validation embeddings (up to 2000).

Measured here. Smoke (embedded digits, a 1/16-width encoder) only checks the machinery. Quick
(a 1/4-width encoder, batch 512, 200 iterations, 9,000/1,000/2,000 CIFAR-10 images, 4
fine-tuning epochs, 7 min 19 s on the 2-core CPU): the triplet loss fell from 1.00 to 0.48
(z = 64) and 0.97 to 0.46 (z = 32); the linear probe reached 36.7% / 39.1% test accuracy,
fine-tuning 46.5% / 47.3% (Linear head) and 45.0% / 45.5% (MLP head): 8-10 points apart, so the
claim did not hold at this scale. (With 300 iterations, 10 min 12 s that day: the loss reached
0.40 / 0.34 and the probe 33.9% / 36.4%, further from fine-tuning.) Full scale (the whole
encoder, batch 2048, 2000 iterations) needs a GPU.

Measured on 2026-12-07 at quick scale (`nnlab run contrastive`, seed 0) on an AMD EPYC with 2 cores
(AVX2 only, no native bf16), on the CPU with torch 2.13: the claim did not hold. Test accuracy of
the softmax regression on the frozen triplet embeddings against the best encoder fine-tuned end to
end: z = 64: probe 36.5%, best fine-tuned 46.0% (+9.5 points); z = 32: probe 37.3%, best fine-tuned
47.0% (+9.7 points); the claim allows 5 points for every z.
"""

import copy
from dataclasses import dataclass, replace
from functools import partial
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.analysis.embeddings import MIN_TSNE_POINTS, tsne
from nnlab.analysis.plots import class_scatter, learning_curves
from nnlab.data import ImageSet, split, transforms
from nnlab.errors import ConfigError
from nnlab.experiments.kit import (
    Context,
    ExperimentConfig,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    Range,
    experiment,
)
from nnlab.models.zoo.vgg import VGG16_LAYERS, init_vgg, make_layers
from nnlab.train import EarlyStopping, evaluate, make_optimizer
from nnlab.train.probe import LinearProbe
from nnlab.train.triplets import BatchTripletLoss, TripletLossState

HEADS = ("linear", "mlp")
Head = Literal["linear", "mlp"]


@dataclass
class Config(ExperimentConfig):
    """Settings of `contrastive`; the defaults are the study's (full scale)."""

    dataset: str = "cifar10"
    #: side of the (square) input; at least 32 for VGG's five poolings
    image_size: Annotated[int, Range(32)] = 32
    #: multiplies VGG-16-BN's channel counts (1.0 = the study's encoder)
    width: PositiveFloat = 1.0
    #: embedding sizes, one encoder each
    z_dims: tuple[Annotated[int, Range(2)], ...] = (64, 32)
    margin: PositiveFloat = 1.0
    batch_size: PositiveInt = 2048
    iterations: PositiveInt = 2000
    lr: PositiveFloat = 1e-3
    #: iterations between records of the triplet loss (and early-stopping checks)
    eval_every: PositiveInt = 50
    patience: PositiveInt = 5
    min_delta: NonNegativeFloat = 1e-3
    finetune_epochs: PositiveInt = 10
    #: epochs of the softmax regression on the cached embeddings (cheap: no encoder pass)
    probe_epochs: PositiveInt = 10
    finetune_batch_size: PositiveInt = 256
    finetune_lr: PositiveFloat = 1e-4
    probe_lr: PositiveFloat = 1e-3
    #: width of the "mlp" head's hidden layer
    hidden: PositiveInt = 512
    heads: tuple[Head, ...] = HEADS
    val_fraction: Annotated[float, Range(0, 1, closed="neither")] = 0.1
    tsne_points: PositiveInt = 2000
    #: at most this many training / test images (a seeded subset); None = the whole split
    train_limit: PositiveInt | None = None
    test_limit: PositiveInt | None = None
    #: how many test-accuracy points below the best fine-tuned model still count as "close"
    gap_tolerance: NonNegativeFloat = 0.05

    def __post_init__(self):
        super().__post_init__()
        if not self.z_dims:
            raise ConfigError("z_dims must name at least one embedding size, e.g. 64,32.")


SCALES = {
    "smoke": {
        "dataset": "digits",
        "width": 0.0625,
        "z_dims": (16,),
        "batch_size": 128,
        "iterations": 24,
        "eval_every": 6,
        "finetune_epochs": 2,
        "finetune_batch_size": 64,
        "tsne_points": 150,
        "train_limit": 500,
        "test_limit": 150,
    },
    "quick": {
        "width": 0.25,
        "z_dims": (64, 32),
        "batch_size": 512,
        "iterations": 200,
        "eval_every": 25,
        "finetune_epochs": 4,
        "train_limit": 10000,
        "test_limit": 2000,
        "tsne_points": 1000,
    },
}


class Encoder(nn.Module):
    """VGG-16-BN's convolutions, adaptive average pooling to 7×7, Linear(C·49 → z_dim).

    Parameters
    ----------
    z_dim : int
        Size of the embedding.
    width : float
        Multiplies the channel counts (1.0: C = 512, the 25088 → z Linear of the study).

    Input [B, 3, H, W] (H, W >= 32); output embeddings [B, z_dim].
    """

    def __init__(self, z_dim: int, width: float = 1.0):
        super().__init__()
        self.features = make_layers(VGG16_LAYERS, batch_norm=True, width=width)
        channels = [m for m in self.features if isinstance(m, nn.Conv2d)][-1].out_channels
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.fc = nn.Linear(channels * 7 * 7, z_dim)
        init_vgg(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))  # [B, C*49] -> [B, z]


class EmbeddingClassifier(nn.Module):
    """An encoder followed by a classification head on its embedding."""

    head_name = "head"

    def __init__(self, encoder: nn.Module, head: nn.Module):
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def make_head(kind: str, z_dim: int, num_classes: int, hidden: int) -> nn.Module:
    """The study's classifier heads: "linear" (z → K) or "mlp" (z → hidden → ReLU → K)."""
    if kind == "linear":
        return nn.Linear(z_dim, num_classes)
    return nn.Sequential(nn.Linear(z_dim, hidden), nn.ReLU(), nn.Linear(hidden, num_classes))


@experiment(
    "contrastive",
    title="Contrastive learning: triplet-loss embeddings of CIFAR-10",
    summary="VGG-16-BN encoder trained by the triplet loss; linear probe vs fine-tuning",
    study="C",
    claim="The triplet embeddings carry the classes: for every z, the linear probe on the frozen "
    "embeddings comes within `gap_tolerance` (5 points) of the best encoder fine-tuned end to end "
    "in test accuracy.",
    description=(
        "A VGG-16-BN encoder (13 convolutions, average pooling to 7×7, Linear to a z = 64 "
        "or 32 embedding) learns from CIFAR-10 through the triplet margin loss only (L2, "
        "margin 1.0; anchor, same-class positive and other-class negative drawn inside each "
        "shuffled batch of 2048; 2000 iterations with early stopping). Then "
        "`fine_tune_linear` fits a softmax regression on the frozen embeddings and "
        "`fine_tune_nn` trains encoder and head together (Adam, lr 1e-4; a Linear head or "
        "Linear(z→512)+ReLU+Linear); both are tested on CIFAR-10's test split."
    ),
    scales=SCALES,
)
def run(cfg: Config, ctx: Context) -> None:
    """Triplet-train an encoder per z; classify with a frozen and a fine-tuned encoder."""
    train, val, test, transform = _data(cfg, ctx)
    sets = {"train": train, "val": val, "test": test}
    rows, stage_rows, triplet_curves, finetune_curves = [], [], {}, {}
    for z in cfg.z_dims:
        encoder, triplet_curves[f"z = {z}"], stage = _triplet_stage(cfg, ctx, z, train, transform)
        stage_rows.append(stage)
        curve, row = _fine_tune_linear(cfg, ctx, z, encoder, sets, transform)
        finetune_curves[f"z={z} fine_tune_linear"] = curve
        rows.append(row)
        for kind in cfg.heads:
            curve, row = _fine_tune_nn(cfg, ctx, z, kind, encoder, sets, transform)
            finetune_curves[f"z={z} fine_tune_nn ({kind})"] = curve
            rows.append(row)

    ctx.table("triplet_training", stage_rows, title="Triplet stage: length, loss, skipped anchors")
    ctx.figure(
        "triplet_loss",
        learning_curves(
            triplet_curves, ("train_loss",), labels={"train_loss": "triplet loss"}, x="step"
        ),
        caption=f"Triplet loss, averaged over the batches since the previous point (every "
        f"{cfg.eval_every} iterations).",
    )
    ctx.table(
        "accuracy", rows, title="Train / validation / test accuracy and loss per mode and head"
    )
    ctx.figure(
        "finetune_curves",
        learning_curves(finetune_curves, ("train_loss", "val_loss", "val_acc")),
        caption="Both fine-tuning modes: training loss, validation loss and accuracy per epoch.",
    )
    _verdict(ctx, rows, cfg)


def _triplet_stage(cfg: Config, ctx: Context, z: int, train: ImageSet, transform):
    """A fresh encoder trained with the triplet loss: (encoder, history, table row)."""
    ctx.seed_torch(f"init/encoder-z{z}")
    encoder = Encoder(z, cfg.width)
    triplet_loss = BatchTripletLoss(cfg.margin, seed=ctx.derived_seed(f"triplets/z{z}"))
    history = ctx.fit(
        f"triplet_z{z}",
        encoder,
        train,
        steps=cfg.iterations,
        batch_size=cfg.batch_size,
        loss=triplet_loss,
        accuracy=False,  # the output is an embedding, not class scores
        optimizer=make_optimizer(torch.optim.Adam, encoder.parameters(), lr=cfg.lr),
        transform=transform,
        eval_every=cfg.eval_every,
        callbacks=[
            EarlyStopping("train_loss", "min", cfg.patience, cfg.min_delta),
            TripletLossState(triplet_loss),  # counts and triplet draws survive a resume
        ],
    )
    return encoder, history, _stage_row(z, history)


def _fine_tune_linear(cfg: Config, ctx: Context, z: int, encoder: Encoder, sets: dict, transform):
    """A softmax regression on the frozen encoder's embeddings (computed once); its t-SNE."""
    ctx.seed_torch(f"init/probe-z{z}")
    k = len(sets["train"].classes)
    probe = LinearProbe(
        EmbeddingClassifier(copy.deepcopy(encoder), nn.Linear(z, k)),
        transform=transform,
        device=ctx.device,
    )
    inputs = {name: probe.inputs(images) for name, images in sets.items()}
    history = ctx.fit(
        f"linear_z{z}",
        probe.trainable,
        inputs["train"],
        inputs["val"],
        epochs=cfg.probe_epochs,
        batch_size=cfg.finetune_batch_size,
        optimizer=make_optimizer(torch.optim.Adam, probe.trainable.parameters(), lr=cfg.probe_lr),
    )
    _tsne_figure(ctx, z, inputs["val"], cfg)
    return history, _scores(z, "fine_tune_linear", "linear", probe.trainable, inputs, None, ctx)


def _fine_tune_nn(
    cfg: Config, ctx: Context, z: int, kind: str, encoder: Encoder, sets: dict, transform
):
    """A copy of the encoder and a `kind` head trained together."""
    ctx.seed_torch(f"init/head-{kind}-z{z}")
    head = make_head(kind, z, len(sets["train"].classes), cfg.hidden)
    model = EmbeddingClassifier(copy.deepcopy(encoder), head)
    history = ctx.fit(
        f"nn_{kind}_z{z}",
        model,
        sets["train"],
        sets["val"],
        epochs=cfg.finetune_epochs,
        batch_size=cfg.finetune_batch_size,
        optimizer=make_optimizer(torch.optim.Adam, model.parameters(), lr=cfg.finetune_lr),
        transform=transform,
    )
    return history, _scores(z, "fine_tune_nn", kind, model, sets, transform, ctx)


def _data(cfg: Config, ctx: Context) -> tuple[ImageSet, ImageSet, ImageSet, transforms.Compose]:
    """Train / validation / test at `image_size`, and the normalising batch transform."""
    limits = {"train": cfg.train_limit, "test": cfg.test_limit}
    loaded = ctx.load_splits(cfg.dataset, limits, fallback="digits")
    whole, test = (
        replace(s, x=transforms.resize(transforms.grey_to_rgb(s.x), cfg.image_size))
        for s in loaded.values()
    )
    fractions = (1 - cfg.val_fraction, cfg.val_fraction)
    train, val = split(whole, fractions, seed=cfg.seed, names=("train", "val"))
    pixels = transforms.to_float(train.x)  # [N, 3, H, W] in [0, 1]
    mean, std = pixels.mean((0, 2, 3)).tolist(), pixels.std((0, 2, 3)).tolist()
    ctx.describe_data(
        {"train": train, "valid": val, "test": test},
        f"{cfg.val_fraction:.0%} of the training split (stratified) validates; normalised per "
        f"channel with the training images' mean ({', '.join(f'{m:.3f}' for m in mean)}) and "
        f"std ({', '.join(f'{s:.3f}' for s in std)})",
    )
    transform = transforms.Compose(
        transforms.to_float, partial(transforms.normalize, mean=mean, std=std)
    )
    return train, val, test, transform


def _stage_row(z: int, history) -> dict:
    return {
        "z_dim": z,
        "iterations": history[-1]["step"],
        "first_loss": history[0]["train_loss"],
        "final_loss": history[-1]["train_loss"],
        "best_loss": min(history.column("train_loss")),
        "anchors": history[-1]["anchors"],
        "skipped_anchors": history[-1]["skipped_anchors"],
        "stopped": history.stop_reason or "all iterations",
        "seconds": history[-1]["seconds"],
    }


def _scores(
    z: int, mode: str, head: str, model: nn.Module, sets: dict, transform, ctx: Context
) -> dict:
    row: dict = {"z_dim": z, "mode": mode, "head": head}
    for name, data in sets.items():
        result = evaluate(model, data, loss=F.cross_entropy, transform=transform, device=ctx.device)
        row |= {f"{name}_acc": result.accuracy, f"{name}_loss": result.loss}
    ctx.say(f"z={z} {mode} ({head}): test accuracy {row['test_acc']:.4f}")
    return row


def _tsne_figure(ctx: Context, z: int, embeddings, cfg: Config) -> None:
    order = torch.randperm(len(embeddings), generator=ctx.generator(f"tsne/z{z}"))
    keep = order[: cfg.tsne_points].sort().values
    if len(keep) < MIN_TSNE_POINTS:
        ctx.note(
            f"No t-SNE figure for z = {z}: the validation split holds {len(keep)} image(s), "
            f"t-SNE needs at least {MIN_TSNE_POINTS}."
        )
        return
    points = tsne(embeddings.x.cpu()[keep], seed=cfg.seed)
    ctx.figure(
        f"tsne_z{z}",
        class_scatter(
            points,
            embeddings.y.cpu()[keep],
            embeddings.classes,
            title=f"t-SNE of {len(keep):,} validation embeddings (z = {z})",
        ),
        caption=f"t-SNE of the triplet-trained encoder's validation embeddings (z = {z}), "
        "coloured by class: well separated clusters mean the embedding carries the classes.",
    )


def _verdict(ctx: Context, rows: list[dict], cfg: Config) -> None:
    """Per z, whether the probe came within `gap_tolerance` of the best fine-tuned model; the
    claim holds when it did for every z (it is not tested when no fine-tuned head was trained)."""
    numbers: dict[str, float | bool] = {}
    findings = []
    for z in cfg.z_dims:
        mine = [r for r in rows if r["z_dim"] == z]
        probe = next(r for r in mine if r["mode"] == "fine_tune_linear")["test_acc"]
        tuned = [r["test_acc"] for r in mine if r["mode"] == "fine_tune_nn"]
        if not tuned:
            continue
        gap = max(tuned) - probe
        numbers[f"z{z}_probe_gap"] = gap
        numbers[f"z{z}_held"] = gap <= cfg.gap_tolerance
        findings.append(
            f"z = {z}: probe {probe:.1%}, best fine-tuned {max(tuned):.1%} ({100 * gap:+.1f} "
            f"points)"
        )
    if not findings:
        ctx.verdict(None, "No comparison: no fine-tuned head was trained (heads is empty).")
        return
    held = all(v for k, v in numbers.items() if k.endswith("_held"))
    ctx.verdict(
        held,
        f"Test accuracy of the softmax regression on the frozen triplet embeddings against the "
        f"best encoder fine-tuned end to end: {'; '.join(findings)}; the claim allows "
        f"{100 * cfg.gap_tolerance:.0f} points for every z.",
        **numbers,
    )
