"""`pca-separability`: how well does a 2-D PCA view of MNIST keep the digits apart?

10,000 random MNIST training images, scaled to [-1, 1] (the units of the original study's table),
are projected onto their first two principal components. Each digit's cloud gets its centroid,
variances and 95% confidence ellipse; a linear SVM (LinearSVC, max_iter 10,000) is trained in
that plane for each of the 45 digit pairs. Claim: in two dimensions some pairs stay almost
perfectly separable (0/1) while others overlap heavily (3/5).

Choices the study leaves open, made here and exposed as settings:
- the images are a seeded random subset of the training split (`images`), flattened to 784
  values in [-1, 1]; PCA is exact (SVD of the centred data), each component's sign fixed so its
  largest loading is positive;
- variances are per class along PC1 and PC2 (N - 1 denominator); the ellipse is the region with
  squared Mahalanobis distance at most chi2.ppf(0.95, 2) = 5.99 under the class's sample mean and
  covariance, i.e. it holds 95% of a Gaussian fitted to the class;
- each pair's SVM is scored on the points it was trained on: separability, not generalisation
  (C = 1, squared hinge loss, scikit-learn's defaults);
- "far more separable" is judged on the pair named by `easy_pair` against `hard_pair`: the claim
  holds when their accuracies differ by at least `margin` (10 points).

Results: quick and full are the same setting (it takes seconds): 0/1 is separated at 99.3%,
3/5 at 72.1%, the 45 pairs average 84.8%; the least separable pair is 2/5 (53%).

Measured on 2026-12-07 at quick scale (`nnlab run pca-separability`, seed 0) on an AMD EPYC with 2
cores (AVX2 only, no native bf16), on the CPU with torch 2.13: the claim held. A line in the 2-D PCA
plane separates 0/1 at 99.3% but 3/5 only at 72.1% (+27.3 points; the claim needs +10.0). Over all
45 pairs the mean is 84.8%, from 0/1 (99.3%) down to 2/5 (53.0%).
"""

from dataclasses import dataclass
from typing import Annotated

import numpy as np
from matplotlib.figure import Figure

from nnlab.analysis.pca import class_stats, confidence_ellipse, pca
from nnlab.analysis.plots import class_scatter
from nnlab.analysis.separability import pairwise_svm
from nnlab.data import transforms
from nnlab.experiments.kit import (
    Context,
    ExperimentConfig,
    PositiveFloat,
    PositiveInt,
    Range,
    experiment,
)


@dataclass
class Config(ExperimentConfig):
    """Settings of `pca-separability`; the defaults are the study's (full scale)."""

    dataset: str = "mnist"
    #: a seeded random subset of the training split this large; None = all of it
    images: PositiveInt | None = 10_000
    max_iter: PositiveInt = 10_000
    C: PositiveFloat = 1.0
    level: Annotated[float, Range(0, 1, closed="neither")] = 0.95
    easy_pair: str = "0/1"
    hard_pair: str = "3/5"
    #: accuracy points by which the easy pair must beat the hard one
    margin: float = 0.10
    #: pairs listed as the most and as the least separable
    extremes: PositiveInt = 5


SCALES = {"smoke": {"dataset": "digits", "images": None}, "quick": {}}


@experiment(
    "pca-separability",
    title="PCA separability: which digit pairs does a 2-D projection keep apart?",
    summary="MNIST in 2-D PCA: class ellipses and a linear SVM for each of the 45 pairs",
    study="B",
    claim="Two dimensions keep some pairs almost perfectly apart (0/1) while others overlap "
    "heavily (3/5): the easy pair's linear-SVM accuracy beats the hard pair's by at least "
    "`margin` (10 points).",
    description=(
        "10,000 MNIST training images in [-1, 1] are projected onto their first two "
        "principal components. Each digit gets its centroid, variances and 95% confidence "
        "ellipse, and a linear SVM (LinearSVC, max_iter 10,000) is trained in the plane for "
        "every one of the 45 digit pairs, scored on the pair's own images."
    ),
    scales=SCALES,
    distributed=False,
)
def run(cfg: Config, ctx: Context) -> None:
    """Project to 2-D, describe each class, and score a linear SVM per class pair."""
    sets = ctx.load_splits(cfg.dataset, {"train": cfg.images}, fallback="digits")
    images = sets["train"]
    X = transforms.to_signed(images.x).reshape(len(images), -1)  # [N, C*H*W] in [-1, 1]
    y = images.y.numpy()
    projection = pca(X, 2)
    ratio = projection.explained_variance_ratio
    ctx.describe_data(sets, f"{X.shape[1]} pixels each in [-1, 1]")
    ctx.note(f"PC1 and PC2 explain {ratio[0]:.1%} and {ratio[1]:.1%} of the variance.")
    ctx.metric("pca.explained.pc1", float(ratio[0]))
    ctx.metric("pca.explained.pc2", float(ratio[1]))
    points, classes = projection.points, images.classes

    scatter = class_scatter(points, y, classes, title=f"{images.name}: first two components")
    ctx.figure(
        "scatter",
        _label_axes(scatter, ratio),
        caption="Every image as a point in the plane of the first two principal components.",
    )
    ctx.figure(
        "ellipses",
        _label_axes(_ellipse_figure(points, y, classes, cfg.level), ratio),
        caption=f"Class centroids (×) and {cfg.level:.0%} confidence ellipses: each ellipse holds "
        f"{cfg.level:.0%} of a Gaussian with its class's mean and covariance.",
    )
    ctx.table(
        "classes",
        class_stats(points, y, classes),
        title="Per class: centroid and variance along PC1 and PC2, and number of images",
    )

    pairs = pairwise_svm(points, y, classes, C=cfg.C, max_iter=cfg.max_iter, seed=cfg.seed)
    accuracies = np.array([p["accuracy"] for p in pairs])
    ctx.table(
        "pairs",
        [{k: p[k] for k in ("pair", "accuracy", "n", "converged")} for p in pairs],
        title="Linear SVM accuracy on each class pair in the 2-D plane (on the pair's images)",
    )
    ctx.metric("pairs.mean_accuracy", float(accuracies.mean()), headline=True)
    unconverged = [p["pair"] for p in pairs if not p["converged"]]
    if unconverged:
        ctx.note(f"LinearSVC hit max_iter={cfg.max_iter} on pair(s) {', '.join(unconverged)}.")
    ctx.figure(
        "pair_accuracy",
        _histogram(accuracies),
        caption=f"The {len(pairs)} pair accuracies; the dashed line is their mean.",
    )
    ranked = sorted(pairs, key=lambda p: p["accuracy"], reverse=True)
    k = min(cfg.extremes, len(ranked) // 2)
    ctx.table(
        "extremes",
        [
            {"rank": f"most {i + 1}", "pair": p["pair"], "accuracy": p["accuracy"]}
            for i, p in enumerate(ranked[:k])
        ]
        + [
            {"rank": f"least {i + 1}", "pair": p["pair"], "accuracy": p["accuracy"]}
            for i, p in enumerate(reversed(ranked[-k:]))
        ],
        title=f"The {k} most and the {k} least separable pairs",
    )
    _verdict(cfg, ctx, {p["pair"]: p["accuracy"] for p in pairs}, float(accuracies.mean()))


def _ellipse_figure(points: np.ndarray, y: np.ndarray, classes, level: float) -> Figure:
    """The class scatter with each class's centroid and confidence ellipse in its colour."""
    fig = class_scatter(points, y, classes, title=f"Centroids and {level:.0%} ellipses")
    ax = fig.axes[0]
    colours = {c.get_label(): c.get_facecolor()[0][:3] for c in ax.collections}
    for k, name in enumerate(classes):
        mine = points[y == k]
        if len(mine) < 3:
            continue
        ellipse = confidence_ellipse(mine, level)
        colour = colours[name]
        ax.add_patch(ellipse.patch(edgecolor=colour, linewidth=1.8))
        ax.plot(*ellipse.center, marker="x", color="black", markersize=9, mew=2.5)
        ax.plot(*ellipse.center, marker="x", color=colour, markersize=7, mew=1.5)
        ax.annotate(name, ellipse.center, xytext=(4, 4), textcoords="offset points")
    return fig


def _label_axes(fig: Figure, ratio: np.ndarray) -> Figure:
    """Name the axes PC1 and PC2 with the variance each explains."""
    ax = fig.axes[0]
    ax.set_xlabel(f"PC1 ({ratio[0]:.1%} of the variance)")
    ax.set_ylabel(f"PC2 ({ratio[1]:.1%} of the variance)")
    return fig


def _histogram(accuracies: np.ndarray) -> Figure:
    fig = Figure(figsize=(6, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.hist(accuracies, bins=np.linspace(0.5, 1.0, 21), color="C0", edgecolor="white")
    mean = accuracies.mean()
    ax.axvline(mean, color="black", linestyle="--", label=f"mean {mean:.3f}")
    ax.set_xlabel("linear SVM accuracy on the pair (2-D PCA)")
    ax.set_ylabel("pairs")
    ax.legend()
    return fig


def _verdict(cfg: Config, ctx: Context, accuracy: dict[str, float], mean: float) -> None:
    """Whether the easy pair is far more separable than the hard one, in plain words."""
    missing = [p for p in (cfg.easy_pair, cfg.hard_pair) if p not in accuracy]
    if missing:
        ctx.verdict(
            None,
            f"The pairs {', '.join(missing)} named by easy_pair / hard_pair are not pairs of "
            f"this dataset's classes, so the claim was not checked; set them to two of its pairs.",
        )
        return
    easy, hard = accuracy[cfg.easy_pair], accuracy[cfg.hard_pair]
    best = max(accuracy, key=accuracy.get)
    worst = min(accuracy, key=accuracy.get)
    ctx.verdict(
        bool(easy - hard >= cfg.margin),
        f"A line in the 2-D PCA plane separates {cfg.easy_pair} at {easy:.1%} but "
        f"{cfg.hard_pair} only at {hard:.1%} ({100 * (easy - hard):+.1f} points; the claim needs "
        f"{100 * cfg.margin:+.1f}). Over all {len(accuracy)} pairs the mean is {mean:.1%}, from "
        f"{best} ({accuracy[best]:.1%}) down to {worst} ({accuracy[worst]:.1%}).",
        gap=easy - hard,
    )
