"""Training: the one loop (`fit`, `evaluate`), its callbacks, and per-layer learning rates."""

from nnlab.train.callbacks import Checkpoint, EarlyStopping, GradClip, ProgressBar
from nnlab.train.device import resolve_device
from nnlab.train.groups import param_groups
from nnlab.train.heads import head_loss
from nnlab.train.loop import Evaluation, evaluate, fit
from nnlab.train.state import Callback, FitState, History

__all__ = [
    "Callback",
    "Checkpoint",
    "EarlyStopping",
    "Evaluation",
    "FitState",
    "GradClip",
    "History",
    "ProgressBar",
    "evaluate",
    "fit",
    "head_loss",
    "param_groups",
    "resolve_device",
]
