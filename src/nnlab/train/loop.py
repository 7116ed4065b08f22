"""The one training loop: `fit` trains a model on an `ImageSet` and returns its `History`.

Every torch experiment trains through `fit`. The sets stay on the device as whole tensors and a
batch is an index slice of them (`nnlab.data.batches`); callbacks clip, stop, checkpoint and show
progress through a handful of hooks, and a checkpoint resumes a fit exactly. `evaluate` scores a
model on a whole set.

A model may also return several heads, a dict {head: logits}: `heads` says how each head's labels
come from the set's labels (e.g. item -> group), the loss takes all heads at once (`head_loss`),
and the history gets the accuracy of every head besides the first head's `val_acc`.
"""

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.data import ImageSet, batches
from nnlab.data.pipeline import Batches, Transform
from nnlab.errors import ConfigError
from nnlab.train.callbacks import Checkpoint, check_positive_int
from nnlab.train.device import Acceleration, Speed, resolve_device
from nnlab.train.distributed import World, all_sum, gather, shard, world
from nnlab.train.heads import SINGLE, Heads, LabelMap, LossFn, apply_loss, check_heads
from nnlab.train.state import Callback, FitState, History

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
        int64 [N] on the CPU: the argmax output of each image, in the set's order (of the
        first head, for a multi-head model).
    head_accuracy : dict of str to float
        A multi-head model's accuracy per head (`accuracy` is the first head's); else empty.
    """

    loss: float
    accuracy: float
    predictions: torch.Tensor = field(repr=False)
    head_accuracy: dict[str, float] = field(default_factory=dict)


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
    precision: str = "auto",
    compile: bool | None = None,
    heads: Mapping[str, LabelMap] | None = None,
    accuracy: bool = True,
    sync_bn: bool = False,
) -> History:
    """Train `model` on `train` with `optimizer`, evaluating now and then; the one training loop.

    Under torchrun (a joined process group, `nnlab.train.distributed.join`) the fit is
    DistributedDataParallel: each rank trains on its contiguous part of every global batch
    (the batches and their seeded order are those of one process), gradients are averaged so
    that each step is the one-process step on the whole batch, evaluations are split across
    the ranks and summed, and only rank 0 writes checkpoints and logs.

    Parameters
    ----------
    model : nn.Module
        Maps a transformed batch [B, ...] to logits [B, K] (or, with `heads`, to a dict
        {head: logits [B, K_h]}); moved to `device`.
    train, val : ImageSet
        Images uint8 [N, C, H, W] and labels [N]; moved to `device` once. `val` is optional.
    epochs, steps : int
        How long to train: give exactly one.
    optimizer : torch.optim.Optimizer
        Built by the caller on `model.parameters()` (or `param_groups(model, ...)`).
    loss : callable
        loss(output [B, K], y [B]) -> mean loss, a scalar tensor; with `heads`,
        loss({head: output}, {head: y_h}), e.g. `head_loss({"item": 0.5, "group": 0.5})`.
    batch_size : int
        Images per step. Where the epoch's last batch would hold a single image it is left out
        (BatchNorm cannot train on one image); the shuffled order leaves out another each epoch.
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
    precision : str
        "auto": bf16 autocast (plus channels_last for a conv net) where the device computes bf16
        natively (a CUDA GPU of compute capability 8+, a CPU with AMX or AVX512-BF16), float32
        elsewhere; "fp32" or "bf16" to choose. The choice is `History.precision`.
    compile : bool, optional
        Train through `torch.compile`; default (None): on CUDA for fits of 500 steps or more,
        never on the CPU (measured slower there).
    heads : mapping, optional
        For a model returning several heads: head name -> its label map, None for the set's own
        labels or m (int, one per class of the set) making a head label m[y], e.g.
        {"item": None, "group": [0, 0, 1, ...]}. The first head is the main one: `train_acc` and
        `val_acc` are its accuracy, and each record adds `val_acc/<head>` for every head.
    accuracy : bool
        Record `train_acc` (argmax of the output against the label); False for a model whose
        output is not class scores, e.g. an embedding trained with the triplet loss.
    sync_bn : bool
        Over several processes: BatchNorm normalises with the whole global batch's statistics
        (SyncBatchNorm, CUDA only) instead of each rank's part. No effect in one process.

    Returns
    -------
    History
        One record per evaluation. On the CPU the same seed and initial model give bit-identical
        weights and history (but `seconds`). A `Checkpoint` whose file exists resumes the fit.
        Its `precision` says what the fit ran in, e.g. "bf16 autocast + channels_last".
    """
    _check_settings(
        train, val, epochs, steps, eval_every, batch_size, eval_batch_size, scheduler_interval
    )
    callbacks = _check_callbacks(callbacks)
    device = resolve_device(device)
    ranks = world()
    _check_ranks(ranks, batch_size, sync_bn, device)
    head_maps = check_heads(heads, loss, train, val, device)
    if sync_bn and ranks.distributed:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    model.to(device)
    # BatchNorm cannot train on one image per rank: a last batch that small is left out
    lone_last = len(train) > batch_size and 0 < len(train) % batch_size < 2 * ranks.size
    loader = batches(
        train.to(device),
        batch_size,
        shuffle=True,
        seed=seed,
        transform=transform,
        drop_last=lone_last,
    )
    loader.part = (ranks.rank, ranks.size)
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
    plan = Acceleration.plan(device, model, steps_total, Speed(precision, compile))
    source = next((cb for cb in callbacks if isinstance(cb, Checkpoint) and cb.exists()), None)
    snapshot = source.read(state.fingerprint) if source is not None else None
    if snapshot is not None and snapshot["complete"]:
        source.restore(state, snapshot)
        state.history.precision = plan.describe()
        return state.history
    hooks, was_training = _Hooks(callbacks), model.training
    with plan.backend_settings():
        loop = _Loop(
            state,
            loader,
            val=None if val is None else val.to(device),
            forward=_replicated(plan.prepare_model(model), ranks, device),
            loss=loss,
            eval_transform=transform if eval_transform is None else eval_transform,
            eval_batch_size=eval_batch_size,
            plan=plan,
            hooks=hooks,
            scheduler_interval=scheduler_interval,
            heads=head_maps,
            accuracy=accuracy,
        )
        try:
            hooks("on_fit_start", state)
            if snapshot is not None:
                source.restore(state, snapshot)
            loop.run()
            state.history.stop_reason = state.stop_reason
            state.history.precision = plan.describe()
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
    heads: Mapping[str, LabelMap] | None = None,
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
    heads : mapping, optional
        For a multi-head model, as for `fit`.

    Returns
    -------
    Evaluation
        Mean loss, accuracy and int64 predictions [N] on the CPU (of the first head), and the
        accuracy of every head.
    """
    if len(data) == 0:
        raise ConfigError(f"evaluate got an empty set ({data!r}); give it at least one image.")
    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    device = resolve_device(device)
    model.to(device)
    head_maps = check_heads(heads, loss, data, None, device)
    data = data.to(device)
    return _score(model, model, data, loss, batch_size, transform, Acceleration(), head_maps)


class _Hooks:
    """The callbacks' hooks per event, run in `Callback.order`; an error names its callback."""

    def __init__(self, callbacks: Sequence[Callback]):
        ordered = sorted(callbacks, key=lambda cb: cb.order)  # stable: ties keep the given order
        if not world().is_main:
            ordered = [cb for cb in ordered if not cb.main_rank_only]
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
        heads: Heads | None,
        accuracy: bool,
    ):
        self.state, self.loader, self.val, self.heads = state, loader, val, heads
        self.ranks = world()
        self.accuracy = accuracy
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
                self._step(xb, yb, self.loader.global_size(state.step % per_epoch))
                if state.stop or state.evaluates_at(state.step):
                    self._evaluate()
                if state.stop or state.step == state.steps_total:
                    break

    def _step(self, xb: torch.Tensor, yb: torch.Tensor, global_size: int) -> None:
        """One optimizer step on a batch (this rank's part of a batch of `global_size`)."""
        state, optimizer = self.state, self.state.optimizer
        optimizer.zero_grad(set_to_none=True)
        with self.plan.autocast_context():
            output = self.forward(self.plan.prepare_input(xb))
            loss, outputs, targets = apply_loss(self.loss, self.heads, output, yb)
        ranks = self.ranks.size
        # DDP averages the ranks' gradients; weighting each part's mean loss by its share of
        # the batch makes that average the gradient of the whole batch's mean loss
        (loss * (len(yb) * ranks / global_size) if ranks > 1 else loss).backward()
        self.hooks("after_backward", state)
        main = SINGLE if self.heads is None else self.heads.main
        if ranks > 1:
            correct = (outputs[main].detach().argmax(1) == targets[main]).sum()
            sums = all_sum(torch.stack([loss.detach().double() * len(yb), correct.double()]))
            state.loss = (sums[0] / global_size).float()
            state.running.add_sums(state.step + 1, state.loss, sums[0], sums[1], global_size)
        else:
            state.loss = loss.detach()
            state.running.add(state.step + 1, state.loss, outputs[main].detach(), targets[main])
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
        }
        if self.accuracy:
            record["train_acc"] = train_acc
        if self.val is not None:
            scores = _score(
                state.model,
                self.forward,
                self.val,
                self.loss,
                self.eval_batch_size,
                self.eval_transform,
                self.plan,
                self.heads,
            )
            record.update(val_loss=scores.loss, val_acc=scores.accuracy)
            record.update({f"val_acc/{h}": acc for h, acc in scores.head_accuracy.items()})
        record.update(lr=float(state.lr), seconds=state.train_seconds)
        state.history.append(record)
        if self.plateau:  # before the hooks, so a checkpoint holds the stepped scheduler
            state.scheduler.step(record["val_loss" if self.val is not None else "train_loss"])
        self.hooks("on_evaluate", state, record)
        self.timer = time.perf_counter()


def _score(
    model: nn.Module,
    forward: nn.Module,
    data: ImageSet,
    loss: LossFn,
    batch_size: int,
    transform: Transform | None,
    plan: Acceleration,
    heads: Heads | None = None,
) -> Evaluation:
    """`evaluate` through `forward` (the model, or its compiled wrapper) and `plan`."""
    was_training = model.training
    model.eval()
    names = [SINGLE] if heads is None else list(heads.maps)
    n = len(data)
    if world().distributed:  # each rank scores its contiguous part; the sums are reduced
        part = shard(n)
        data = replace(data, x=data.x[part], y=data.y[part])
    try:
        with torch.inference_mode():
            total = torch.zeros((), dtype=torch.float64, device=data.device)
            correct = {h: torch.zeros((), dtype=torch.int64, device=data.device) for h in names}
            predictions = []
            for xb, yb in batches(data, batch_size, transform=transform):
                with plan.autocast_context():
                    output = forward(plan.prepare_input(xb))
                    batch_loss, outputs, targets = apply_loss(loss, heads, output, yb)
                    total += batch_loss.double() * len(yb)  # batch mean -> batch sum
                for h in names:
                    predicted = outputs[h].argmax(1)
                    correct[h] += (predicted == targets[h]).sum()
                    if h == names[0]:
                        predictions.append(predicted)
    finally:
        model.train(was_training)
    all_sum(total)
    accuracy = {h: all_sum(c).item() / n for h, c in correct.items()}
    predicted = torch.cat(predictions) if predictions else torch.zeros(0, dtype=torch.int64)
    return Evaluation(
        total.item() / n,
        accuracy[names[0]],
        gather(predicted.to(data.device)).cpu(),
        {} if heads is None else accuracy,
    )


def _replicated(forward: nn.Module, ranks: World, device: torch.device) -> nn.Module:
    """`forward` as a DistributedDataParallel replica when the fit runs over several ranks."""
    if not ranks.distributed:
        return forward
    ids = [device.index if device.index is not None else 0] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(forward, device_ids=ids)


def _check_ranks(ranks: World, batch_size: int, sync_bn: bool, device: torch.device) -> None:
    """Refuse what a fit over several ranks cannot do, naming the setting."""
    if not ranks.distributed:
        return
    if batch_size < 2 * ranks.size:
        raise ConfigError(
            f"batch_size {batch_size} over {ranks.size} processes leaves fewer than 2 images "
            f"per rank; use a batch of at least {2 * ranks.size} or fewer processes."
        )
    if sync_bn and device.type != "cuda":
        raise ConfigError(
            "--sync-bn (SyncBatchNorm) works on CUDA only; on the CPU each rank's BatchNorm "
            "uses its own part of the batch. Drop --sync-bn or run on GPUs."
        )


def _check_settings(
    train: ImageSet,
    val: ImageSet | None,
    epochs: int | None,
    steps: int | None,
    eval_every: int | None,
    batch_size: int,
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
    check_positive_int("batch_size", batch_size, "e.g. 64")
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
