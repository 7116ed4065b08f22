"""`scratch-mlp`: a NIST36 classifier written in NumPy alone, at three learning rates.

The CMU 16-720 exercise: 1024 → 64 sigmoid → 36 softmax, Xavier-uniform weights, numerically
stable softmax, cross-entropy, backprop by hand, random mini-batches of 32, SGD at lr 0.009 for
50 epochs; then the same at lr × 10 and lr × 0.1. What the exercise expects: the given rate
trains to about three-quarters test accuracy, ×10 is unstable and ×0.1 too slow, and
the hand-written gradients agree with finite differences.

Choices the study leaves open, made here and exposed as settings:
- NIST36 is not in the data folder here: `hand36` (EMNIST letters + MNIST digits, the same
  NIST handwriting, normalised to NIST36's look and class order) stands in for it at every
  scale, limited to NIST36's split sizes (10,800 / 3,600 / 1,800 images), with a notice at the
  top of the report;
- pixels are scaled to [0, 1] (dark ink on white, as NIST36's `.mat` files hold them);
- the batch's cross-entropy is *summed*, not averaged, as in the exercise, so lr 0.009 acts on
  the summed gradient (`loss_reduction`);
- the three rates start from the same initial weights and see the same batch order, so the rate
  is the only difference;
- "the best" rate is the one with the highest validation accuracy after the last epoch (no
  early stopping); only it is scored on the test split;
- the loss and accuracy curves score the whole training and validation sets after each epoch
  (epoch 0 = the untrained network), rather than averaging over the batches of the epoch;
- the gradient check runs in float64 on the best network's trained weights with the batch-mean
  loss of `gradcheck_samples` training images (the mean keeps the rounding error, which grows
  with |loss|/ε, small), checking `gradcheck_entries` random entries of each parameter
  (None = all 68,000), with step ε = `gradcheck_eps` = 1e-4: smaller steps let rounding error
  dominate (measured on a trained network: median relative error 1e-9 at ε = 1e-4, and the
  worst entries, those with the smallest gradients, 1e-5 at ε = 1e-6 against 4e-6 at 1e-4).
  Gradients below `GRADCHECK_ATOL` = 1e-6 are compared absolutely at that scale, since their
  rounding noise (≈ 3e-12) means nothing relative to them. The check passes below
  `gradcheck_tolerance` = 1e-4 (a wrong gradient is off by ≳ 1e-2).

Our results. Quick (= the study's setting, on hand36; about 1 min on 2 cores): final validation
accuracy 68.5% at lr 0.009, 66.8% at × 0.1 (still rising), 2.9% at × 10 (stuck at chance: the
sigmoid units saturate); test accuracy of the best 69.8%; largest gradient-check error 2e-6 over
all 68,000 entries. hand36 is harder than NIST36 (EMNIST merges upper- and lower-case letters,
so l, I and 1 collide). Smoke (glyphs36, 8 epochs): 33% validation accuracy at lr 0.009.

Measured on 2026-12-07 at quick scale (`nnlab run scratch-mlp`, seed 0) on an AMD EPYC with 2 cores
(AVX2 only, no native bf16), on the CPU with torch 2.13: the claim held. The study's learning rate
was the best of the three: final validation accuracy lr x1 (68.4%) > lr x0.1 (66.8%) > lr x10
(2.9%); the best network (lr x1) scored 70.1% on the test split. Backprop agrees with finite
differences: the largest relative error over the checked entries is 1.7e-06 (threshold 1e-04).
"""

from dataclasses import dataclass
from time import perf_counter
from typing import Literal

import numpy as np

from nnlab.analysis.metrics import confusion_figure, confusion_matrix
from nnlab.analysis.plots import learning_curves, tile_grid
from nnlab.errors import ConfigError
from nnlab.experiments.kit import (
    Context,
    ExperimentConfig,
    PositiveFloat,
    PositiveInt,
    experiment,
)
from nnlab.experiments.kit.pixels import flat_pixels
from nnlab.scratch import MLPClassifier, TrainingDiverged, gradcheck, mlp, softmax_cross_entropy

SPLITS = ("train", "valid", "test")
#: gradients smaller than this are compared absolutely in the gradient check (see above)
GRADCHECK_ATOL = 1e-6


@dataclass
class Config(ExperimentConfig):
    """Settings of `scratch-mlp`; the defaults are the study's (full scale)."""

    dataset: str = "nist36"
    hidden: PositiveInt = 64
    epochs: PositiveInt = 50
    batch_size: PositiveInt = 32
    lr: PositiveFloat = 0.009
    #: the study's rate is multiplied by each of these
    lr_factors: tuple[PositiveFloat, ...] = (10.0, 1.0, 0.1)
    loss_reduction: Literal["sum", "mean"] = "sum"
    dtype: Literal["float64", "float32"] = "float64"
    #: NIST36's split sizes, applied to a larger stand-in (hand36); None = the whole split
    train_limit: PositiveInt | None = 10_800
    valid_limit: PositiveInt | None = 3_600
    test_limit: PositiveInt | None = 1_800
    gradcheck_samples: PositiveInt = 32
    gradcheck_entries: PositiveInt | None = None
    gradcheck_eps: PositiveFloat = 1e-4
    gradcheck_tolerance: PositiveFloat = 1e-4

    def __post_init__(self):
        super().__post_init__()
        if not self.lr_factors:
            raise ConfigError("lr_factors must name at least one factor, e.g. 10,1,0.1.")


SCALES = {
    "smoke": {
        "dataset": "glyphs36",
        "epochs": 8,
        "train_limit": 1800,
        "valid_limit": 360,
        "test_limit": 360,
        "gradcheck_entries": 40,
    },
    "quick": {},
}


# ---- the experiment


@experiment(
    "scratch-mlp",
    title="A NumPy network from scratch on NIST36",
    summary="1024-64-36 sigmoid MLP in NumPy: learning rates, weights, confusions, gradcheck",
    study="A",
    claim="The study's learning rate, 0.009, gives the best final validation accuracy of the "
    "three (lr × 10 is too large, lr × 0.1 too slow).",
    description=(
        "A two-layer network written in NumPy alone (Xavier-uniform initialisation, stable "
        "softmax, cross-entropy, hand-written backprop, SGD on random mini-batches) learns "
        "the 36 handwritten characters A–Z, 0–9 of NIST36 (32×32 → 1024 inputs → 64 sigmoid "
        "units → 36 softmax). Batch 32, lr 0.009 on the summed batch loss, 50 epochs; also "
        "lr × 10 and lr × 0.1, from the same initial weights. The best rate's network is "
        "scored on the test split, and its hand-written gradients are checked against "
        "finite differences."
    ),
    scales=SCALES,
    distributed=False,
)
def run(cfg: Config, ctx: Context) -> None:
    """Train at each learning rate, test the best, show its weights and check its gradients."""
    sets = ctx.load_splits(
        cfg.dataset,
        {"train": cfg.train_limit, "valid": cfg.valid_limit, "test": cfg.test_limit},
        fallback="glyphs36",
    )
    train = sets["train"]
    ctx.describe_data(sets, "pixels scaled to [0, 1]")
    (X, y), (Xv, yv), (Xt, yt) = (flat_pixels(sets[s], cfg.dtype) for s in SPLITS)
    classes = train.classes
    reduced = "summed over" if cfg.loss_reduction == "sum" else "averaged over"
    ctx.note(
        f"Network {X.shape[1]} → {cfg.hidden} sigmoid → {len(classes)} softmax, batch "
        f"{cfg.batch_size}, {cfg.epochs} epochs, cross-entropy {reduced} the batch, {cfg.dtype}."
    )

    rows, histories, models = [], {}, {}
    for factor in cfg.lr_factors:
        lr = cfg.lr * factor
        label = f"lr {lr:g} (×{factor:g})"
        clf = MLPClassifier(
            hidden_layer_sizes=(cfg.hidden,),
            activation="sigmoid",
            lr=lr,
            batch_size=cfg.batch_size,
            max_iter=cfg.epochs,
            loss_reduction=cfg.loss_reduction,
            random_state=ctx.derived_seed("init and batches") % 2**32,
            dtype=cfg.dtype,
        )
        start = perf_counter()
        try:
            clf.fit(X, y, validation_data=(Xv, yv))
            status = "trained"
        except TrainingDiverged as error:
            status = f"diverged in epoch {len(clf.history_)}"
            ctx.note(f"At {label} training diverged: {error}")
        seconds = perf_counter() - start
        histories[label] = clf.history_
        last = clf.history_[-1]
        best = max(clf.history_, key=lambda r: r["val_acc"])
        rows.append(
            {
                "run": f"lr x{factor:g}",
                "lr": lr,
                "train_loss": last["train_loss"],
                "train_acc": last["train_acc"],
                "val_loss": last["val_loss"],
                "val_acc": last["val_acc"],
                "best_val_acc": best["val_acc"],
                "best_epoch": best["epoch"],
                "status": status,
                "train_seconds": seconds,
            }
        )
        if status == "trained":
            models[factor] = clf
        ctx.say(f"{label}: validation accuracy {last['val_acc']:.4f} ({seconds:.1f} s)")
    ctx.table(
        "learning_rates",
        rows,
        title=f"After {cfg.epochs} epochs, per learning rate (loss: mean cross-entropy per image)",
    )
    ctx.figure(
        "learning_curves",
        learning_curves(
            histories, ("train_loss", "val_loss", "train_acc", "val_acc"), styles=_styles(histories)
        ),
        caption="Loss and accuracy on the whole training and validation sets after each epoch "
        "(epoch 0: the untrained network), per learning rate.",
    )
    if not models:
        raise TrainingDiverged(
            f"training diverged at every learning rate ({', '.join(r['run'] for r in rows)}); "
            f"try a smaller lr, e.g. --set lr={cfg.lr / 10:g}."
        )

    best_factor = max(models, key=lambda f: models[f].history_[-1]["val_acc"])
    best = models[best_factor]
    test_loss = softmax_cross_entropy(best.network_.forward(Xt), yt)[0]
    predicted = best.predict(Xt)
    test_acc = float(np.mean(predicted == yt))
    ctx.table(
        "test",
        [
            {
                "run": f"lr x{best_factor:g}",
                "lr": cfg.lr * best_factor,
                "test_acc": test_acc,
                "test_loss": test_loss,
            }
        ],
        title="The best rate (highest final validation accuracy) on the test split",
    )
    _weight_figures(ctx, best, train.image_shape)
    matrix = confusion_matrix(yt, predicted, len(classes))
    ctx.figure(
        "confusion",
        confusion_figure(matrix, classes, title=f"test, lr x{best_factor:g}"),
        caption="Confusion matrix of the best network on the test split (rows: true class, "
        "colour: fraction of the row).",
    )
    ctx.table("confusions", _top_confusions(matrix, classes), title="Most frequent test confusions")
    errors = _gradient_check(cfg, ctx, best, X, y)
    _verdict(cfg, ctx, rows, best_factor, test_acc, errors)


def _styles(histories) -> dict:
    """One colour per learning rate."""
    return {label: {"color": f"C{i}"} for i, label in enumerate(histories)}


def _weight_figures(ctx: Context, clf: MLPClassifier, image_shape: tuple[int, int, int]) -> None:
    """The first layer's weights as images, at initialisation and after training."""
    for name, weights, when in (
        ("weights_init", clf.initial_coefs_[0], "at initialisation (Xavier uniform)"),
        ("weights_trained", clf.coefs_[0], "after training"),
    ):
        tiles = weights.T.reshape(-1, *image_shape)  # [inputs, hidden] -> [hidden, C, H, W]
        ctx.figure(
            name,
            tile_grid(tiles, columns=8, title=f"First-layer weights {when}"),
            caption=f"Each of the {len(tiles)} hidden units' 1024 input weights as a "
            f"{image_shape[1]}×{image_shape[2]} image, {when}; each tile scaled to its own range.",
        )


def _top_confusions(matrix: np.ndarray, classes, count: int = 8) -> list[dict]:
    """The `count` largest off-diagonal cells: which class was taken for which."""
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:count]
    rows = []
    for flat in order:
        t, p = np.unravel_index(flat, off.shape)
        if off[t, p] == 0:
            break
        rows.append(
            {
                "true_as_predicted": f"{classes[t]} as {classes[p]}",
                "count": int(off[t, p]),
                "of_true": int(matrix[t].sum()),
            }
        )
    return rows


def _gradient_check(cfg: Config, ctx: Context, clf: MLPClassifier, X, y) -> dict[str, float]:
    """Backprop against central differences on a float64 copy of the trained network."""
    rng = np.random.default_rng(ctx.derived_seed("gradcheck"))
    pick = rng.choice(len(X), size=min(cfg.gradcheck_samples, len(X)), replace=False)
    Xb, yb = X[pick].astype(np.float64), y[pick]
    sizes = [X.shape[1], cfg.hidden, len(clf.classes_)]
    net = mlp(sizes, "sigmoid", rng=np.random.default_rng(0), dtype=np.float64)
    for name, p in net.params.items():
        p[...] = clf.network_.params[name]  # the trained values, in float64

    def loss_and_grads():
        loss, d_logits = softmax_cross_entropy(net.forward(Xb), yb)
        net.backward(d_logits)
        return loss, net.grads

    def loss_only():
        return softmax_cross_entropy(net.forward(Xb), yb)[0]

    start = perf_counter()
    errors = gradcheck(
        loss_and_grads,
        net.params,
        eps=cfg.gradcheck_eps,
        atol=GRADCHECK_ATOL,
        max_entries=cfg.gradcheck_entries,
        seed=ctx.derived_seed("gradcheck entries"),
        loss_only=loss_only,
    )
    seconds = perf_counter() - start
    names = {"0.W": "layer 1 W", "0.b": "layer 1 b", "2.W": "layer 2 W", "2.b": "layer 2 b"}
    rows = [
        {
            "parameter": names[name],
            "shape": "×".join(map(str, net.params[name].shape)),
            "entries_checked": min(
                net.params[name].size, cfg.gradcheck_entries or np.iinfo(int).max
            ),
            "max_rel_error": error,
            "passed": error < cfg.gradcheck_tolerance,
        }
        for name, error in errors.items()
    ]
    ctx.table(
        "gradient_check",
        rows,
        title=f"Finite-difference gradient check (ε = {cfg.gradcheck_eps:g}, float64, "
        f"{len(pick)} training images, {seconds:.1f} s): max |g − ĝ| / "
        f"max(|g|, |ĝ|, {GRADCHECK_ATOL:g}) per parameter",
    )
    return errors


def _verdict(cfg: Config, ctx: Context, rows, best_factor: float, test_acc: float, errors) -> None:
    """Whether the study's rate was the best of the three, and whether backprop is right."""
    by_acc = sorted(rows, key=lambda r: -r["val_acc"])
    ordering = " > ".join(f"{r['run']} ({r['val_acc']:.1%})" for r in by_acc)
    worst = max(errors.values())
    passed = worst < cfg.gradcheck_tolerance
    ctx.metric("test_acc", test_acc, headline=True)
    ctx.verdict(
        best_factor == 1.0,
        f"The study's learning rate {'was' if best_factor == 1.0 else 'was not'} the best of "
        f"the three: final validation accuracy {ordering}; the best network (lr "
        f"x{best_factor:g}) scored {test_acc:.1%} on the test split. Backprop "
        f"{'agrees' if passed else 'does NOT agree'} with finite differences: the largest "
        f"relative error over the checked entries is {worst:.1e} (threshold "
        f"{cfg.gradcheck_tolerance:.0e}).",
        gradcheck_passed=passed,
        max_gradcheck_error=worst,
    )
