"""The IDX format of MNIST, Fashion-MNIST, EMNIST and the NotMNIST redistribution.

Big-endian header: two zero bytes, a type code (0x08 = unsigned byte), the number of
dimensions, then one uint32 size per dimension, then the data. Files may be gzipped.
"""

import gzip
import math
import zlib
from pathlib import Path

import numpy as np

from nnlab.data.formats.files import read_file
from nnlab.errors import CorruptFileError, MissingDataError

_UBYTE = 0x08


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) of unsigned bytes into an array of its stated shape.

    Raises `CorruptFileError` naming the file for a truncated gzip, a wrong magic number or a
    size that does not match the header.
    """
    path = Path(path)
    if not path.exists():
        raise MissingDataError(f"{path} does not exist")
    raw = _read_bytes(path)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _UBYTE or not 1 <= raw[3] <= 4:
        magic = raw[:4].hex() if len(raw) >= 4 else raw.hex()
        raise CorruptFileError(
            f"{path}: not an IDX file of unsigned bytes (magic 0x{magic}, expected 0x0000080N). "
            f"Check that it is the right file, or download it again (`nnlab data fetch`)."
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CorruptFileError(f"{path}: header cut short; download the file again.")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + math.prod(shape)  # exact: np.prod would wrap round at 2**63
    if len(raw) != expected:
        raise CorruptFileError(
            f"{path}: header says shape {shape} ({expected} bytes) but the file has {len(raw)} "
            f"bytes; it is truncated or damaged. Download it again."
        )
    # a writable copy: torch.from_numpy warns on read-only buffers
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when its name ends in .gz."""
    raw = read_file(path)  # a folder or an unreadable file: an error naming it
    if path.suffix != ".gz":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise CorruptFileError(
            f"{path}: the gzip stream is truncated or damaged ({exc}). Download it again."
        ) from None


def find_idx(folder: Path, stem: str) -> Path | None:
    """The IDX file `stem` in `folder`, gzipped or not, also in its `stem.idx3-ubyte` spelling."""
    variants = [stem, stem.replace("-idx", ".idx")]
    for v in variants:
        for name in (v + ".gz", v):
            if (folder / name).exists():
                return folder / name
    return None
