"""`my-experiment`: the question the experiment answers, in one line (copy this file to start).

The study it reproduces, in a paragraph: the data, the model, the training, what the paper or
course expects to see. `nnlab` finds the module by itself (every module of
`nnlab/experiments/` whose name does not start with "_" is imported), so renaming the copy to
`my_experiment.py` is all it takes to make `nnlab run my-experiment` work.

Choices the study leaves open, made here and exposed as settings:
- each one a line: what was chosen and why.

Measured (quick scale, <the machine: CPU, cores, device>, <date>): the verdict's sentence and
the numbers a reader wants, as `nnlab run my-experiment --scale quick` printed them.
"""

import math
from dataclasses import dataclass

import torch

from nnlab.analysis.plots import learning_curves
from nnlab.data import transforms
from nnlab.experiments.kit import (
    Context,
    ExperimentConfig,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    Widths,
    experiment,
)
from nnlab.models import MLP
from nnlab.train import evaluate, make_optimizer


@dataclass
class Config(ExperimentConfig):
    """Settings of `my-experiment`; the defaults are the study's (full scale).

    Declare each setting's type and range (`PositiveInt`, `Momentum`, `Annotated[float,
    Range(0, 1)]`, `Literal["a", "b"]`, `Widths`): they are checked for `--set`, `--config` and
    the scales alike, so no hand-written check is needed.
    """

    dataset: str = "mnist"
    epochs: PositiveInt = 10
    batch_size: PositiveInt = 64
    lr: PositiveFloat = 1e-3
    hidden: Widths = (256, 128)
    #: at most this many training / test images (a seeded subset); None = the whole split
    train_limit: PositiveInt | None = None
    test_limit: PositiveInt | None = None
    #: the test accuracy the claim needs
    target: NonNegativeFloat = 0.9


#: smaller settings for the tests (seconds) and for a laptop (minutes)
SCALES = {
    "smoke": {"dataset": "digits", "epochs": 2, "hidden": (32,)},
    "quick": {"epochs": 3, "train_limit": 10_000},
}


@experiment(
    "my-experiment",
    title="My experiment: what it shows",
    summary="one line for `nnlab list`",
    study="B",
    claim="An MLP reaches at least `target` test accuracy.",
    description="What the experiment does, with which data and settings (Markdown).",
    scales=SCALES,
)
def run(cfg: Config, ctx: Context) -> None:
    """Load, train, score; record tables and figures; end with the one verdict."""
    sets = ctx.load_splits(
        cfg.dataset, {"train": cfg.train_limit, "test": cfg.test_limit}, fallback="digits"
    )
    train, test = sets["train"], sets["test"]
    ctx.describe_data(sets, "inputs scaled to [-1, 1]")

    ctx.seed_torch("init/mlp")
    model = MLP(math.prod(train.image_shape), cfg.hidden, train.num_classes)
    history = ctx.fit(
        "mlp",
        model,
        train,
        test,
        epochs=cfg.epochs,
        optimizer=make_optimizer(torch.optim.Adam, model.parameters(), lr=cfg.lr),
        batch_size=cfg.batch_size,
        transform=transforms.to_signed,
    )
    result = evaluate(model, test, transform=transforms.to_signed, device=ctx.device)
    ctx.table("result", [{"model": "MLP", "test_acc": result.accuracy}], title="Test accuracy")
    ctx.figure(
        "curves",
        learning_curves({"MLP": history}, ("train_loss", "val_acc")),
        caption="Training loss and test accuracy after every epoch.",
    )
    ctx.verdict(
        result.accuracy >= cfg.target,
        f"The MLP reached {result.accuracy:.1%} test accuracy (the claim needs {cfg.target:.0%}).",
        test_acc=result.accuracy,
    )
