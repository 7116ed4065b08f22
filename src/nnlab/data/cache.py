"""A cache of decoded splits as tensor files, so JPEG/PNG sets decode once, not every run.

The cache lives outside the data root (nothing but `fetch` writes there): `$NNLAB_CACHE`, default
~/.cache/nnlab/tensors; `NNLAB_CACHE=off` turns it off. An entry is keyed by the loader's tag
and the path, size and mtime of every source file, so a changed file is decoded again.
"""

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from nnlab.data.imageset import ImageSet

log = logging.getLogger(__name__)

#: bump when a loader's output changes for the same files
CACHE_VERSION = 1


def cache_dir() -> Path | None:
    """The cache folder, or None when caching is off."""
    value = os.environ.get("NNLAB_CACHE", "")
    if value.lower() in {"off", "0", "no", "false"}:
        return None
    return Path(value or "~/.cache/nnlab/tensors").expanduser()


def cached(tag: str, sources: Sequence[Path], build: Callable[[], ImageSet]) -> ImageSet:
    """`build()`'s result, from the cache when the sources have not changed since it was made.

    Parameters
    ----------
    tag : str
        Names the loader and split, e.g. "cifar10-jpg-train"; part of the file name.
    sources : sequence of Path
        Every file the result is decoded from.
    build : callable
        Decodes the set; called on a cache miss.
    """
    folder = cache_dir()
    if folder is None:
        return build()
    h = hashlib.sha256(f"{tag}|v{CACHE_VERSION}".encode())
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
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not write cache file %s (%s)", path, exc)
