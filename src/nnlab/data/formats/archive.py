"""Read members of tar archives (.tar, .tar.gz, .tgz) in memory, refusing unsafe member names.

Nothing is extracted to disk: datasets are read straight from the archive. A member with an
absolute path or a `..` component is refused even though it is never written, because an archive
that carries one is not the file the publisher made.
"""

import re
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from nnlab.errors import CorruptFileError, UnsafeFileError


def check_member_name(archive: Path, name: str) -> PurePosixPath:
    """The member's path, or `UnsafeFileError` if it is absolute or climbs out with `..`."""
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or re.match(r"^([A-Za-z]:|\\)", name):
        raise UnsafeFileError(
            f"{archive}: member {name!r} has an absolute path or '..'; refusing to read this "
            f"archive. Get a clean copy from the publisher."
        )
    return p


def iter_members(
    archive: Path, keep: Callable[[PurePosixPath], bool] = lambda p: True
) -> Iterator[tuple[PurePosixPath, bytes]]:
    """Yield (path, bytes) of every regular-file member for which `keep(path)` is true.

    All member names are checked first (see `check_member_name`); links and devices are
    skipped. A truncated or damaged archive raises `CorruptFileError` naming the file.
    """
    archive = Path(archive)
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                path = check_member_name(archive, member.name)
                if member.isfile() and keep(path):
                    f = tar.extractfile(member)
                    if f is None:  # pragma: no cover - isfile() members always have data
                        continue
                    yield path, read_in_chunks(f)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise CorruptFileError(
            f"{archive}: cannot read the archive ({exc}); it is truncated or damaged. "
            f"Download it again."
        ) from None


def read_in_chunks(f: IO[bytes], chunk: int = 1 << 20) -> bytes:
    """All of `f`, a chunk at a time: a member whose size field lies costs only the bytes there.

    (`f.read()` would first allocate the size the header claims, up to 8 GB and more.)
    """
    parts = []
    while part := f.read(chunk):
        parts.append(part)
    return b"".join(parts)


def first_dir(path: PurePosixPath, root: str | None = None) -> str | None:
    """The name of the folder right under `root` that `path` lies in (e.g. the class folder).

    `root` is a folder name such as "train"; the path is searched for it anywhere, so archives
    with or without a top-level folder both work. Returns None when `path` is not under `root`.
    """
    parts = path.parts
    if root is None:
        return parts[-2] if len(parts) >= 2 else None
    for i, part in enumerate(parts[:-2]):
        if part == root:
            return parts[i + 1]
    return None
