"""Experiments: one module per id of the catalogue (docs/experiments.md), each registering
itself in `EXPERIMENTS`.

`run_experiment("spatial-locality", scale="smoke")` runs one into a run folder with its report.
"""

import nnlab.experiments.cifar_mobilenet  # noqa: F401  (registers itself)
import nnlab.experiments.cnn_architectures  # noqa: F401  (registers itself)
import nnlab.experiments.cnn_visualization  # noqa: F401  (registers itself)
import nnlab.experiments.contrastive  # noqa: F401  (registers itself)
import nnlab.experiments.emotion_finetune  # noqa: F401  (registers itself)
import nnlab.experiments.fcn_vs_cnn  # noqa: F401  (registers itself)
import nnlab.experiments.flowers_transfer  # noqa: F401  (registers itself)
import nnlab.experiments.loss_convexity  # noqa: F401  (registers itself)
import nnlab.experiments.mlp_architectures  # noqa: F401  (registers itself)
import nnlab.experiments.mlp_lr_search  # noqa: F401  (registers itself)
import nnlab.experiments.multitask  # noqa: F401  (registers itself)
import nnlab.experiments.ocr  # noqa: F401  (registers itself)
import nnlab.experiments.pca_separability  # noqa: F401  (registers itself)
import nnlab.experiments.perceptron_pairs  # noqa: F401  (registers itself)
import nnlab.experiments.scratch_autoencoder  # noqa: F401  (registers itself)
import nnlab.experiments.scratch_mlp  # noqa: F401  (registers itself)
import nnlab.experiments.softmax_regression  # noqa: F401  (registers itself)
import nnlab.experiments.svhn_transfer  # noqa: F401  (registers itself)
from nnlab.experiments import spatial_locality  # noqa: F401  (registers itself)
from nnlab.experiments.catalog import EXPERIMENTS, STUDIES, Experiment, register
from nnlab.experiments.config import ExperimentConfig, parse_assignments, resolve
from nnlab.experiments.context import Context
from nnlab.experiments.runner import default_runs_dir, resume_experiment, run_experiment

__all__ = [
    "EXPERIMENTS",
    "STUDIES",
    "Context",
    "Experiment",
    "ExperimentConfig",
    "default_runs_dir",
    "parse_assignments",
    "register",
    "resolve",
    "resume_experiment",
    "run_experiment",
]
