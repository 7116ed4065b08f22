"""The architecture studies' shared recipe: load a train/test pair, train a family of models
alike, and score each one on the whole training and test splits.

Used by `mlp-architectures`, `cnn-architectures`, `cnn-visualization` and `fcn-vs-cnn`:
cross-entropy on inputs scaled to [-1, 1], the evaluation split scored after every epoch, then
a table row per model with its parameters, train/test accuracy and loss and training time.
"""

from collections.abc import Callable, Sequence
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.data import ImageSet, transforms
from nnlab.experiments.config import Widths, format_widths
from nnlab.experiments.context import Context
from nnlab.models import MLP, count_parameters
from nnlab.train import Evaluation, History, evaluate, make_optimizer

#: the five MLPs of the `mlp-architectures` study, as hidden-layer widths
STUDY_MLPS: tuple[Widths, ...] = (
    (1000,) * 2,
    (1000,) * 3,
    (1000,) * 5,
    (500,) * 7,
    (500,) * 8,
)


class RecipeSettings(Protocol):
    """The settings `load_pair` and `train_models` read from an experiment's config."""

    dataset: str
    train_limit: int | None
    test_limit: int | None
    epochs: int
    batch_size: int
    lr: float


def load_pair(
    ctx: Context, cfg: RecipeSettings, *, fallback: str = "digits"
) -> tuple[ImageSet, ImageSet]:
    """The run's training and test splits (seeded subsets when limited), with the data note.

    The note names the Adam recipe of `train_models` (lr, batch, epochs) after the data.
    """
    sets = ctx.load_splits(
        cfg.dataset, {"train": cfg.train_limit, "test": cfg.test_limit}, fallback=fallback
    )
    ctx.describe_data(
        sets,
        f"inputs scaled to [-1, 1]. Adam, lr {cfg.lr:g}, batch {cfg.batch_size}, "
        f"{cfg.epochs} epochs",
    )
    return sets["train"], sets["test"]


def train_and_score(
    ctx: Context,
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
    ctx: Context,
    cfg: RecipeSettings,
    train: ImageSet,
    test: ImageSet,
    family: str,
    widths: Sequence[Widths],
    build: Callable[[Widths], nn.Module],
    column: str,
) -> tuple[list[dict], dict[str, History]]:
    """Train one model per layer-width tuple, each seeded by its label ("MLP-1", "CNN-2", ...).

    Adam at `cfg.lr`, `cfg.epochs` epochs of `cfg.batch_size`, the test split scored after
    every epoch (for the curves only). `build(widths)` makes a fresh model; `column` names the
    widths' column in the rows ("32-64-128").

    Returns
    -------
    rows : list of dict
        One per model: label, widths and `score_row`'s values.
    histories : dict
        Label -> the model's `History`.
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


def train_mlps(
    ctx: Context,
    cfg: RecipeSettings,
    train: ImageSet,
    test: ImageSet,
    widths: Sequence[Widths],
) -> tuple[list[dict], dict[str, History]]:
    """Train one ReLU MLP per hidden-width tuple ("MLP-1", ...); (table rows, {label: history}).

    The rows' widths column is "hidden".
    """
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
