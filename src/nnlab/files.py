"""Atomic file writes: a file either holds its old content or its complete new content.

Each write goes to a fresh hidden name in the target's own folder (so the rename stays on one
file system), is flushed to disk, and only then renamed over the target with `os.replace`. A
process that dies mid-write leaves at most a `.<name>.*.tmp` file, never a file that looks
finished. The temporary file is created with `open(..., "x")`, so the result has the mode of an
ordinary file under the umask (0644 under umask 022), not `tempfile.mkstemp`'s 0600.

This is a leaf module: it imports nothing of nnlab, so every layer may use it.
"""

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def atomic_write(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a fresh temporary file that replaces `path` when the `with` block ends without error.

    Parameters
    ----------
    path : str or Path
        The file to (re)write; its folder must exist.
    mode : str
        "w" (text, UTF-8 unless `encoding` is given) or "wb".
    **kwargs
        Passed to `open` (e.g. `newline=""` for csv).

    Returns
    -------
    file object
        Write to it inside the `with` block. On an exception (a full disk included) the
        temporary file is removed, `path` is left as it was, and the exception propagates.
    """
    if mode not in {"w", "wb"}:
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    path = Path(path)
    if mode == "w":
        kwargs.setdefault("encoding", "utf-8")
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            f = open(tmp, "x" + mode.removeprefix("w"), **kwargs)  # noqa: SIM115
        except FileExistsError:  # another writer drew the same name: draw again
            continue
        break
    try:
        with f:
            yield f
            f.flush()
            # the data must be on disk before the rename makes it visible under the real name
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename in (None, str(tmp)):
            exc.filename = str(path)  # a failed write() names no file: say which one it was
        raise
