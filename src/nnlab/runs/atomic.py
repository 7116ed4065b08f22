"""Atomic file writes: a file either holds its old content or its complete new content.

Each write goes to a hidden temporary name in the target's own folder (so the rename stays on one
file system) and is renamed over the target with `os.replace` only once it is complete. A process
that dies mid-write leaves at most a `.<name>.*.tmp` file, never a file that looks finished.
"""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from nnlab.runs.values import to_json


@contextmanager
def atomic_open(path: Path, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file that replaces `path` when the `with` block ends without error.

    Parameters
    ----------
    path : Path
        The file to (re)write; its folder must exist.
    mode : str
        "w" (text, UTF-8 unless `encoding` is given) or "wb".
    **kwargs
        Passed to `open` (e.g. `newline=""` for csv).

    Returns
    -------
    file object
        Write to it inside the `with` block. On an exception the temporary file is removed and
        `path` is left as it was.
    """
    assert mode in {"w", "wb"}, mode
    path = Path(path)
    if mode == "w":
        kwargs.setdefault("encoding", "utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            # the data must be on disk before the rename makes it visible under the real name
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    with atomic_open(path, "w") as f:
        f.write(text)


def write_json(path: Path, obj: Any, *, sort_keys: bool = False) -> None:
    """Write `to_json(obj)` plus a newline to `path` atomically."""
    write_text(path, to_json(obj, sort_keys=sort_keys) + "\n")
