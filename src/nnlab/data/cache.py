"""A cache of decoded splits as tensor files, so JPEG/PNG sets decode once, not every run.

The cache lives outside the data root (nothing but `fetch` writes there): `$NNLAB_CACHE`, default
~/.cache/nnlab/tensors; `NNLAB_CACHE=off` turns it off. An entry is keyed by the loader's tag,
the path, size and mtime of every source file, and the loader's settings (its module constants:
image size, class names, normalisation parameters, ...), so a changed file or a changed setting
is decoded again. A change to the code itself is covered by `CACHE_VERSION`.
"""

import hashlib
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import torch

from nnlab.data.imageset import ImageSet
from nnlab.files import atomic_write

log = logging.getLogger(__name__)

#: bump when a loader's code changes its output for the same files and settings
#: (2: EXIF orientation and 16-bit grey scaling in `formats.image.decode`)
CACHE_VERSION = 2


def cache_dir() -> Path | None:
    """The cache folder, or None when caching is off."""
    value = os.environ.get("NNLAB_CACHE", "")
    if value.lower() in {"off", "0", "no", "false"}:
        return None
    return Path(value or "~/.cache/nnlab/tensors").expanduser()


def cached(
    tag: str,
    sources: Sequence[Path],
    build: Callable[[], ImageSet],
    settings: Mapping[str, object] | None = None,
) -> ImageSet:
    """`build()`'s result, from the cache when neither the sources nor the settings have changed.

    Parameters
    ----------
    tag : str
        Names the loader and split, e.g. "cifar10-jpg-train"; part of the file name.
    sources : sequence of Path
        Every file the result is decoded from.
    build : callable
        Decodes the set; called on a cache miss.
    settings : mapping of str to plain values, optional
        Everything besides the files that shapes `build()`'s result: the loader's constants
        (sizes, class names, seeds, normalisation parameters). Their `repr` enters the key, so
        use plain values (numbers, strings, tuples, dicts of them), read when `cached` is called.
    """
    folder = cache_dir()
    if folder is None:
        return build()
    h = hashlib.sha256(f"{tag}|v{CACHE_VERSION}|{sorted((settings or {}).items())!r}".encode())
    for p in sources:
        st = Path(p).stat()
        h.update(f"|{Path(p).resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    path = folder / f"{tag}-{h.hexdigest()[:16]}.pt"
    if path.exists():
        try:
            d = torch.load(path, weights_only=True)
            return ImageSet(
                d["x"], d["y"], tuple(d["classes"]), d["name"], d["split"], tuple(d["notes"])
            )
        except Exception as exc:  # a damaged cache entry is rebuilt, never trusted
            log.warning("ignoring unreadable cache file %s (%s)", path, exc)
    imageset = build()
    _save(path, imageset)
    return imageset


def _save(path: Path, s: ImageSet) -> None:
    """Write atomically (temporary name, then rename); a read-only cache is only logged."""
    payload = {
        "x": s.x.cpu().contiguous(),
        "y": s.y.cpu(),
        "classes": list(s.classes),
        "name": s.name,
        "split": s.split,
        "notes": list(s.notes),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "wb") as f:
            torch.save(payload, f)
    except OSError as exc:
        log.warning("could not write cache file %s (%s)", path, exc)
