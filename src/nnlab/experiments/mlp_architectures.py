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

Measured on 2026-12-07 at quick scale (`nnlab run mlp-architectures`, seed 0) on an AMD EPYC with 2
cores (AVX2 only, no native bf16), on the CPU with torch 2.13: the claim held. The shallowest MLP,
MLP-1 1000-1000, was also the best (95.88% test accuracy). All 5 lie within 5.08 points.
"""

from dataclasses import dataclass

from nnlab.analysis.plots import learning_curves
from nnlab.experiments.kit import (
    Context,
    ExperimentConfig,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    Widths,
    experiment,
)
from nnlab.experiments.kit.scoring import STUDY_MLPS, load_pair, train_mlps


@dataclass
class Config(ExperimentConfig):
    """Settings of `mlp-architectures`; the defaults are the study's (full scale)."""

    dataset: str = "mnist"
    #: hidden layers of each MLP ("1000-1000,1000x3" in --set)
    hidden: tuple[Widths, ...] = STUDY_MLPS
    epochs: PositiveInt = 20
    batch_size: PositiveInt = 128
    lr: PositiveFloat = 1e-3
    #: at most this many training / test images (a seeded subset); None = the whole split
    train_limit: PositiveInt | None = None
    test_limit: PositiveInt | None = None
    #: test-accuracy points within which a deeper MLP counts as "no better"
    tolerance: NonNegativeFloat = 0.005


SCALES = {
    "smoke": {
        "dataset": "digits",
        "hidden": ((64,) * 2, (64,) * 3, (32,) * 5),
        "epochs": 4,
        "lr": 0.01,
    },
    "quick": {"epochs": 4, "train_limit": 20_000},
}


@experiment(
    "mlp-architectures",
    title="MLP architectures: depth and width on MNIST",
    summary="Five MLPs from [1000, 1000] to [500]×8 on MNIST: parameters, accuracy, time",
    study="B",
    claim="All five MLPs end near the same (about 98%) test accuracy: no deeper MLP beats the "
    "shallowest by more than `tolerance`, so beyond two hidden layers more depth buys "
    "parameters and time but no accuracy.",
    description=(
        "Five ReLU MLPs with hidden layers [1000, 1000], [1000]×3, [1000]×5, [500]×7 and "
        "[500]×8 are trained alike on MNIST for 20 epochs (Adam, lr 1e-3, batch 128, inputs "
        "in [-1, 1]); the table gives each one's parameters, train and test accuracy and loss, "
        "and training time, the curves its test accuracy after every epoch."
    ),
    scales=SCALES,
)
def run(cfg: Config, ctx: Context) -> None:
    """Train the MLPs and report their table, test-accuracy curves and a verdict on depth."""
    train, test = load_pair(ctx, cfg)
    rows, histories = train_mlps(ctx, cfg, train, test, cfg.hidden)
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


def _verdict(cfg: Config, ctx: Context, rows: list[dict]) -> None:
    """Whether any deeper MLP beat the shallowest by more than the tolerance."""
    depth = {r["model"]: len(w) for r, w in zip(rows, cfg.hidden, strict=True)}
    shallowest = min(rows, key=lambda r: depth[r["model"]])
    best = max(rows, key=lambda r: r["test_acc"])
    gain = best["test_acc"] - shallowest["test_acc"]
    spread = max(r["test_acc"] for r in rows) - min(r["test_acc"] for r in rows)
    if best is shallowest:
        finding = (
            f"The shallowest MLP, {best['model']} {best['hidden']}, was also the best "
            f"({best['test_acc']:.2%} test accuracy)"
        )
    else:
        finding = (
            f"The best MLP, {best['model']} {best['hidden']}, reached {best['test_acc']:.2%} "
            f"test accuracy, {100 * gain:+.2f} points over the shallowest, "
            f"{shallowest['model']} {shallowest['hidden']} ({shallowest['test_acc']:.2%}); "
            f"the claim allows at most {100 * cfg.tolerance:+.2f}"
        )
    ctx.verdict(
        gain <= cfg.tolerance,
        f"{finding}. All {len(rows)} lie within {100 * spread:.2f} points.",
        best_model=best["model"],
        depth_gain=gain,
    )
