"""Experiments: one module per id of the catalogue (docs/experiments.md), each registering
itself in `EXPERIMENTS` through `@experiment(...)`.

Every module of this package is imported here (a package scan, so a new experiment cannot be
left out by a forgotten import line), but for those whose name starts with "_" and the
package's own machinery.
`run_experiment("spatial-locality", scale="smoke")` runs one into a run folder with its report.
"""

import importlib
import pkgutil

from nnlab.experiments.catalog import EXPERIMENTS, STUDIES, Experiment, experiment, register
from nnlab.experiments.config import ExperimentConfig, parse_assignments, resolve
from nnlab.experiments.context import Context
from nnlab.experiments.runner import default_runs_dir, resume_experiment, run_experiment

#: the package's own machinery, not experiments (docs is also run as `python -m`)
_MACHINERY = {"book", "catalog", "config", "context", "docs", "kit", "runner", "study"}

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_") and _module.name not in _MACHINERY:
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "EXPERIMENTS",
    "STUDIES",
    "Context",
    "Experiment",
    "ExperimentConfig",
    "default_runs_dir",
    "experiment",
    "parse_assignments",
    "register",
    "resolve",
    "resume_experiment",
    "run_experiment",
]
