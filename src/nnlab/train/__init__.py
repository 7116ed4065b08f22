"""Training: the one loop (`fit`, `evaluate`), its callbacks (history CSV and TensorBoard logs
among them), precision policy, fused optimisers and per-layer learning rates."""

from nnlab.train.callbacks import Checkpoint, EarlyStopping, GradClip, ProgressBar
from nnlab.train.device import (
    DEFAULT_SPEED,
    PRECISIONS,
    Speed,
    native_bf16,
    resolve_device,
    thread_limit,
)
from nnlab.train.groups import param_groups
from nnlab.train.heads import head_loss
from nnlab.train.logs import HistoryLog, TensorBoardLog
from nnlab.train.loop import Evaluation, evaluate, fit
from nnlab.train.optim import make_optimizer
from nnlab.train.state import Callback, FitState, History

__all__ = [
    "DEFAULT_SPEED",
    "PRECISIONS",
    "Callback",
    "Checkpoint",
    "EarlyStopping",
    "Evaluation",
    "FitState",
    "GradClip",
    "History",
    "HistoryLog",
    "ProgressBar",
    "Speed",
    "TensorBoardLog",
    "evaluate",
    "fit",
    "head_loss",
    "make_optimizer",
    "native_bf16",
    "param_groups",
    "resolve_device",
    "thread_limit",
]
