"""Pretrained ImageNet weights by architecture name: found, verified, loaded strictly; and the
model weights inside an nnlab checkpoint (`checkpoint_model`), for weights an earlier run trained.

`pretrained("resnet18", num_classes=7)` builds ResNet-18, loads torchvision's published ImageNet
weights into it with `strict=True` and gives it a fresh 7-class head. The file is looked for under
its official name (e.g. `resnet18-f37072fd.pth`) in `$NNLAB_DATA/weights/`, then in torch's hub
cache (`$TORCH_HOME/hub/checkpoints/`, by default `~/.cache/torch/hub/checkpoints/`), and is
otherwise downloaded from torchvision's address into the hub cache. Every file, found or freshly
downloaded, must match the SHA-256 prefix in its name (torch hub's convention), and is read with
`torch.load(weights_only=True)`, which runs no code from the file.
"""

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from nnlab.data import data_root
from nnlab.data.checksums import file_digests
from nnlab.data.fetch import Download, Progress, download_part
from nnlab.errors import CorruptFileError, MissingDataError
from nnlab.models.registry import build
from nnlab.models.surgery import replace_head

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: torch hub's file naming: <name>-<first hex digits of the file's SHA-256>.pth
_HASHED_NAME = re.compile(r"^(?P<stem>.+)-(?P<prefix>[0-9a-f]{8,64})\.pth?$")
_URL = "https://download.pytorch.org/models/"


@dataclass(frozen=True)
class Pretrained:
    """One published weight file of an architecture and what it expects.

    Parameters
    ----------
    arch : str
        The registered model name (`nnlab.models.build(arch)` makes the matching network).
    url : str
        torchvision's download address; its last part is the official file name.
    top1 : float
        Published ImageNet top-1 accuracy, in percent.
    input_size : int
        Side of the images it was trained on (resize/crop to this at full scale).
    mean, std : tuple of float
        Per-channel normalisation of its training images (after scaling to [0, 1]).
    """

    arch: str
    url: str
    top1: float
    input_size: int = 224
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    @property
    def file_name(self) -> str:
        """The official file name, e.g. "resnet18-f37072fd.pth"."""
        return self.url.rsplit("/", 1)[-1]

    @property
    def sha256_prefix(self) -> str:
        """The SHA-256 prefix in the file name, e.g. "f37072fd"."""
        prefix = hash_prefix(self.file_name)
        assert prefix is not None, self.file_name
        return prefix


def _imagenet(arch: str, file_name: str, top1: float) -> Pretrained:
    return Pretrained(arch, _URL + file_name, top1)


#: architecture -> torchvision's IMAGENET1K_V1 weights (the ones the studies used)
PRETRAINED: dict[str, Pretrained] = {
    p.arch: p
    for p in (
        _imagenet("alexnet", "alexnet-owt-7be5be79.pth", 56.522),
        _imagenet("vgg16", "vgg16-397923af.pth", 71.592),
        _imagenet("vgg16_bn", "vgg16_bn-6c64b313.pth", 73.36),
        _imagenet("resnet18", "resnet18-f37072fd.pth", 69.758),
        _imagenet("resnet50", "resnet50-0676ba61.pth", 76.13),
        _imagenet("resnet101", "resnet101-63fe2227.pth", 77.374),
        _imagenet("mobilenet_v2", "mobilenet_v2-b0353104.pth", 71.878),
        _imagenet("squeezenet1_1", "squeezenet1_1-b8a52dc0.pth", 58.178),
    )
}


def hash_prefix(file_name: str) -> str | None:
    """The SHA-256 prefix a torch-hub style name carries ("resnet18-f37072fd.pth" -> "f37072fd").

    Returns None for a name without one (at least 8 lower-case hex digits before ".pth").
    """
    match = _HASHED_NAME.match(file_name)
    return match["prefix"] if match else None


def weights_dirs(root: str | os.PathLike | None = None) -> list[Path]:
    """Where weight files are looked for, in order: the data root's `weights/`, torch's hub cache.

    Parameters
    ----------
    root : path, optional
        Data root; default `$NNLAB_DATA` or ~/.cache/nnlab/data.
    """
    return [data_root(root) / "weights", Path(torch.hub.get_dir()) / "checkpoints"]


def find_weights(
    arch: str,
    *,
    root: str | os.PathLike | None = None,
    download: bool = True,
    progress: Progress | None = None,
) -> Path:
    """The verified ImageNet weight file of `arch`: found on disk or downloaded.

    Parameters
    ----------
    arch : str
        A key of `PRETRAINED`, e.g. "resnet18".
    root : path, optional
        Data root whose `weights/` folder is searched first.
    download : bool
        Download the file into torch's hub cache when it is nowhere on disk.
    progress : callable, optional
        `progress(label, bytes_done, bytes_total)` while downloading.

    Returns
    -------
    Path
        A file whose SHA-256 starts with the prefix in its name (checked now).
    """
    spec = _spec(arch)
    folders = weights_dirs(root)
    for folder in folders:
        path = folder / spec.file_name
        if path.is_file():
            verify(path)
            return path
    if not download:
        raise _missing(spec, folders, "downloading was turned off")
    try:
        return _fetch(spec, folders[-1], progress)
    except MissingDataError as exc:
        # the download's message ends "...; copy the files by hand into <hub cache>": keep the
        # reason, the advice is _missing's
        raise _missing(spec, folders, str(exc).split("; ")[0]) from None


def verify(path: str | os.PathLike) -> str:
    """Check a weight file against the SHA-256 prefix in its name; return the full digest.

    A name without a prefix, or a file whose digest does not start with it, is refused with a
    `CorruptFileError` that names the file and says what to do.
    """
    path = Path(path)
    prefix = hash_prefix(path.name)
    if prefix is None:
        raise CorruptFileError(
            f"{path}: weight files are named <name>-<first 8+ hex digits of their SHA-256>.pth "
            f"(torchvision's naming, e.g. resnet18-f37072fd.pth), so they can be verified; this "
            f"name has no such prefix. Use the official file name."
        )
    digest = file_digests(path, {"sha256"})["sha256"]
    if not digest.startswith(prefix):
        raise CorruptFileError(
            f"{path}: its SHA-256 is {digest[: len(prefix)]}..., but its name says {prefix}...: "
            f"the file is damaged (e.g. a truncated download) or is not the file its name "
            f"says. Delete it and download it again."
        )
    return digest


def read_weights(path: str | os.PathLike, *, check_hash: bool = True) -> dict[str, torch.Tensor]:
    """A state dict from a `.pth` file, read safely (`weights_only=True`, onto the CPU).

    Parameters
    ----------
    path : path
        The file.
    check_hash : bool
        Verify the SHA-256 prefix in the file name first (`verify`).

    Returns
    -------
    dict of str to torch.Tensor
        Parameter and buffer names to tensors.
    """
    path = Path(path)
    if check_hash:
        verify(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds for a damaged or unsafe file
        raise CorruptFileError(
            f"{path} cannot be read as a weights file ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}). It is damaged, or not a "
            f"torch state dict; get the file again."
        ) from None
    if not isinstance(state, Mapping) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise CorruptFileError(
            f"{path} holds a {type(state).__name__}, not a state dict (parameter name -> "
            f"tensor); save weights with torch.save(model.state_dict(), path)."
        )
    return dict(state)


def load_into(model: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """`model.load_state_dict(state, strict=True)`, with an `NnlabError` naming what differs.

    Parameters
    ----------
    model : nn.Module
    state : mapping
        A state dict with exactly the model's keys and shapes.
    source : str
        Where `state` came from, for the message (a file name).
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    reshaped = [
        f"{k} {tuple(state[k].shape)} (model: {tuple(v.shape)})"
        for k, v in own.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or reshaped:
        parts = [
            f"{what} {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
            for what, keys in (
                ("missing", missing),
                ("unexpected", unexpected),
                ("shapes differ:", reshaped),
            )
            if keys
        ]
        raise CorruptFileError(
            f"{source} does not fit {type(model).__name__}: {'; '.join(parts)}. It holds "
            f"weights of another architecture (or another number of classes): use the file made "
            f"for this model."
        )
    model.load_state_dict(state, strict=True)


def pretrained(
    arch: str,
    num_classes: int = 1000,
    *,
    root: str | os.PathLike | None = None,
    download: bool = True,
    progress: Progress | None = None,
) -> nn.Module:
    """`arch` with its ImageNet weights, and a fresh `num_classes` head unless that is 1000.

    Parameters
    ----------
    arch : str
        A key of `PRETRAINED`.
    num_classes : int
        Classes of the new head (`replace_head`); 1000 keeps ImageNet's classifier.
    root, download, progress
        As for `find_weights`.

    Returns
    -------
    nn.Module
        On the CPU, in training mode.
    """
    path = find_weights(arch, root=root, download=download, progress=progress)
    model = build(arch)
    load_into(model, read_weights(path, check_hash=False), str(path))  # verified by find_weights
    if num_classes != 1000:
        replace_head(model, num_classes)
    return model


def _spec(arch: str) -> Pretrained:
    if arch not in PRETRAINED:
        raise MissingDataError(
            f"no published ImageNet weights are known for {arch!r}; architectures with weights: "
            f"{', '.join(PRETRAINED)}. Train it from scratch (weights=none) instead."
        )
    return PRETRAINED[arch]


def _missing(spec: Pretrained, folders: list[Path], why: str) -> MissingDataError:
    return MissingDataError(
        f"{spec.arch}'s ImageNet weights {spec.file_name} are not on this machine ({why}). "
        f"Download {spec.url} and put it in {folders[0]}/ (or {folders[1]}/), keeping its name."
    )


def _fetch(spec: Pretrained, folder: Path, progress: Callable | None) -> Path:
    """Download `spec`'s file into `folder` through a temporary file, verified, then renamed."""
    folder.mkdir(parents=True, exist_ok=True)
    part, _ = download_part(Download(spec.url, spec.file_name), folder, progress)
    try:
        digest = file_digests(part, {"sha256"})["sha256"]
        if not digest.startswith(spec.sha256_prefix):
            raise CorruptFileError(
                f"{spec.url}: the download's SHA-256 is {digest[:8]}..., not {spec.sha256_prefix}"
                f"... as its name says; it was not kept. Run again; if it keeps failing, get "
                f"the file by hand."
            )
        final = folder / spec.file_name
        os.replace(part, final)
    finally:
        part.unlink(missing_ok=True)
    return final


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
