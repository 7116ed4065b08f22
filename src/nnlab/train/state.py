"""A fit's changing state and the hooks that see it: `History`, `FitState`, `Callback`.

`FitState` is what callbacks see; `snapshot()` / `restore()` are what a checkpoint saves and a
resumed fit loads, so a resume goes on exactly as the fit that was stopped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from nnlab.errors import ConfigError, DivergedError, NnlabError

#: the "format" entry of a checkpoint, checked on load
CHECKPOINT_FORMAT = "nnlab.train.checkpoint/1"


class Callback:
    """Hooks into `fit`, each a no-op until a subclass overrides it.

    Attributes
    ----------
    order : int
        Callbacks run in increasing `order`, ties in the order given. `Checkpoint` has 100, so it
        saves after the others have updated their state.
    main_rank_only : bool
        In a fit over several processes, only rank 0 runs this callback's hooks: those that
        write files or print (checkpoints, logs, progress). Callbacks that steer the fit
        (early stopping, clipping) run on every rank, on the same reduced numbers.
    """

    order = 0
    main_rank_only = False

    def on_fit_start(self, state: FitState) -> None:
        """Before the first step; a checkpoint being resumed is restored after this hook."""

    def after_backward(self, state: FitState) -> None:
        """Between `loss.backward()` and `optimizer.step()`: the gradients are there."""

    def on_step_end(self, state: FitState) -> None:
        """After each optimizer (and per-step scheduler) step; `state.step` counts it."""

    def on_evaluate(self, state: FitState, record: dict) -> None:
        """After each evaluation; `record` is already `state.history[-1]`.

        Set `state.stop = True` (and `state.stop_reason`) here to end the fit.
        """

    def on_fit_end(self, state: FitState) -> None:
        """After the last step and evaluation, when the fit ends normally."""

    def on_fit_abort(self, state: FitState, error: BaseException) -> None:
        """Instead of `on_fit_end` when the fit raises (KeyboardInterrupt too); it re-raises."""

    def state_dict(self) -> dict:
        """What a `Checkpoint` saves of this callback (tensors, numbers, strings, containers)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Take back what `state_dict` gave, when a fit resumes."""


class History(list):
    """A fit's evaluations: a list of dicts, one per evaluation, in step order.

    Each record holds `step` (optimizer steps done), `epoch` (step / steps per epoch), `train_loss`
    and `train_acc` (per-image means over the training batches since the previous evaluation; no
    `train_acc` when the fit was told its outputs are not class scores),
    `val_loss` and `val_acc` when a val set was given, `lr` (the first param group's learning rate
    in the last step) and `seconds` (training wall time so far, evaluation excluded); callbacks may
    add keys (GradClip: `grad_norm`).

    Attributes
    ----------
    stop_reason : str or None
        Why a callback stopped the fit early; None when it ran all its steps.
    precision : str
        What the fit computed in, e.g. "fp32" or "bf16 autocast + channels_last".
    """

    def __init__(
        self, records: Iterable[dict] = (), stop_reason: str | None = None, precision: str = "fp32"
    ):
        super().__init__(records)
        self.stop_reason = stop_reason
        self.precision = precision

    def column(self, key: str) -> list[float]:
        """One value per record.

        Parameters
        ----------
        key : str
            A record key, e.g. "val_acc".

        Returns
        -------
        list of float, in step order.
        """
        missing = [r["step"] for r in self if key not in r]
        if missing:
            keys = ", ".join(self[0]) if self else "none"
            raise ConfigError(
                f"history has no {key!r} at step(s) {missing[:5]}; its records hold: {keys}."
            )
        return [r[key] for r in self]

    def best(self, key: str, mode: str = "max") -> dict:
        """The record with the best value of `key` (the first one on ties).

        Parameters
        ----------
        key : str
        mode : {"max", "min"}

        Returns
        -------
        dict, one of the records.
        """
        if mode not in ("max", "min"):
            raise ConfigError(f"History.best mode must be 'max' or 'min', got {mode!r}.")
        if not self:
            raise NnlabError(f"history is empty: no record to take the best {key!r} from.")
        values = self.column(key)
        pick = max if mode == "max" else min
        return self[values.index(pick(values))]


class _Running:
    """Sums over the training batches since the last evaluation, and the first non-finite loss.

    Kept as tensors on the device, so a CUDA step needs no host sync.
    """

    def __init__(self, device: torch.device):
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)
        self.seen = 0
        self.first_bad = torch.zeros((), dtype=torch.int64, device=device)  # step, 0 = none
        self.bad_value = torch.zeros((), device=device)

    def add(self, step: int, loss: torch.Tensor, output: torch.Tensor, y: torch.Tensor) -> None:
        """Count one batch: its mean loss (scalar), output [B, K] and labels [B]."""
        self.add_sums(step, loss, loss.double() * len(y), (output.argmax(1) == y).sum(), len(y))

    def add_sums(
        self,
        step: int,
        loss: torch.Tensor,
        loss_sum: torch.Tensor,
        correct: torch.Tensor,
        seen: int,
    ) -> None:
        """Count one batch by its totals (over every rank's part, in a distributed fit): mean
        loss (scalar), summed loss, correct predictions and images."""
        self.loss_sum += loss_sum
        self.correct += correct.to(self.correct.dtype)
        self.seen += seen
        new_bad = ~torch.isfinite(loss) & (self.first_bad == 0)
        self.first_bad = torch.where(new_bad, step, self.first_bad)
        self.bad_value = torch.where(new_bad, loss.float(), self.bad_value)

    def take(self) -> tuple[float, float]:
        """(mean loss, accuracy) per image since the last call, then start over."""
        assert self.seen > 0, "an evaluation follows at least one training step"
        means = (self.loss_sum.item() / self.seen, self.correct.item() / self.seen)
        self.loss_sum.zero_()
        self.correct.zero_()
        self.seen = 0
        return means

    def state_dict(self) -> dict:
        return {"loss_sum": self.loss_sum.cpu(), "correct": self.correct.cpu(), "seen": self.seen}

    def load_state_dict(self, state: dict) -> None:
        self.loss_sum.copy_(state["loss_sum"])
        self.correct.copy_(state["correct"])
        self.seen = state["seen"]


@dataclass(eq=False)
class FitState:
    """What callbacks see of a running fit; they may set `stop` and `stop_reason`.

    Attributes
    ----------
    model, optimizer, scheduler
        As given to `fit` (`model` is never the compiled wrapper).
    step : int
        Optimizer steps done.
    steps_total, steps_per_epoch, batch_size : int
    epoch : int
        The current epoch, 0-based.
    history : History
    loss : torch.Tensor or None
        The last step's loss (detached scalar, on the device; `.item()` syncs on CUDA).
    lr : float
        The first param group's learning rate in the last step.
    device : torch.device
    stop : bool
        Set to end the fit after the current step (an evaluation follows if none just ran).
    stop_reason : str or None
        Why, for the history and the report.
    callbacks : list of Callback
        All of the fit's callbacks, in the order given.
    fingerprint : dict
        The settings a checkpoint must share to be resumed by this fit.
    train_seconds : float
        Training wall time so far, evaluation excluded.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    steps_total: int
    steps_per_epoch: int
    batch_size: int
    device: torch.device
    eval_every: int | None = None
    callbacks: list[Callback] = field(default_factory=list)
    fingerprint: dict = field(default_factory=dict)
    step: int = 0
    epoch: int = 0
    history: History = field(default_factory=History)
    loss: torch.Tensor | None = None
    lr: float = 0.0
    stop: bool = False
    stop_reason: str | None = None
    train_seconds: float = 0.0
    running: _Running = field(init=False)

    def __post_init__(self):
        self.running = _Running(self.device)

    def evaluates_at(self, step: int) -> bool:
        """Whether the fit evaluates after `step` (each epoch's end or every `eval_every`, last)."""
        every = self.eval_every or self.steps_per_epoch
        return step % every == 0 or step == self.steps_total

    def check_finite(self) -> None:
        """Raise an `NnlabError` if a training loss so far was nan or inf (a host sync on CUDA)."""
        bad_step = int(self.running.first_bad)
        if bad_step:
            value, epoch = float(self.running.bad_value), (bad_step - 1) // self.steps_per_epoch
            lr = float(self.lr)
            raise DivergedError(
                f"the training loss became {value} at step {bad_step} (epoch {epoch + 1}) with "
                f"learning rate {lr:g}. Use a smaller learning rate (e.g. {lr / 10:g}), "
                "or add GradClip(max_norm=1.0) to the callbacks."
            )

    def snapshot(self) -> dict:
        """Everything a resumed fit needs to go on exactly as this one would (see Checkpoint)."""
        cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else []
        return {
            "format": CHECKPOINT_FORMAT,
            "fingerprint": dict(self.fingerprint),
            "step": self.step,
            "stop": self.stop,
            "stop_reason": self.stop_reason,
            "train_seconds": self.train_seconds,
            "history": {"records": list(self.history), "stop_reason": self.history.stop_reason},
            "running": self.running.state_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "callbacks": {key: cb.state_dict() for key, cb in self._keyed_callbacks()},
            "rng": {"cpu": torch.get_rng_state(), "cuda": cuda_rng},
        }

    def restore(self, snapshot: dict) -> None:
        """Go back to the state `snapshot()` took (model, optimizer, RNG, callbacks, ...)."""
        saved, current = snapshot["callbacks"], dict(self._keyed_callbacks())
        # only stateful callbacks must line up: a ProgressBar may come or go
        stateful = {key for key, cb in current.items() if cb.state_dict()}
        if {key for key, state in saved.items() if state} != stateful:
            raise ConfigError(
                f"the checkpoint holds the state of callbacks {sorted(saved)} but this fit has "
                f"{sorted(current)}; pass the same callbacks in the same order to resume."
            )
        self.model.load_state_dict(snapshot["model"])
        self.optimizer.load_state_dict(snapshot["optimizer"])
        if self.scheduler is not None and snapshot["scheduler"] is not None:
            self.scheduler.load_state_dict(snapshot["scheduler"])
        for key, cb in current.items():
            if key in saved:
                cb.load_state_dict(saved[key])
        self.step = snapshot["step"]
        self.epoch = min(self.step, self.steps_total - 1) // self.steps_per_epoch
        self.stop, self.stop_reason = snapshot["stop"], snapshot["stop_reason"]
        self.train_seconds = snapshot["train_seconds"]
        self.history[:] = snapshot["history"]["records"]
        self.history.stop_reason = snapshot["history"]["stop_reason"]
        self.running.load_state_dict(snapshot["running"])
        torch.set_rng_state(snapshot["rng"]["cpu"])
        cuda_rng = snapshot["rng"]["cuda"]
        if cuda_rng and torch.cuda.is_available() and len(cuda_rng) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda_rng)

    def _keyed_callbacks(self) -> list[tuple[str, Callback]]:
        # position + class name: two callbacks of one class keep their own state
        return [(f"{i}:{type(cb).__name__}", cb) for i, cb in enumerate(self.callbacks)]
