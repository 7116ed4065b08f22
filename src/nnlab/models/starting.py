"""Starting weights for transfer: one `weights` setting names where a model's weights come from.

`start_model(ctx, "resnet18", 7, weights)` builds the architecture with its starting weights:
`imagenet` (torchvision's published weights, verified), `none` (random initialisation), a
`.pth` state-dict file, or `run:<id>[/<checkpoint>]` (the weights a model ended with in an
earlier nnlab run: pretrain on one dataset, transfer to another). The old head is dropped and a
fresh one made for the new classes. Where the ImageNet file is missing, a smoke or quick run
starts from random initialisation and says so at the top of its report; a full run stops with
the error.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from nnlab.errors import ConfigError, MissingDataError, UnknownNameError
from nnlab.models.registry import build
from nnlab.models.surgery import head_name
from nnlab.models.weights import (
    PRETRAINED,
    checkpoint_model,
    hash_prefix,
    load_into,
    pretrained,
    read_weights,
)

WEIGHTS_FORMS = "imagenet, none, a .pth file, or run:<id>[/<checkpoint>]"


class StartContext(Protocol):
    """What `start_model` needs of a run's context (`nnlab.experiments.kit.Context` has it)."""

    scale: str
    run: Any  # its `runs_dir` holds the earlier runs of `run:<id>`

    def seed_torch(self, purpose: str) -> None: ...

    def notice(self, text: str) -> None: ...


def check_weights_setting(value: str) -> None:
    """Refuse a `weights` setting that is none of `WEIGHTS_FORMS` (files are checked on use)."""
    if value in ("imagenet", "none") or value.startswith("run:"):
        return
    if not value.endswith((".pth", ".pt")):
        raise ConfigError(
            f"weights must be {WEIGHTS_FORMS}; got {value!r}. E.g. --set weights=none, or "
            f"--set weights=run:20240501-142233-flowers-transfer."
        )


@dataclass(frozen=True)
class Start:
    """A model ready for transfer and where its weights came from.

    Parameters
    ----------
    model : nn.Module
        The architecture with its starting weights and a fresh head.
    description : str
        For the report, e.g. "ImageNet weights (resnet18-f37072fd.pth, SHA-256 verified)".
    pretrained : bool
        Whether weights were loaded (False: random initialisation).
    """

    model: nn.Module
    description: str
    pretrained: bool


def start_model(ctx: StartContext, arch: str, num_classes: int, weights: str) -> Start:
    """Build `arch` with `num_classes` outputs and load its starting weights.

    Parameters
    ----------
    ctx : StartContext
        The run's context (`nnlab.experiments.kit.Context`): scale, seeds, notices, and the
        runs folder for `run:<id>`.
    arch : str
        A registered architecture, e.g. "resnet18".
    num_classes : int
        Classes of the new head.
    weights : str
        One of `WEIGHTS_FORMS`.

    Returns
    -------
    Start
    """
    check_weights_setting(weights)
    ctx.seed_torch(f"init/{arch}")  # the fresh head (and a random start) are seeded
    if weights == "none":
        return Start(build(arch, num_classes=num_classes), "random initialisation", False)
    if weights == "imagenet":
        return _imagenet_start(ctx, arch, num_classes)
    model = build(arch, num_classes=num_classes)
    if weights.startswith("run:"):
        state, source = _from_run(ctx, weights.removeprefix("run:"), model)
    else:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise MissingDataError(
                f"weights file {path} does not exist; give a state dict saved with "
                f"torch.save(model.state_dict(), path), or use weights=imagenet or none."
            )
        checked = hash_prefix(path.name) is not None
        state = read_weights(path, check_hash=checked)
        source = path.name + ("" if checked else " (no SHA-256 prefix in its name: unchecked)")
    load_backbone(model, state, source)
    return Start(model, f"weights of {source}", True)


def _imagenet_start(ctx: StartContext, arch: str, num_classes: int) -> Start:
    """ImageNet weights; below full scale, random initialisation with a notice when missing."""
    try:
        model = pretrained(arch, num_classes)
    except MissingDataError as exc:
        if ctx.scale == "full":
            raise
        ctx.notice(
            f"No ImageNet weights for {arch} here, so this {ctx.scale}-scale run starts {arch} "
            f"from random initialisation: its numbers say nothing about transfer from "
            f"ImageNet. ({exc})"
        )
        ctx.seed_torch(f"init/{arch}")
        model = build(arch, num_classes=num_classes)
        return Start(model, "random initialisation (ImageNet weights missing)", False)
    file_name = PRETRAINED[arch].file_name
    return Start(model, f"ImageNet weights ({file_name}, SHA-256 verified)", True)


def load_backbone(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load every weight but the head's from `state` (strict on the rest); the head stays fresh.

    Parameters
    ----------
    model : nn.Module
        A zoo model (it names its head).
    state : dict
        A state dict of the same architecture, with any head.
    source : str
        Where it came from, for errors.
    """
    head = head_name(model)
    own_head = {k: v for k, v in model.state_dict().items() if _within(k, head)}
    backbone = {k: v for k, v in state.items() if not _within(k, head)}
    load_into(model, {**backbone, **own_head}, source)


def _from_run(ctx: StartContext, ref: str, model: nn.Module) -> tuple[dict[str, torch.Tensor], str]:
    """The model weights of a checkpoint of an earlier run that fit `model`'s backbone."""
    run_id, _, name = ref.partition("/")
    folder = Path(ctx.run.runs_dir) / run_id
    if not (folder / "run.json").is_file():
        raise UnknownNameError(
            f"weights=run:{ref}: there is no run {run_id!r} in {ctx.run.runs_dir}; "
            f"`nnlab runs` lists the runs (give --out the folder that holds it)."
        )
    pattern = f"{name}.pt" if name else "*.pt"
    files = sorted((folder / "checkpoints").glob(pattern))
    fits = [(f, s) for f in files if _fits_backbone(model, s := checkpoint_model(f))]
    if len(fits) != 1:
        listing = ", ".join(f.stem for f in files) or "none"
        why = "none of them holds" if not fits else "several of them hold"
        raise ConfigError(
            f"weights=run:{ref}: {why} a backbone that fits {type(model).__name__} (checkpoints: "
            f"{listing}); name one with run:{run_id}/<checkpoint>."
        )
    file, state = fits[0]
    return state, f"run {run_id}, checkpoint {file.stem}"


def _fits_backbone(model: nn.Module, state: dict[str, torch.Tensor]) -> bool:
    head = head_name(model)
    own = {k: v.shape for k, v in model.state_dict().items() if not _within(k, head)}
    theirs = {k: v.shape for k, v in state.items() if not _within(k, head)}
    return own == theirs


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")
