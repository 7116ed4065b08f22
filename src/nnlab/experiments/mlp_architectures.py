"""`mlp-architectures`: does a deeper or wider MLP classify MNIST better?

Five ReLU MLPs — hidden layers [1000, 1000], [1000]×3, [1000]×5, [500]×7 and [500]×8 — are
trained the same way for 20 epochs. The table gives each one's parameters, train and test
accuracy and loss, and training time; the curves show test accuracy after every epoch.
Hypothesis (the usual finding for MNIST MLPs): all of them end near 98% test accuracy, so past
two hidden layers more depth buys parameters and time but no accuracy.

Choices the study leaves open, made here and exposed as settings:
- Adam, lr 1e-3, batch 128, inputs scaled to [-1, 1], no dropout or weight decay, PyTorch's
  default initialisation; every model sees the training images in the same order;
- train accuracy and loss are measured after training on the whole training split in eval
  mode (not the running mean over the epoch's batches);
- the test split is evaluated after every epoch for the curves; no choice is made on it;
- "training time" is the training wall time only (evaluations excluded), on the run's device.

Results: smoke (digits 8×8, three small MLPs, 4 epochs) only checks the pipeline. Quick (20,000
training images, 4 epochs): test accuracy 95.8% [1000, 1000], 95.5% [1000]×3, 95.1% [1000]×5,
91.3% [500]×7, 93.8% [500]×8 — the shallowest was the best; the deep ones had not caught up in
4 epochs. Full: not run here.

Also home of `train_and_score`, `score_row` and `train_models`, the recipe the architecture
studies share.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.analysis.plots import learning_curves
from nnlab.data import ImageSet, transforms
from nnlab.experiments.catalog import Experiment, register
from nnlab.experiments.config import ExperimentConfig, check_positive
from nnlab.models import MLP, count_parameters
from nnlab.models.mlp import format_widths, parse_widths
from nnlab.train import Evaluation, History, evaluate, make_optimizer

#: the study's five MLPs, as hidden-layer widths
STUDY_MLPS = ("1000x2", "1000x3", "1000x5", "500x7", "500x8")


@dataclass
class Config(ExperimentConfig):
    """Settings of `mlp-architectures`; the defaults are the study's (full scale)."""

    dataset: str = "mnist"
    #: hidden layers of each MLP: widths joined by "-", "WxN" repeats W N times
    hidden: tuple[str, ...] = STUDY_MLPS
    epochs: int = 20
    batch_size: int = 128
    lr: float = 1e-3
    #: at most this many training / test images (a seeded subset); None = the whole split
    train_limit: int | None = None
    test_limit: int | None = None
    #: test-accuracy points within which a deeper MLP counts as "no better"
    tolerance: float = 0.005

    def __post_init__(self):
        check_positive(self, "epochs", "batch_size", "lr", "train_limit", "test_limit")
        for spec in self.hidden:  # a malformed one is refused now, not mid-run
            parse_widths(spec, setting="hidden")

    @property
    def widths(self) -> list[tuple[int, ...]]:
        """`hidden` parsed: one tuple of layer widths per MLP."""
        return [parse_widths(h, setting="hidden") for h in self.hidden]


SCALES = {
    "smoke": {
        "dataset": "digits",
        "hidden": ("64x2", "64x3", "32x5"),
        "epochs": 4,
        "lr": 0.01,
    },
    "quick": {"epochs": 4, "train_limit": 20_000},
}


def train_and_score(
    ctx,
    name: str,
    model: nn.Module,
    train: ImageSet,
    val: ImageSet,
    test: ImageSet,
    *,
    optimizer: torch.optim.Optimizer,
    epochs: int,
    batch_size: int,
) -> tuple[History, Evaluation, Evaluation]:
    """The architecture studies' recipe: cross-entropy on [-1, 1] inputs, `val` scored per epoch.

    Parameters
    ----------
    ctx : Context
        The run's context (device, checkpoints, progress).
    name : str
        The model's name in progress lines and its checkpoint.
    model : nn.Module
        Freshly built (its initialisation is the caller's).
    train, val, test : ImageSet
        `val` gives the curves (the test split itself where the study plots test accuracy).
    optimizer : torch.optim.Optimizer
        On `model.parameters()`.
    epochs, batch_size : int

    Returns
    -------
    history : History
        With `val_acc`, `val_loss` after each epoch.
    train_scores, test_scores : Evaluation
        The trained model on the whole training and test splits, in eval mode.
    """
    history = ctx.fit(
        name,
        model,
        train,
        val,
        epochs=epochs,
        optimizer=optimizer,
        loss=F.cross_entropy,
        batch_size=batch_size,
        transform=transforms.to_signed,
    )
    scores = [
        evaluate(model, data, transform=transforms.to_signed, device=ctx.device)
        for data in (train, test)
    ]
    return history, scores[0], scores[1]


def score_row(
    model: nn.Module, history: History, train: Evaluation, test: Evaluation
) -> dict[str, float | int]:
    """Parameters, train/test accuracy and loss, and training seconds (total and per epoch)."""
    seconds = history[-1]["seconds"]
    return {
        "parameters": count_parameters(model),
        "train_acc": train.accuracy,
        "train_loss": train.loss,
        "test_acc": test.accuracy,
        "test_loss": test.loss,
        "train_seconds": seconds,
        "epoch_seconds": seconds / history[-1]["epoch"],
    }


def train_models(
    ctx, cfg, train: ImageSet, test: ImageSet, family: str, widths, build, column: str
) -> tuple[list, dict]:
    """Train one model per layer-width tuple, each seeded by its label ("MLP-1", "CNN-2", ...).

    `build(widths)` makes a fresh model; `column` names the widths' column in the rows.
    Returns (table rows, {label: history}).
    """
    rows, histories = [], {}
    for i, layers in enumerate(widths, start=1):
        label = f"{family}-{i}"
        ctx.seed_torch(f"init/{label}")
        model = build(layers)
        history, train_scores, test_scores = train_and_score(
            ctx,
            label.lower(),
            model,
            train,
            test,
            test,
            optimizer=make_optimizer(torch.optim.Adam, model.parameters(), lr=cfg.lr),
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
        )
        rows.append(
            {
                "model": label,
                column: format_widths(layers),
                **score_row(model, history, train_scores, test_scores),
            }
        )
        histories[label] = history
        ctx.say(f"{label} {format_widths(layers)}: test accuracy {test_scores.accuracy:.4f}")
    return rows, histories


def train_mlps(ctx, cfg, train: ImageSet, test: ImageSet, widths) -> tuple[list, dict]:
    """Train one MLP per hidden-width tuple; (table rows, {label: history})."""
    in_features = train.x[0].numel()
    return train_models(
        ctx,
        cfg,
        train,
        test,
        "MLP",
        widths,
        lambda hidden: MLP(in_features, hidden, train.num_classes),
        column="hidden",
    )


def load_pair(ctx, cfg) -> tuple[ImageSet, ImageSet]:
    """The run's training and test splits (seeded subsets when limited), with a data note."""
    train = ctx.load(cfg.dataset, "train", limit=cfg.train_limit, fallback="digits")
    test = ctx.load(cfg.dataset, "test", limit=cfg.test_limit, fallback="digits")
    for note in {*train.notes, *test.notes}:
        ctx.note(note)
    ctx.note(
        f"Data: {train.name}, {len(train):,} training and {len(test):,} test images of "
        f"{'×'.join(map(str, train.image_shape))}, {train.num_classes} classes; inputs scaled "
        f"to [-1, 1]. Adam, lr {cfg.lr:g}, batch {cfg.batch_size}, {cfg.epochs} epochs."
    )
    return train, test


def run(cfg: Config, ctx) -> None:
    """Train the MLPs and report their table, test-accuracy curves and a verdict on depth."""
    train, test = load_pair(ctx, cfg)
    rows, histories = train_mlps(ctx, cfg, train, test, cfg.widths)
    ctx.table(
        "architectures",
        rows,
        title=f"MLPs: parameters, accuracy and loss, training time (seconds on {ctx.device})",
    )
    ctx.figure(
        "test_accuracy",
        learning_curves(histories, ("train_loss", "val_acc"), labels={"val_acc": "test accuracy"}),
        caption="Training loss and test accuracy after every epoch.",
    )
    _verdict(cfg, ctx, rows)


def _verdict(cfg: Config, ctx, rows: list[dict]) -> None:
    """Say whether any deeper MLP beat the shallowest by more than the tolerance."""
    depth = {r["model"]: len(w) for r, w in zip(rows, cfg.widths, strict=True)}
    shallowest = min(rows, key=lambda r: depth[r["model"]])
    best = max(rows, key=lambda r: r["test_acc"])
    gain = best["test_acc"] - shallowest["test_acc"]
    held = gain <= cfg.tolerance
    ctx.metric("verdict.best_model", best["model"], headline=True)
    ctx.metric("verdict.depth_gain", gain, headline=True)
    ctx.metric("verdict.claim_held", held)
    spread = max(r["test_acc"] for r in rows) - min(r["test_acc"] for r in rows)
    if best is shallowest:
        finding = (
            f"the shallowest MLP, {best['model']} {best['hidden']}, was also the best "
            f"({best['test_acc']:.2%} test accuracy)"
        )
    else:
        finding = (
            f"the best MLP, {best['model']} {best['hidden']}, reached {best['test_acc']:.2%} "
            f"test accuracy, {100 * gain:+.2f} points over the shallowest, "
            f"{shallowest['model']} {shallowest['hidden']} ({shallowest['test_acc']:.2%}); "
            f"the hypothesis allows at most {100 * cfg.tolerance:+.2f}"
        )
    ctx.note(
        f"**The hypothesis {'held' if held else 'did not hold'} at this scale:** {finding}. "
        f"All {len(rows)} lie within {100 * spread:.2f} points."
    )


register(
    Experiment(
        id="mlp-architectures",
        title="MLP architectures: depth and width on MNIST",
        summary="Five MLPs from [1000, 1000] to [500]×8 on MNIST: parameters, accuracy, time",
        description=(
            "Five ReLU MLPs with hidden layers [1000, 1000], [1000]×3, [1000]×5, [500]×7 and "
            "[500]×8 are trained alike on MNIST for 20 epochs (Adam, lr 1e-3, batch 128, inputs "
            "in [-1, 1]). **Hypothesis:** they all end near 98% test accuracy; beyond two hidden "
            "layers, more depth buys parameters and time but no accuracy."
        ),
        study="B",
        config=Config,
        run=run,
        scales=SCALES,
    )
)
