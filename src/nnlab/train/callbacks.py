"""The four callbacks `fit` ships with (the `Callback` hooks themselves are in `state`).

`EarlyStopping` ends a fit when a metric stops improving or reaches a target, `GradClip` clips
the gradient norm, `Checkpoint` saves the fit so that it resumes exactly, and `ProgressBar` shows
where it is. A callback changes the fit only through the `FitState` it is handed.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from nnlab.errors import ConfigError, CorruptFileError
from nnlab.files import atomic_write
from nnlab.train.state import CHECKPOINT_FORMAT, Callback, FitState

_CHECKPOINT_KEYS = {"format", "fingerprint", "complete", "step", "model", "optimizer", "callbacks"}


def check_positive_int(name: str, value: object, example: str) -> None:
    """Raise a `ConfigError` naming the setting unless `value` is an int >= 1 (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}; {example}.")


class EarlyStopping(Callback):
    """Stop when a metric has not improved for `patience` evaluations, or reaches `target`.

    Parameters
    ----------
    metric : str
        A record key, e.g. "val_loss", "val_acc", "train_loss".
    mode : {"min", "max"}
        Whether smaller or larger is better.
    patience : int
        Evaluations without an improvement larger than `min_delta` before stopping.
    min_delta : float
        The least change that counts as an improvement.
    target : float, optional
        Stop as soon as the metric reaches it (<= for "min", >= for "max").
    restore_best : bool
        At the end of the fit, load the weights of the best evaluation.
    """

    def __init__(
        self,
        metric: str = "val_loss",
        mode: str = "min",
        patience: int = 5,
        min_delta: float = 0.0,
        target: float | None = None,
        restore_best: bool = False,
    ):
        if mode not in ("min", "max"):
            raise ConfigError(f"EarlyStopping mode must be 'min' or 'max', got {mode!r}.")
        check_positive_int("EarlyStopping patience", patience, "e.g. 5")
        if not min_delta >= 0:
            raise ConfigError(f"EarlyStopping min_delta must be >= 0, got {min_delta!r}.")
        self.metric, self.mode, self.patience, self.min_delta = metric, mode, patience, min_delta
        self.target, self.restore_best = target, restore_best
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_step: int | None = None
        self.counter = 0  # evaluations since the last improvement
        self.best_weights: dict[str, torch.Tensor] | None = None

    def on_fit_start(self, state: FitState) -> None:
        self._reset()

    def on_evaluate(self, state: FitState, record: dict) -> None:
        if self.metric not in record:
            raise ConfigError(
                f"EarlyStopping metric {self.metric!r} is not in the evaluation records, which "
                f"hold: {', '.join(record)}. Use one of these (val_* needs a val set)."
            )
        value = record[self.metric]
        sign = 1 if self.mode == "min" else -1
        if sign * value < sign * self.best - self.min_delta:
            self.best, self.best_step, self.counter = value, state.step, 0
            if self.restore_best:
                self.best_weights = {
                    k: v.detach().clone() for k, v in state.model.state_dict().items()
                }
        else:
            self.counter += 1
        if self.target is not None and sign * value <= sign * self.target:
            state.stop = True
            state.stop_reason = (
                f"early stopping: {self.metric} reached the target {self.target:g} "
                f"at step {state.step} ({value:.4g})"
            )
        elif self.counter >= self.patience:
            state.stop = True
            state.stop_reason = (
                f"early stopping: {self.metric} did not improve for {self.patience} evaluations; "
                f"best {self.best:.4g} at step {self.best_step}"
            )

    def on_fit_end(self, state: FitState) -> None:
        if self.restore_best and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        return {
            "best": self.best,
            "best_step": self.best_step,
            "counter": self.counter,
            "best_weights": self.best_weights,
        }

    def load_state_dict(self, state: dict) -> None:
        self.best, self.best_step = state["best"], state["best_step"]
        self.counter, self.best_weights = state["counter"], state["best_weights"]


class GradClip(Callback):
    """Clip the total gradient norm before each optimizer step (`clip_grad_norm_`).

    Adds `grad_norm` to each record: the largest norm before clipping since the previous one.

    Parameters
    ----------
    max_norm : float
        Positive.
    norm_type : float
        The p of the p-norm over all gradients together (inf for the max norm).
    """

    def __init__(self, max_norm: float, norm_type: float = 2.0):
        if not max_norm > 0:
            raise ConfigError(f"GradClip max_norm must be positive, got {max_norm!r}; e.g. 1.0.")
        self.max_norm, self.norm_type = float(max_norm), float(norm_type)
        self._largest: torch.Tensor | None = None  # stays on the device: no host sync per step

    def on_fit_start(self, state: FitState) -> None:
        self._largest = None

    def after_backward(self, state: FitState) -> None:
        norm = torch.nn.utils.clip_grad_norm_(
            state.model.parameters(), self.max_norm, self.norm_type
        ).detach()
        if self._largest is not None:  # (restored from a checkpoint on the CPU: move it once)
            norm = torch.maximum(self._largest.to(norm.device), norm)
        self._largest = norm

    def on_evaluate(self, state: FitState, record: dict) -> None:
        if self._largest is not None:
            record["grad_norm"] = float(self._largest)
            self._largest = None

    def state_dict(self) -> dict:
        return {"largest": None if self._largest is None else float(self._largest)}

    def load_state_dict(self, state: dict) -> None:
        largest = state["largest"]
        self._largest = None if largest is None else torch.tensor(largest)


class Checkpoint(Callback):
    """Save the fit at each evaluation (and every `every` steps) so that it resumes exactly.

    A checkpoint holds the model, optimizer and scheduler state, the step, the history, the
    running training sums, every callback's `state_dict`, torch's CPU (and CUDA) RNG states and a
    fingerprint of the fit's settings; at the end of the fit it is marked complete. When `path`
    exists as a fit starts, the fit resumes from it: the same remaining batches, RNG and callback
    state, so it ends as the uninterrupted fit would have; a complete one returns its history
    without training. Files are written to a temporary name and renamed, so a killed fit leaves
    the previous checkpoint intact.

    Parameters
    ----------
    path : str or Path
        The checkpoint file; its folder is created when needed.
    every : int, optional
        Also save every this many steps.
    """

    order = 100
    main_rank_only = True  # every rank resumes from the file; rank 0 alone writes it

    def __init__(self, path: str | Path, every: int | None = None):
        if every is not None:
            check_positive_int("Checkpoint every", every, "e.g. 500, or None")
        self.path, self.every = Path(path), every

    def exists(self) -> bool:
        """Whether there is a checkpoint to resume from."""
        return self.path.exists()

    def on_step_end(self, state: FitState) -> None:
        # a step that is evaluated is saved after its evaluation, with its record
        if self.every and state.step % self.every == 0 and not state.evaluates_at(state.step):
            self.save(state)

    def on_evaluate(self, state: FitState, record: dict) -> None:
        self.save(state)

    def on_fit_end(self, state: FitState) -> None:
        self.save(state, complete=True)

    def save(self, state: FitState, complete: bool = False) -> None:
        """Write the fit's state to `path` atomically (never after a non-finite loss)."""
        state.check_finite()
        snapshot = state.snapshot()
        snapshot["complete"] = complete
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path, "wb") as f:
            torch.save(snapshot, f)

    def read(self, fingerprint: dict) -> dict:
        """The saved snapshot, checked to be a checkpoint of a fit with these settings.

        Parameters
        ----------
        fingerprint : dict
            The resuming fit's settings (`FitState.fingerprint`).
        """
        try:
            snapshot = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises many kinds for a damaged file
            raise CorruptFileError(
                f"checkpoint {self.path} cannot be read ({type(error).__name__}: {error}). "
                "It is truncated or not an nnlab checkpoint: delete it to start the fit afresh."
            ) from None
        if not isinstance(snapshot, dict) or snapshot.get("format") != CHECKPOINT_FORMAT:
            raise CorruptFileError(
                f"checkpoint {self.path} is not an nnlab checkpoint (no format "
                f"{CHECKPOINT_FORMAT!r}); delete it or give Checkpoint another path."
            )
        if not snapshot.keys() >= _CHECKPOINT_KEYS:
            raise CorruptFileError(
                f"checkpoint {self.path} lacks {sorted(_CHECKPOINT_KEYS - snapshot.keys())}; "
                "delete it to start the fit afresh."
            )
        saved = snapshot["fingerprint"]
        differ = [key for key in fingerprint if saved.get(key) != fingerprint[key]]
        if differ:
            old = ", ".join(f"{key}={saved.get(key)!r}" for key in differ)
            new = ", ".join(f"{key}={fingerprint[key]!r}" for key in differ)
            raise ConfigError(
                f"checkpoint {self.path} was written by a fit with {old}, but this fit has {new}. "
                "Delete the file to start afresh, or use the old setting to resume."
            )
        return snapshot

    def restore(self, state: FitState, snapshot: dict) -> None:
        """Put `snapshot` (from `read`) into the fit's model, optimizer, callbacks and RNG."""
        try:
            state.restore(snapshot)
        except (RuntimeError, ValueError, ConfigError) as error:
            raise ConfigError(
                f"checkpoint {self.path} does not match this fit: {error} Delete it to start "
                "afresh, or build the model, optimizer and callbacks as the fit that wrote it."
            ) from None


class ProgressBar(Callback):
    """Show a fit's progress on the console (rank 0's, in a fit over several processes).

    On a terminal: a live bar with the label, epoch, step/total, loss and images/s. Otherwise (a
    log file, CI): one plain line per evaluation with the label, epoch, step, train and val loss
    and accuracy, and images/s.

    Parameters
    ----------
    label : str
        Names the fit, e.g. the experiment and model.
    console : rich.console.Console, optional
        Where to write; default a console on stderr.
    """

    refresh_seconds = 0.5  # how often the bar reads the loss (a host sync on CUDA)
    main_rank_only = True

    def __init__(self, label: str = "", console: Console | None = None):
        self.label, self.console = label, console
        self._progress: Progress | None = None
        self._task = None
        self._started: tuple[float, int] | None = None  # (time, step) at the first step run
        self._refreshed = -math.inf

    def on_fit_start(self, state: FitState) -> None:
        self.console = self.console or Console(stderr=True)
        self._started, self._refreshed = None, -math.inf
        if not self.console.is_terminal:
            return
        self._progress = Progress(
            TextColumn(self.label),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self._progress.start()
        self._task = self._progress.add_task(self.label, total=state.steps_total, info="")

    def on_step_end(self, state: FitState) -> None:
        if self._progress is None:
            return
        now = time.perf_counter()
        # counted from the first step, not the fit's start: a resumed fit starts at its step
        self._started = self._started or (now, state.step)
        self._progress.update(self._task, completed=state.step)
        if now - self._refreshed >= self.refresh_seconds:
            self._refreshed = now
            start_time, start_step = self._started
            rate = (state.step - start_step) * state.batch_size / max(now - start_time, 1e-9)
            info = f"epoch {state.epoch + 1} loss {state.loss.item():.4f} {rate:,.0f} img/s"
            self._progress.update(self._task, info=info)

    def on_evaluate(self, state: FitState, record: dict) -> None:
        if self._progress is not None:
            return
        previous = state.history[-2] if len(state.history) > 1 else {"step": 0, "seconds": 0.0}
        seconds = record["seconds"] - previous["seconds"]
        rate = (record["step"] - previous["step"]) * state.batch_size / max(seconds, 1e-9)
        parts = [
            self.label,
            f"epoch {record['epoch']:.3g}/{state.steps_total / state.steps_per_epoch:.3g}",
            f"step {record['step']}/{state.steps_total}",
            f"train loss {record['train_loss']:.4f}",
            f"acc {record['train_acc']:.4f}" if "train_acc" in record else "",
        ]
        if "val_loss" in record:
            parts.append(f"val loss {record['val_loss']:.4f} acc {record['val_acc']:.4f}")
        parts.append(f"{rate:,.0f} img/s")
        line = " ".join(p for p in parts if p)
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def on_fit_end(self, state: FitState) -> None:
        self._close()

    def on_fit_abort(self, state: FitState, error: BaseException) -> None:
        self._close()

    def _close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
