"""MATLAB .mat files (format v5, as `save -v7` and `scipy.io.savemat` write them), read by scipy.

Used by NIST36/NIST26 and SVHN. MATLAB v7.3 files are HDF5 containers, which scipy does not read;
they get a `CorruptFileError` that says how to re-save them.
"""

import io
import struct
import warnings
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.io
from scipy.io.matlab import MatReadError

from nnlab.errors import CorruptFileError, MissingDataError

#: what scipy raises on a truncated or garbled file (TypeError: a damaged type tag;
#: MemoryError/OverflowError: a size field that lies; found by tests/data/test_fuzz.py)
_READ_ERRORS = (
    MatReadError,
    ValueError,
    TypeError,
    OSError,
    EOFError,
    IndexError,
    MemoryError,
    OverflowError,
    zlib.error,
    struct.error,
)
#: MATLAB classes of plain numbers, as `scipy.io.whosmat` names them
_NUMERIC = {"double", "single", "logical"} | {
    f"{s}int{b}" for s in ("", "u") for b in (8, 16, 32, 64)
}


def read_mat(path: Path, keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Read the variables `keys` of a .mat file.

    Parameters
    ----------
    path : Path
        A MATLAB v5 .mat file.
    keys : sequence of str
        Variable names the file must hold.

    Returns
    -------
    dict mapping each key to its array, with MATLAB's shape (no squeezing).

    Raises `MissingDataError` if the file does not exist, and `CorruptFileError` naming the file
    for a v7.3 (HDF5) file, a truncated or garbled file, or a missing or non-numeric variable.

    scipy allocates what an element's length field claims before reading it, so every length is
    checked against the bytes that hold it first (`_check_lengths`), and so is every type tag
    (scipy indexes a table with it unchecked, and an unknown one crashes the process). The
    variables' headers are checked before their data is read, so a damaged class tag (a cell
    array claiming 10**12 cells) is refused, not allocated.
    """
    path = Path(path)
    if not path.exists():
        raise MissingDataError(f"{path} does not exist")
    try:
        raw = path.read_bytes()
        _check_lengths(raw)
        with io.BytesIO(raw) as view:
            classes = {name: cls for name, _, cls in scipy.io.whosmat(view)}
            wrong = [
                f"{k} ({classes[k]})" for k in keys if classes.get(k, "double") not in _NUMERIC
            ]
            if wrong:
                raise CorruptFileError(
                    f"{path}: variables {', '.join(wrong)} should be numeric arrays; the file "
                    f"is damaged or not this dataset's. Get it again from its publisher."
                )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an unreadable variable is refused below
                variables = scipy.io.loadmat(view, variable_names=[k for k in keys if k in classes])
    except NotImplementedError:
        raise CorruptFileError(
            f"{path}: MATLAB v7.3 file (HDF5), which nnlab does not read; re-save it as v5 in "
            f"MATLAB with `save(file, vars..., '-v7')` or with scipy.io.savemat."
        ) from None
    except _READ_ERRORS as exc:
        raise CorruptFileError(
            f"{path}: not a readable MATLAB .mat file ({type(exc).__name__}: {exc}); it is "
            f"truncated or damaged. Get it again from its publisher."
        ) from None
    absent = [k for k in keys if k not in variables]
    if absent:
        raise CorruptFileError(
            f"{path}: variables {', '.join(absent)} missing; the file holds "
            f"[{', '.join(sorted(classes))}] but this dataset needs [{', '.join(keys)}]. It is "
            f"not this dataset's file, or it is truncated; get it again from its publisher."
        )
    # what scipy could not parse comes back as a "Read error: ..." string, with a warning
    unreadable = [k for k in keys if not _numeric(variables[k])]
    if unreadable:
        raise CorruptFileError(
            f"{path}: variables {', '.join(unreadable)} cannot be read as numeric arrays; the "
            f"file is truncated or damaged. Get it again from its publisher."
        )
    return {k: variables[k] for k in keys}


def _numeric(value) -> bool:
    """An array of booleans, integers or reals (not complex, text, cells or a read error)."""
    return isinstance(value, np.ndarray) and value.dtype.kind in "biuf"


#: v5 element types that `_check_lengths` looks into
_MI_MATRIX, _MI_COMPRESSED = 14, 15
#: the v5 element types (miINT8 .. miDOUBLE, miINT64 .. miUTF32)
_MI_TYPES = frozenset(range(1, 8)) | {9} | frozenset(range(12, 19))
#: deflate expands a byte into at most ~1032; a compressed element claiming more is a lie
_DEFLATE_MAX_RATIO = 1032
#: how deep cells of cells may nest before the file counts as garbled
_MAX_DEPTH = 32


def _check_lengths(raw: bytes) -> None:
    """Refuse a v5 file with an element of unknown type or longer than the bytes that hold it.

    scipy allocates an element's claimed length before it reads it, so one flipped length field
    in a file of kilobytes would cost gigabytes. Raises ValueError, which `read_mat` words.
    """
    if len(raw) < 128 or raw[124:128] not in (b"\x00\x01IM", b"\x01\x00MI"):
        return  # not v5 (v4, v7.3 is HDF5): scipy's own refusal says what it is
    order = "<" if raw[126:128] == b"IM" else ">"
    _check_elements(raw, 128, len(raw), order, 0)


def _check_elements(data, start: int, end: int, order: str, depth: int) -> None:
    """Walk the elements packed in `data[start:end]`, checking each length against what is left."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"elements nested more than {_MAX_DEPTH} deep")
    offset = start
    while offset + 8 <= end:
        mdtype, nbytes = struct.unpack_from(order + "II", data, offset)
        small = mdtype >> 16  # a small element: type and length share the first word, data 4 bytes
        if (mdtype & 0xFFFF if small else mdtype) not in _MI_TYPES:
            raise ValueError(f"an element of unknown type {mdtype & 0xFFFF if small else mdtype}")
        if small:
            offset += 8
            continue
        left = end - offset - 8
        if nbytes > left:
            raise ValueError(f"an element claims {nbytes} bytes where {left} remain")
        body = offset + 8
        if mdtype == _MI_MATRIX:
            _check_elements(data, body, body + nbytes, order, depth + 1)
        elif mdtype == _MI_COMPRESSED:
            inner = _inflate(data[body : body + nbytes], order)
            _check_elements(inner, 0, len(inner), order, depth + 1)
        offset = body + nbytes + (-nbytes % 8 if mdtype != _MI_COMPRESSED else 0)


def _inflate(body: bytes, order: str) -> bytes:
    """A compressed element's content; refused unread if it claims more than deflate can give."""
    stream = zlib.decompressobj()
    head = stream.decompress(body, 8)
    if len(head) == 8:
        claimed = struct.unpack_from(order + "I", head, 4)[0] + 8
        if claimed > _DEFLATE_MAX_RATIO * len(body) + 64:
            raise ValueError(f"a compressed element of {len(body)} bytes claims {claimed}")
        head += stream.decompress(stream.unconsumed_tail, claimed - 8)
    return head
