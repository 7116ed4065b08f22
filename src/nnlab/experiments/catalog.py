"""The experiment registry: each experiment module registers one `Experiment` here, through
the `@experiment(...)` decorator on its `run(cfg, ctx)`."""

import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nnlab.errors import NnlabError
from nnlab.experiments.config import ExperimentConfig
from nnlab.registry import Registry

#: catalogue sections (docs/experiments.md), the studies the experiments come from
STUDIES = {
    "A": "From-scratch NumPy",
    "B": "Classic analyses and architecture studies",
    "C": "Representation and transfer learning",
    "D": "Reading text from an image",
}

#: the ids in the catalogue's order, the order `nnlab list` shows (others follow by study, id)
CATALOGUE_ORDER = (
    "scratch-mlp",
    "scratch-autoencoder",
    "softmax-regression",
    "perceptron-pairs",
    "loss-convexity",
    "pca-separability",
    "mlp-lr-search",
    "mlp-architectures",
    "cnn-architectures",
    "fcn-vs-cnn",
    "spatial-locality",
    "cnn-visualization",
    "multitask",
    "contrastive",
    "emotion-finetune",
    "svhn-transfer",
    "cifar-mobilenet",
    "flowers-transfer",
    "ocr",
)


@dataclass(frozen=True)
class Experiment:
    """One experiment of the catalogue.

    Parameters
    ----------
    id : str
        Its name on the command line (`nnlab run ID`).
    title : str
        The report's title.
    summary : str
        One line for `nnlab list`.
    description : str
        What the experiment does, in Markdown: the report's "What this tests".
    study : str
        Its catalogue section ("A" .. "D", see `STUDIES`).
    config : type
        Its settings dataclass; the defaults are the full scale.
    run : callable
        `run(cfg, ctx)`: does the work and records results through `ctx`.
    scales : mapping
        "smoke" / "quick" -> {setting: value} overrides of the defaults.
    claim : str, optional
        The one sentence the run's verdict (`ctx.verdict`) says held or not; None where the
        study states no claim.
    distributed : bool
        Its fits spread over the processes of `torchrun` / `--nproc`; False for an experiment
        that trains no torch model (NumPy, scikit-learn), which runs on rank 0 alone.
    """

    id: str
    title: str
    summary: str
    description: str
    study: str
    config: type[ExperimentConfig]
    run: Callable[[Any, Any], None]
    scales: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    claim: str | None = None
    distributed: bool = True

    @property
    def study_title(self) -> str:
        """The study's name, e.g. "B. Classic analyses and architecture studies"."""
        return f"{self.study}. {STUDIES[self.study]}"


EXPERIMENTS: Registry[Experiment] = Registry("experiment", "nnlab list")


def register(experiment: Experiment) -> Experiment:
    """Add an experiment to the registry (its id must be new)."""
    return EXPERIMENTS.add(experiment.id, experiment)


def experiment(
    id: str,
    *,
    title: str,
    summary: str,
    study: str,
    claim: str | None,
    description: str,
    scales: Mapping[str, Mapping[str, Any]] | None = None,
    distributed: bool = True,
) -> Callable:
    """Register the decorated `run(cfg: Config, ctx: Context)` as experiment `id`.

    The settings dataclass is the type `run` declares for `cfg`; the other arguments are the
    `Experiment`'s fields.
    """

    def decorate(run: Callable) -> Callable:
        config = typing.get_type_hints(run).get("cfg")
        if not (isinstance(config, type) and issubclass(config, ExperimentConfig)):
            raise NnlabError(
                f"experiment {id}: run(cfg, ctx) must annotate cfg with its ExperimentConfig "
                f"subclass, got {config!r}."
            )
        register(
            Experiment(
                id=id,
                title=title,
                summary=summary,
                description=description,
                study=study,
                config=config,
                run=run,
                scales=scales or {},
                claim=claim,
                distributed=distributed,
            )
        )
        return run

    return decorate


def in_catalogue_order() -> list[Experiment]:
    """Every registered experiment, by study and then in the catalogue's order."""

    def position(experiment: Experiment) -> tuple:
        known = experiment.id in CATALOGUE_ORDER
        index = CATALOGUE_ORDER.index(experiment.id) if known else len(CATALOGUE_ORDER)
        return experiment.study, index, experiment.id

    return sorted((EXPERIMENTS.get(name) for name in EXPERIMENTS), key=position)
