"""`spatial-locality`: does a CNN's accuracy depend on pixels having their neighbours?

One fixed random permutation π reorders the 784 pixels of every image, train and test alike. The
five-layer CNN of the study is trained on the original and on the permuted images; an MLP does
the same as a control. Hypothesis: the CNN does much better on the original images, because its
3×3 filters and pooling assume that nearby pixels belong together; the MLP, which has no notion
of pixel order, does equally well on both.

Choices the study leaves open, made here and exposed as settings:
- the MLP control is 784 → 512 → 256 → 10 (ReLU, log-softmax + NLL), trained like the CNN;
- the permuted MLP starts from the original MLP's initial weights with its input columns
  reordered by π, so the two are the same function at step 0 and, trained on the same batches,
  differ only by floating-point rounding: a clear gap between them can only be a bug;
- both CNNs start from the same initial weights (the same seed), and all four models see the
  training images in the same order;
- the test split is evaluated after every epoch for the learning curves (no model selection is
  made on it);
- a dataset that is not 28×28 grey is converted (channel mean, bilinear resize), which the
  report says, since the CNN's layers are sized for 28×28 inputs;
- "the CNN does much better" is judged as at least `margin` (2 points) of test accuracy.

Measured on 2026-12-07 at quick scale (`nnlab run spatial-locality`, seed 0) on an AMD EPYC with 2
cores (AVX2 only, no native bf16), on the CPU with torch 2.13: the claim did not hold. The CNN
reached 79.5% test accuracy on original images and 83.9% on permuted ones (-4.4 points; the claim
needs at least +2.0). Control: the MLP reached 89.8% and 89.8% (+0.0 points), about equal, as it
must be for a model that cannot see pixel order.
"""

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.analysis.plots import image_rows, learning_curves
from nnlab.data import ImageSet, transforms
from nnlab.experiments.kit import (
    Context,
    ExperimentConfig,
    Momentum,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    Widths,
    experiment,
)
from nnlab.models import MLP, count_parameters
from nnlab.train import evaluate, make_optimizer

SIZE = 28
INPUTS = ("original", "permuted")
#: a last-epoch drop of the training loss larger than this (relative) means "not converged"
STILL_FALLING = 0.05


@dataclass
class Config(ExperimentConfig):
    """Settings of `spatial-locality`; the defaults are the study's (full scale)."""

    dataset: str = "notmnist"
    epochs: PositiveInt = 20
    batch_size: PositiveInt = 64
    lr: PositiveFloat = 0.01
    momentum: Momentum = 0.5
    #: multiplies the CNN's channel counts 64, 128, 256, 512 (1.0 = the study's network)
    width: PositiveFloat = 1.0
    mlp_hidden: Widths = (512, 256)
    #: at most this many training / test images (a seeded subset); None = the whole split
    train_limit: PositiveInt | None = None
    test_limit: PositiveInt | None = None
    #: test-accuracy points by which the CNN on original images must beat the permuted one
    margin: NonNegativeFloat = 0.02
    #: largest MLP original-vs-permuted difference that counts as "about equal"
    control_tolerance: NonNegativeFloat = 0.02
    grid_images: PositiveInt = 10


SCALES = {
    "smoke": {
        "dataset": "glyphs",
        "epochs": 6,
        "width": 0.25,
        "train_limit": 3000,
        "test_limit": 500,
    },
    "quick": {"epochs": 8, "width": 0.5},
}


class LocalityCNN(nn.Sequential):
    """The study's CNN: 3×3 convolutions without padding, maps 28→26→24→12→10→5→3→1.

    Conv(1→64)+BN+ReLU → Conv(64→128)+ReLU+MaxPool → Conv(128→256)+ReLU+MaxPool →
    Conv(256→512)+ReLU+MaxPool → Linear(512→classes) → LogSoftmax; `width` scales the channels.
    Input [B, 1, 28, 28]; output log-probabilities [B, classes].
    """

    def __init__(self, num_classes: int = 10, width: float = 1.0):
        c1, c2, c3, c4 = (max(1, round(c * width)) for c in (64, 128, 256, 512))
        super().__init__(
            nn.Conv2d(1, c1, 3),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.Conv2d(c1, c2, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c3, c4, 3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),  # [B, c4, 1, 1] -> [B, c4]
            nn.Linear(c4, num_classes),
            nn.LogSoftmax(dim=1),
        )


@experiment(
    "spatial-locality",
    title="Spatial locality: a CNN on pixel-permuted images",
    summary="CNN vs MLP on original and pixel-permuted NotMNIST: do CNNs need locality?",
    study="B",
    claim="The five-layer CNN scores much higher (by at least `margin`) on the original images "
    "than on the pixel-permuted ones, while the MLP control scores the same on both.",
    description=(
        "A CNN's 3×3 filters and pooling assume that neighbouring pixels belong together. "
        "Reordering every image's pixels by one fixed random permutation keeps all the "
        "information but destroys that neighbourhood. An MLP, which has no notion of pixel "
        "order, is the control. NotMNIST letters A–J, 28×28, inputs in [-1, 1]; SGD lr 0.01, "
        "momentum 0.5, batch 64, 20 epochs, log-softmax + NLL."
    ),
    scales=SCALES,
)
def run(cfg: Config, ctx: Context) -> None:
    """Train CNN and MLP on original and permuted images; report the 2×2 comparison."""
    sets = ctx.load_splits(
        cfg.dataset, {"train": cfg.train_limit, "test": cfg.test_limit}, fallback="glyphs"
    )
    train, test = _as_28_grey(sets["train"]), _as_28_grey(sets["test"])
    ctx.describe_data({"train": train, "test": test}, "inputs scaled to [-1, 1]")
    perm = transforms.pixel_permutation(SIZE * SIZE, ctx.derived_seed("permutation"))
    sets = {
        "original": (train, test),
        "permuted": (_permuted(train, perm), _permuted(test, perm)),
    }
    ctx.figure(
        "original_vs_permuted",
        _grid(test, sets["permuted"][1], cfg.grid_images),
        caption="Test images (top) and the same images with their pixels reordered by π "
        "(bottom): the permuted images are what models 2 and 4 see.",
    )

    rows, histories = [], {}
    for model_name in ("CNN", "MLP"):
        for input_name in INPUTS:
            model = _build(model_name, cfg, len(train.classes), ctx, perm, input_name)
            tr, te = sets[input_name]
            label = f"{model_name} · {input_name}"
            history = ctx.fit(
                f"{model_name.lower()}-{input_name}",
                model,
                tr,
                te,
                seed=ctx.derived_seed("shuffle"),
                epochs=cfg.epochs,
                optimizer=make_optimizer(
                    torch.optim.SGD, model.parameters(), lr=cfg.lr, momentum=cfg.momentum
                ),
                loss=F.nll_loss,
                batch_size=cfg.batch_size,
                transform=transforms.to_signed,
            )
            result = evaluate(
                model, te, loss=F.nll_loss, transform=transforms.to_signed, device=ctx.device
            )
            histories[label] = history
            rows.append(
                {
                    "model": model_name,
                    "input": input_name,
                    "test_acc": result.accuracy,
                    "test_loss": result.loss,
                    "train_acc": history[-1]["train_acc"],
                    "train_loss": history[-1]["train_loss"],
                    "parameters": count_parameters(model),
                    "train_seconds": history[-1]["seconds"],
                }
            )
            ctx.say(f"{label}: test accuracy {result.accuracy:.4f}, loss {result.loss:.4f}")

    ctx.table("accuracy", rows, title="Test accuracy and loss: model × input")
    _verdict(cfg, ctx, {(r["model"], r["input"]): r["test_acc"] for r in rows})
    unconverged = [label for label, history in histories.items() if _still_falling(history)]
    if unconverged:
        ctx.note(
            f"The training loss of {', '.join(unconverged)} still fell by more than "
            f"{STILL_FALLING:.0%} in the last epoch: these models had not converged, and more "
            f"epochs could change the comparison."
        )
    ctx.figure(
        "learning_curves",
        learning_curves(
            histories,
            ("train_loss", "val_acc"),
            labels={"val_acc": "test accuracy"},
            styles=_CURVE_STYLES,
        ),
        caption="Training loss and test accuracy after each epoch.",
    )


#: one colour per model; permuted inputs dashed with hollow markers, so the MLP's two
#: coinciding curves both show
_CURVE_STYLES = {
    f"{model} · {input_name}": {
        "color": colour,
        "linestyle": "--" if input_name == "permuted" else "-",
        "markerfacecolor": "none" if input_name == "permuted" else colour,
        "markersize": 6 if input_name == "permuted" else 3,
    }
    for model, colour in (("CNN", "C0"), ("MLP", "C3"))
    for input_name in INPUTS
}


def _build(
    model_name: str,
    cfg: Config,
    num_classes: int,
    ctx: Context,
    perm: torch.Tensor,
    input_name: str,
) -> nn.Module:
    """A fresh model; both inputs of one model kind start from the same initial weights."""
    ctx.seed_torch(f"init/{model_name}")
    if model_name == "CNN":
        return LocalityCNN(num_classes, cfg.width)
    mlp = MLP(SIZE * SIZE, cfg.mlp_hidden, num_classes, log_probs=True)
    if input_name == "permuted":
        # permuted input x'[i] = x[π[i]], so W'[:, i] = W[:, π[i]] makes W' x' = W x
        first = mlp[1]
        with torch.no_grad():
            first.weight.copy_(first.weight[:, perm])
    return mlp


def _verdict(cfg: Config, ctx: Context, acc: dict[tuple[str, str], float]) -> None:
    """Whether the CNN's gap reached the margin, and whether the MLP control behaved."""
    cnn_gap = acc["CNN", "original"] - acc["CNN", "permuted"]
    mlp_gap = acc["MLP", "original"] - acc["MLP", "permuted"]
    control_ok = abs(mlp_gap) <= cfg.control_tolerance
    control = (
        "about equal, as it must be for a model that cannot see pixel order"
        if control_ok
        else "NOT equal: an MLP cannot see pixel order, so a gap this size points to a bug"
    )
    ctx.verdict(
        cnn_gap >= cfg.margin,
        f"The CNN reached {acc['CNN', 'original']:.1%} test accuracy on original images and "
        f"{acc['CNN', 'permuted']:.1%} on permuted ones ({100 * cnn_gap:+.1f} points; the claim "
        f"needs at least {100 * cfg.margin:+.1f}). Control: the MLP reached "
        f"{acc['MLP', 'original']:.1%} and {acc['MLP', 'permuted']:.1%} "
        f"({100 * mlp_gap:+.1f} points), {control}.",
        cnn_gap=cnn_gap,
        mlp_gap=mlp_gap,
        control_equal=control_ok,
    )


def _still_falling(history) -> bool:
    """Whether the training loss fell by more than `STILL_FALLING` in the last epoch."""
    if len(history) < 2:
        return False
    before, last = history[-2]["train_loss"], history[-1]["train_loss"]
    return before - last > STILL_FALLING * before


def _as_28_grey(images: ImageSet) -> ImageSet:
    """The set as 1×28×28 images: RGB averaged to grey, other sizes resized (with a note)."""
    x = images.x
    if x.shape[1:] == (1, SIZE, SIZE):
        return images
    if x.shape[1] == 3:
        x = x.to(torch.float32).mean(1, keepdim=True).round_().to(torch.uint8)
    x = transforms.resize(x, SIZE)
    note = (
        f"{images.name} images are {'×'.join(map(str, images.x.shape[1:]))}; converted to "
        f"1×{SIZE}×{SIZE} (grey, bilinear resize) for the study's network."
    )
    return replace(images, x=x).with_notes(note)


def _permuted(images: ImageSet, perm: torch.Tensor) -> ImageSet:
    """The whole set with its pixels reordered by `perm`, once (not per batch)."""
    return replace(images, x=transforms.permute_pixels(images.x, perm))


def _grid(original: ImageSet, permuted: ImageSet, count: int):
    """The first test image of each class (then more, up to `count`), above its permuted twin."""
    y = original.y
    firsts = [int((y == c).nonzero()[0]) for c in range(len(original.classes)) if (y == c).any()]
    chosen = set(firsts)
    rest = [i for i in range(min(len(y), count + len(firsts))) if i not in chosen]
    index = torch.tensor((firsts + rest)[:count])
    return image_rows(
        {"original": original.x[index], "permuted": permuted.x[index]},
        titles=[original.classes[int(c)] for c in y[index]],
    )
