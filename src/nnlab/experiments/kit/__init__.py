"""The experiment kit: everything an experiment module imports to declare and run itself.

`experiment` registers a `run(cfg: Config, ctx: Context)`; `ExperimentConfig` and the setting
types (`PositiveInt`, `Momentum`, `Widths`, `Range`, ...) declare its settings; `Context` is
what `run` works through (data, fits, results, the verdict). The recipes several experiments
share live in this package's other modules; no experiment imports another.
"""

from nnlab.experiments.catalog import experiment
from nnlab.experiments.config import (
    ExperimentConfig,
    Fraction,
    Momentum,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    Range,
    Widths,
    format_widths,
)
from nnlab.experiments.context import Context

__all__ = [
    "Context",
    "ExperimentConfig",
    "Fraction",
    "Momentum",
    "NonNegativeFloat",
    "PositiveFloat",
    "PositiveInt",
    "Range",
    "Widths",
    "experiment",
    "format_widths",
]
