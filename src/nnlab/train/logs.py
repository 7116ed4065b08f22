"""Callbacks that keep a fit's history on disk as it goes: a CSV file and TensorBoard events.

Both are safe under resume: `HistoryLog` rewrites its file from the whole history at every
evaluation (a resumed fit's history already holds the restored records, so no row repeats), and
`TensorBoardLog` opens its writer with `purge_step` at the first step it logs, so TensorBoard
drops what an interrupted earlier attempt wrote past the point the fit resumed from.
"""

from __future__ import annotations

import csv
from pathlib import Path

from nnlab.errors import ConfigError
from nnlab.files import atomic_write
from nnlab.train.state import Callback, FitState

#: the columns a history CSV starts with, when the records have them; others follow as they come
_FIRST_COLUMNS = ("step", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr")


class HistoryLog(Callback):
    """Write the fit's history to `path` (CSV, one row per evaluation) after every evaluation.

    Columns: step, epoch, train_loss, train_acc, val_loss, val_acc, lr, then any other keys
    (per-head accuracies, grad_norm, ...) and seconds last. The file is replaced atomically.
    """

    main_rank_only = True

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def on_evaluate(self, state: FitState, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=history_columns(state.history), restval="")
            writer.writeheader()
            writer.writerows(state.history)


def history_columns(records: list[dict]) -> list[str]:
    """The CSV columns of a history: the usual ones first, `seconds` last."""
    keys = list(dict.fromkeys(k for r in records for k in r))
    first = [k for k in _FIRST_COLUMNS if k in keys]
    rest = [k for k in keys if k not in first and k != "seconds"]
    return first + rest + (["seconds"] if "seconds" in keys else [])


class TensorBoardLog(Callback):
    """Write every number of each evaluation as a TensorBoard scalar `NAME/key` at its step.

    Needs the `tensorboard` package (`pip install "nnlab[tensorboard]"`); the writer is opened
    at the first evaluation and closed when the fit ends or stops.
    """

    main_rank_only = True

    def __init__(self, logdir: str | Path, name: str):
        self._writer_class = self.check_installed()
        self.logdir = Path(logdir)
        self.name = name
        self._writer = None

    @staticmethod
    def check_installed() -> type:
        """torch's SummaryWriter, or a `ConfigError` saying how to install TensorBoard."""
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError(
                "TensorBoard logging needs the tensorboard package: "
                'pip install "nnlab[tensorboard]" (or drop --tensorboard / NNLAB_TENSORBOARD).'
            ) from None
        return SummaryWriter

    def on_evaluate(self, state: FitState, record: dict) -> None:
        if self._writer is None:
            self._writer = self._writer_class(str(self.logdir), purge_step=record["step"])
        for key, value in record.items():
            if key != "step" and isinstance(value, int | float) and not isinstance(value, bool):
                self._writer.add_scalar(f"{self.name}/{key}", value, record["step"])
        self._writer.flush()

    def on_fit_end(self, state: FitState) -> None:
        self._close()

    def on_fit_abort(self, state: FitState, error: BaseException) -> None:
        self._close()

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
