"""What the transfer-learning experiments share: settings, starting weights, inputs, linear probes.

- `TransferConfig`, `SMOKE_SCALE`, `load_splits`: the settings every fine-tuning experiment has
  (dataset, weights, input size, epochs, batch, subset sizes), its smoke scale on the embedded
  digits, and its splits loaded with their notes in the report.
- `start_model(ctx, "resnet18", 7, weights)`: the architecture with its starting weights, one
  setting for all of them: `imagenet` (torchvision's published weights, verified), `none`
  (random initialisation), a `.pth` state-dict file, or `run:<id>[/<checkpoint>]` (the weights a
  model ended with in an earlier nnlab run: pretrain on one dataset, transfer to another). The
  old head is dropped and a fresh one made for the new classes. Where the ImageNet file is
  missing, a smoke or quick run starts from random initialisation and says so at the top of its
  report; a full run stops with the error.
- `image_transform`: raw images to the network's input (to [0, 1], resize, grey to RGB,
  normalise), a function of the whole batch.
- `LinearProbe`: a model frozen but for its head. Without augmentation the frozen part is a fixed
  function of each image, so its features are computed once (`FeatureSet`) and only the head
  trains on them: the whole probe costs about one forward pass per image.
"""

import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from torch import nn

from nnlab.data import ImageSet, batches, transforms
from nnlab.data.imageset import LabelledTensors
from nnlab.data.pipeline import Transform
from nnlab.errors import ConfigError, CorruptFileError, MissingDataError, UnknownNameError
from nnlab.experiments.config import ExperimentConfig, check_positive
from nnlab.models import build
from nnlab.models.surgery import Frozen, freeze, head_name
from nnlab.models.weights import PRETRAINED, hash_prefix, load_into, pretrained, read_weights

WEIGHTS_FORMS = "imagenet, none, a .pth file, or run:<id>[/<checkpoint>]"

#: a smoke run of a fine-tuning experiment: a few embedded digits, 32 px, 2 epochs
SMOKE_SCALE = {
    "dataset": "digits",
    "image_size": 32,
    "epochs": 2,
    "batch_size": 32,
    "train_limit": 256,
    "test_limit": 128,
}


# ---- settings and data


@dataclass
class TransferConfig(ExperimentConfig):
    """Settings every fine-tuning experiment has; each redeclares the defaults of its study."""

    dataset: str = ""
    #: imagenet, none, a .pth file, or run:<id>[/<checkpoint>]
    weights: str = "imagenet"
    image_size: int = 224
    epochs: int = 10
    batch_size: int = 64
    #: at most this many training / test images (a seeded subset); None = the whole split
    train_limit: int | None = None
    test_limit: int | None = None

    def __post_init__(self):
        check_positive(self, "image_size", "epochs", "batch_size", "train_limit", "test_limit")
        check_weights_setting(self.weights)


def load_splits(
    ctx, cfg: TransferConfig, train: str = "train", test: str = "test"
) -> tuple[ImageSet, ImageSet]:
    """The `train` and `test` splits of `cfg.dataset`, limited, and their notes in the report.

    Below full scale a missing dataset is replaced by the embedded digits (`ctx.load` says so).
    """
    sets = (
        ctx.load(cfg.dataset, train, limit=cfg.train_limit, fallback="digits"),
        ctx.load(cfg.dataset, test, limit=cfg.test_limit, fallback="digits"),
    )
    for note in dict.fromkeys(n for s in sets for n in s.notes):
        ctx.note(note)
    return sets


# ---- starting weights


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


def start_model(ctx, arch: str, num_classes: int, weights: str) -> Start:
    """Build `arch` with `num_classes` outputs and load its starting weights.

    Parameters
    ----------
    ctx : Context
        The run's context (scale, seeds, notices, the runs folder for `run:<id>`).
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


def _imagenet_start(ctx, arch: str, num_classes: int) -> Start:
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


def _from_run(ctx, ref: str, model: nn.Module) -> tuple[dict[str, torch.Tensor], str]:
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


def checkpoint_model(path: Path) -> dict[str, torch.Tensor]:
    """The model state dict inside an nnlab checkpoint (`ctx.fit`'s `checkpoints/NAME.pt`)."""
    try:
        snapshot = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a damaged file
        raise CorruptFileError(
            f"checkpoint {path} cannot be read ({type(error).__name__}); it is damaged."
        ) from None
    if not isinstance(snapshot, dict) or not isinstance(snapshot.get("model"), dict):
        raise CorruptFileError(f"{path} is not an nnlab checkpoint (no 'model' state dict).")
    return snapshot["model"]


def _fits_backbone(model: nn.Module, state: dict[str, torch.Tensor]) -> bool:
    head = head_name(model)
    own = {k: v.shape for k, v in model.state_dict().items() if not _within(k, head)}
    theirs = {k: v.shape for k, v in state.items() if not _within(k, head)}
    return own == theirs


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


# ---- inputs


def image_transform(
    size: int, mean: tuple[float, ...], std: tuple[float, ...]
) -> transforms.Compose:
    """Raw images to network input: [0, 1], bilinear resize, grey to RGB, normalise.

    Parameters
    ----------
    size : int
        Side of the square input, e.g. 224.
    mean, std : tuple of float
        Three values each, for the RGB channels.

    Returns
    -------
    Compose
        uint8 [B, 1 or 3, H, W] -> float32 [B, 3, size, size].
    """
    return transforms.Compose(
        transforms.to_float,
        partial(transforms.resize, size=size),  # in float: no rounding to uint8 on the way
        transforms.grey_to_rgb,
        partial(transforms.normalize, mean=mean, std=std),
    )


# ---- linear probes on cached features


@dataclass(frozen=True)
class FeatureSet(LabelledTensors):
    """Fixed features of a set's images, `ImageSet`-like so `fit` and `evaluate` take it.

    Parameters
    ----------
    x : torch.Tensor
        float32 [N, D]: what the frozen part of a model makes of each image.
    y : torch.Tensor
        int64 [N] labels.
    classes : tuple of str
    name, split : str
    seconds : float
        Time it took to compute them.
    """

    x: torch.Tensor
    y: torch.Tensor
    classes: tuple[str, ...]
    name: str
    split: str = ""
    seconds: float = 0.0


def extract_features(
    model: nn.Module,
    images: ImageSet,
    *,
    transform: Transform | None,
    device: torch.device,
    batch_size: int = 256,
) -> FeatureSet:
    """The input of `model`'s head for every image, in eval mode and without gradients.

    Parameters
    ----------
    model : nn.Module
        A model whose head (`head_name`) is its last operation and takes [B, D].
    images : ImageSet
    transform : callable, optional
        Batch transform to the model's input.
    device : torch.device
    batch_size : int

    Returns
    -------
    FeatureSet
        Features [N, D] on `device`, in the set's order.
    """
    head = model.get_submodule(head_name(model))
    captured: list[torch.Tensor] = []
    handle = head.register_forward_hook(lambda module, args, out: captured.append(args[0]))
    was_training = model.training
    model.to(device).eval()
    start = time.perf_counter()
    first_output = None
    try:
        # no_grad, not inference_mode: the features must be usable in the head's backward
        with torch.no_grad():
            for xb, _ in batches(images.to(device), batch_size, transform=transform):
                out = model(xb)
                first_output = out if first_output is None else first_output
    finally:
        handle.remove()
        model.train(was_training)
    with torch.no_grad():  # after the hook is gone: checking calls the head once more
        _check_head_is_last(model, head, captured[0], first_output)
    x = torch.cat(captured)
    assert len(x) == len(images), (len(x), len(images))
    seconds = time.perf_counter() - start
    return FeatureSet(x, images.y.to(device), images.classes, images.name, images.split, seconds)


def _check_head_is_last(model: nn.Module, head: nn.Module, x: torch.Tensor, out: torch.Tensor):
    """Refuse a model whose output is not head(features): its features cannot stand in."""
    ok = x.ndim == 2
    if ok:
        expected = head(x)
        ok = expected.shape == out.shape and torch.allclose(expected, out, rtol=1e-4, atol=1e-5)
    if not ok:
        raise ConfigError(
            f"{type(model).__name__}'s head {head_name(model)!r} is not its last layer (or does "
            f"not take [B, D] features), so a probe on cached features does not apply; set "
            f"cache_features=false to train the head on the images instead."
        )


class LinearProbe:
    """A model frozen but for its head, and what to train: the head on cached features, or the
    model on images.

    Parameters
    ----------
    model : nn.Module
        A zoo model; `freeze(model, except_=[head])` is applied to it.
    transform : callable
        Batch transform from raw images to the model's input.
    device : torch.device
    cache : bool
        Compute the frozen features once and train only the head on them (no augmentation may
        be wanted then); False trains the whole (frozen) model on images, at the cost of a
        forward pass through the frozen part at every step.

    Attributes
    ----------
    frozen : Frozen
        What was frozen (`describe()` for the report).
    trainable : nn.Module
        What `fit` trains and `evaluate` scores: the head (cache) or the model.
    transform : callable or None
        The batch transform for `trainable`'s inputs (None for features).
    feature_seconds : float
        Time spent computing features so far.
    """

    def __init__(
        self, model: nn.Module, *, transform: Transform, device: torch.device, cache: bool = True
    ):
        self.model, self.device, self.cache = model, device, cache
        self.frozen: Frozen = freeze(model, except_=[head_name(model)])
        self.trainable = model.get_submodule(head_name(model)) if cache else model
        self.transform = None if cache else transform
        self._image_transform = transform
        self.feature_seconds = 0.0

    def inputs(self, images: ImageSet) -> ImageSet | FeatureSet:
        """What `trainable` takes for `images`: their cached features, or the images."""
        if not self.cache:
            return images
        features = extract_features(
            self.model, images, transform=self._image_transform, device=self.device
        )
        self.feature_seconds += features.seconds
        return features
