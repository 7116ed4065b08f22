"""The one training loop: `fit` trains a model on an `ImageSet` and returns its `History`.

Every torch experiment trains through `fit`. The sets stay on the device as whole tensors and a
batch is an index slice of them (`nnlab.data.batches`); callbacks clip, stop, checkpoint and show
progress through a handful of hooks, and a checkpoint resumes a fit exactly. `evaluate` scores a
model on a whole set.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.data import ImageSet, batches
from nnlab.data.pipeline import Batches, Transform
from nnlab.errors import ConfigError
from nnlab.train.callbacks import Checkpoint, check_positive_int
from nnlab.train.device import Acceleration, resolve_device
from nnlab.train.state import Callback, FitState, History

#: loss(output [B, K], y [B]) -> the batch's mean loss, a scalar tensor
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: on CUDA, steps between the host syncs that look for a non-finite loss (on the CPU: every step)
NAN_CHECK_EVERY = 50
_HOOKS = (
    "on_fit_start",
    "after_backward",
    "on_step_end",
    "on_evaluate",
    "on_fit_end",
    "on_fit_abort",
)


@dataclass(frozen=True)
class Evaluation:
    """A model's score on a whole set.

    Parameters
    ----------
    loss : float
        Mean loss over the images.
    accuracy : float
        Fraction of images whose argmax output is their label, in [0, 1].
    predictions : torch.Tensor
        int64 [N] on the CPU: the argmax output of each image, in the set's order.
    """

    loss: float
    accuracy: float
    predictions: torch.Tensor = field(repr=False)


class _Hooks:
    """The callbacks' hooks per event, run in `Callback.order`; an error names its callback."""

    def __init__(self, callbacks: Sequence[Callback]):
        ordered = sorted(callbacks, key=lambda cb: cb.order)  # stable: ties keep the given order
        # only overridden hooks are called: nothing to do per step for the no-op ones
        self._by_event = {
            event: [cb for cb in ordered if _overrides(cb, event)] for event in _HOOKS
        }

    def __call__(self, event: str, *args) -> None:
        for cb in self._by_event[event]:
            try:
                getattr(cb, event)(*args)
            except BaseException as error:
                error.add_note(f"(raised in callback {type(cb).__name__} at {event})")
                raise


def _overrides(cb: Callback, event: str) -> bool:
    return getattr(type(cb), event) is not getattr(Callback, event)


class _Loop:
    """One fit's fixed parts and its loop; what changes lives in the `FitState`."""

    def __init__(
        self,
        state: FitState,
        loader: Batches,
        val: ImageSet | None,
        forward: nn.Module,
        loss: LossFn,
        eval_transform: Transform | None,
        eval_batch_size: int,
        plan: Acceleration,
        hooks: _Hooks,
        scheduler_interval: str,
    ):
        self.state, self.loader, self.val = state, loader, val
        self.forward, self.loss, self.plan = forward, loss, plan
        self.eval_transform, self.eval_batch_size = eval_transform, eval_batch_size
        self.hooks, self.scheduler_interval = hooks, scheduler_interval
        self.plateau = isinstance(state.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
        self.timer = time.perf_counter()

    def run(self) -> None:
        """Train from `state.step` to the end, or until a callback stops the fit."""
        state, loader = self.state, self.loader
        per_epoch = len(loader)
        state.model.train()
        self.timer = time.perf_counter()
        while state.step < state.steps_total and not state.stop:
            state.epoch = state.step // per_epoch
            # a resumed fit starts at the epoch's first batch not yet trained
            for xb, yb in loader.iterate(state.epoch, state.step % per_epoch):
                self._step(xb, yb)
                if state.stop or state.evaluates_at(state.step):
                    self._evaluate()
                if state.stop or state.step == state.steps_total:
                    break

    def _step(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        state, optimizer = self.state, self.state.optimizer
        optimizer.zero_grad(set_to_none=True)
        with self.plan.autocast_context():
            output = self.forward(self.plan.prepare_input(xb))
            loss = self.loss(output, yb)
        loss.backward()
        self.hooks("after_backward", state)
        state.loss = loss.detach()
        state.running.add(state.step + 1, state.loss, output.detach(), yb)
        state.lr = optimizer.param_groups[0]["lr"]
        # the CPU checks every step, before the step spoils the weights; CUDA now and then
        if state.device.type != "cuda" or (state.step + 1) % NAN_CHECK_EVERY == 0:
            state.check_finite()
        optimizer.step()
        state.step += 1
        if state.scheduler is not None and not self.plateau:
            at_epoch_end = state.step % state.steps_per_epoch == 0
            if self.scheduler_interval == "step" or at_epoch_end:
                state.scheduler.step()
        self.hooks("on_step_end", state)

    def _evaluate(self) -> None:
        state = self.state
        if state.device.type == "cuda":
            torch.cuda.synchronize(state.device)  # the queued steps belong to the training time
        state.train_seconds += time.perf_counter() - self.timer
        state.check_finite()
        train_loss, train_acc = state.running.take()
        record = {
            "step": state.step,
            "epoch": state.step / state.steps_per_epoch,
            "train_loss": train_loss,
            "train_acc": train_acc,
        }
        if self.val is not None:
            scores = _score(
                state.model,
                self.forward,
                self.val,
                self.loss,
                self.eval_batch_size,
                self.eval_transform,
                self.plan,
            )
            record.update(val_loss=scores.loss, val_acc=scores.accuracy)
        record.update(lr=float(state.lr), seconds=state.train_seconds)
        state.history.append(record)
        if self.plateau:  # before the hooks, so a checkpoint holds the stepped scheduler
            state.scheduler.step(record["val_loss" if self.val is not None else "train_loss"])
        self.hooks("on_evaluate", state, record)
        self.timer = time.perf_counter()


def fit(
    model: nn.Module,
    train: ImageSet,
    val: ImageSet | None = None,
    *,
    epochs: int | None = None,
    steps: int | None = None,
    optimizer: torch.optim.Optimizer,
    loss: LossFn = F.cross_entropy,
    batch_size: int = 64,
    transform: Transform | None = None,
    eval_transform: Transform | None = None,
    scheduler: Any = None,
    scheduler_interval: str = "epoch",
    callbacks: Sequence[Callback] = (),
    device: str | torch.device | None = None,
    eval_every: int | None = None,
    eval_batch_size: int = 1024,
    seed: int = 0,
    accelerate: bool = True,
) -> History:
    """Train `model` on `train` with `optimizer`, evaluating now and then; the one training loop.

    Parameters
    ----------
    model : nn.Module
        Maps a transformed batch [B, ...] to logits [B, K]; moved to `device`.
    train, val : ImageSet
        Images uint8 [N, C, H, W] and labels [N]; moved to `device` once. `val` is optional.
    epochs, steps : int
        How long to train: give exactly one.
    optimizer : torch.optim.Optimizer
        Built by the caller on `model.parameters()` (or `param_groups(model, ...)`).
    loss : callable
        loss(output [B, K], y [B]) -> mean loss, a scalar tensor.
    batch_size : int
    transform, eval_transform : callable, optional
        Batch transforms, uint8 [B, C, H, W] -> float tensor (e.g. `to_signed`), for training and
        for evaluation (default: `transform`).
    scheduler : optional
        A learning-rate scheduler on `optimizer`, stepped per "epoch" or per "step"
        (`scheduler_interval`); a ReduceLROnPlateau is stepped at each evaluation with val_loss
        (train_loss without a val set).
    callbacks : sequence of Callback
    device : str or torch.device, optional
        See `resolve_device`; default: the GPU if there is one.
    eval_every : int, optional
        Steps between evaluations; default at each epoch's end. The last step is always evaluated.
    eval_batch_size : int
    seed : int
        Seed of the batch order (`nnlab.data.batches`); the model's initialisation is the caller's.
    accelerate : bool
        On CUDA: bf16 autocast, channels_last and torch.compile where they help.

    Returns
    -------
    History
        One record per evaluation. On the CPU the same seed and initial model give bit-identical
        weights and history (but `seconds`). A `Checkpoint` whose file exists resumes the fit.
    """
    _check_settings(train, val, epochs, steps, eval_every, eval_batch_size, scheduler_interval)
    callbacks = _check_callbacks(callbacks)
    device = resolve_device(device)
    model.to(device)
    loader = batches(train.to(device), batch_size, shuffle=True, seed=seed, transform=transform)
    per_epoch = len(loader)
    steps_total = steps if steps is not None else epochs * per_epoch
    # what a checkpoint must share with this fit to be resumed by it
    fingerprint = {
        "len(train)": len(train),
        "batch_size": batch_size,
        "steps_total": steps_total,
        "seed": seed,
        "eval_every": eval_every,
    }
    state = FitState(
        model,
        optimizer,
        scheduler,
        steps_total,
        per_epoch,
        batch_size,
        device,
        eval_every,
        callbacks=callbacks,
        fingerprint=fingerprint,
    )
    source = next((cb for cb in callbacks if isinstance(cb, Checkpoint) and cb.exists()), None)
    snapshot = source.read(state.fingerprint) if source is not None else None
    if snapshot is not None and snapshot["complete"]:
        source.restore(state, snapshot)
        return state.history
    plan = Acceleration.plan(device, model, steps_total, accelerate)
    hooks, was_training = _Hooks(callbacks), model.training
    with plan.backend_settings():
        loop = _Loop(
            state,
            loader,
            val=None if val is None else val.to(device),
            forward=plan.prepare_model(model),
            loss=loss,
            eval_transform=transform if eval_transform is None else eval_transform,
            eval_batch_size=eval_batch_size,
            plan=plan,
            hooks=hooks,
            scheduler_interval=scheduler_interval,
        )
        try:
            hooks("on_fit_start", state)
            if snapshot is not None:
                source.restore(state, snapshot)
            loop.run()
            state.history.stop_reason = state.stop_reason
            hooks("on_fit_end", state)
        except BaseException as error:
            hooks("on_fit_abort", state, error)
            raise
    model.train(was_training)
    return state.history


def evaluate(
    model: nn.Module,
    data: ImageSet,
    *,
    loss: LossFn = F.cross_entropy,
    batch_size: int = 1024,
    transform: Transform | None = None,
    device: str | torch.device | None = None,
) -> Evaluation:
    """Score `model` on every image of `data`, in eval mode and without autograd.

    Parameters
    ----------
    model : nn.Module
        Its train/eval mode is restored afterwards.
    data : ImageSet
    loss : callable
        loss(output [B, K], y [B]) -> mean loss, a scalar tensor.
    batch_size : int
    transform : callable, optional
        Batch transform, uint8 [B, C, H, W] -> float tensor.
    device : str or torch.device, optional
        Where to evaluate (the model is moved there); default: where the model's parameters are.

    Returns
    -------
    Evaluation
        Mean loss, accuracy and int64 predictions [N] on the CPU.
    """
    if len(data) == 0:
        raise ConfigError(f"evaluate got an empty set ({data!r}); give it at least one image.")
    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    device = resolve_device(device)
    model.to(device)
    return _score(model, model, data.to(device), loss, batch_size, transform, Acceleration())


def _score(
    model: nn.Module,
    forward: nn.Module,
    data: ImageSet,
    loss: LossFn,
    batch_size: int,
    transform: Transform | None,
    plan: Acceleration,
) -> Evaluation:
    """`evaluate` through `forward` (the model, or its compiled wrapper) and `plan`."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            total = torch.zeros((), dtype=torch.float64, device=data.device)
            correct = torch.zeros((), dtype=torch.int64, device=data.device)
            predictions = []
            for xb, yb in batches(data, batch_size, transform=transform):
                with plan.autocast_context():
                    output = forward(plan.prepare_input(xb))
                    total += loss(output, yb).double() * len(yb)  # batch mean -> batch sum
                predictions.append(output.argmax(1))
                correct += (predictions[-1] == yb).sum()
    finally:
        model.train(was_training)
    n = len(data)
    return Evaluation(total.item() / n, correct.item() / n, torch.cat(predictions).cpu())


def _check_settings(
    train: ImageSet,
    val: ImageSet | None,
    epochs: int | None,
    steps: int | None,
    eval_every: int | None,
    eval_batch_size: int,
    scheduler_interval: str,
) -> None:
    """Raise a `ConfigError` for a `fit` setting out of range, naming it."""
    if (epochs is None) == (steps is None):
        raise ConfigError(
            f"fit needs exactly one of epochs and steps, got epochs={epochs!r}, steps={steps!r}; "
            "e.g. epochs=10."
        )
    for name, value in [("epochs", epochs), ("steps", steps), ("eval_every", eval_every)]:
        if value is not None:
            check_positive_int(name, value, "e.g. 10")
    check_positive_int("eval_batch_size", eval_batch_size, "e.g. 1024")
    if scheduler_interval not in ("epoch", "step"):
        raise ConfigError(
            f"scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}."
        )
    for name, imageset in [("train", train), ("val", val)]:
        if imageset is not None and len(imageset) == 0:
            raise ConfigError(f"the {name} set {imageset!r} is empty; give it at least one image.")


def _check_callbacks(callbacks: Sequence[Callback]) -> list[Callback]:
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            hint = " (a class: call it, e.g. EarlyStopping())" if isinstance(cb, type) else ""
            raise ConfigError(
                f"callbacks must be Callback instances, got {cb!r}{hint}; see nnlab.train."
            )
    return callbacks
