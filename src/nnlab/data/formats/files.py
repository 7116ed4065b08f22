"""Read a data file's bytes, with one clear error for a path that cannot be read."""

from pathlib import Path

from nnlab.errors import CorruptFileError


def read_file(path: Path) -> bytes:
    """The bytes of the file at `path`, or a `CorruptFileError` naming it.

    A folder, a file without read permission and an I/O error all give that error, which says
    what to do (a bare `IsADirectoryError` would not).
    """
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CorruptFileError(
            f"{path}: cannot read it ({exc.strerror or exc}); expected a readable data file. "
            f"Check that it is a file and that you may read it, or replace it."
        ) from None
