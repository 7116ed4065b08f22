"""MATLAB .mat files (format v5, as `save -v7` and `scipy.io.savemat` write them), read by scipy.

Used by NIST36/NIST26 and SVHN. MATLAB v7.3 files are HDF5 containers, which scipy does not read;
they get a `CorruptFileError` that says how to re-save them.
"""

import struct
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import scipy.io
from scipy.io.matlab import MatReadError

from nnlab.errors import CorruptFileError, MissingDataError

#: what scipy raises on a truncated or garbled v5 file (found by cutting and garbling real files)
#: what scipy's v5 parser raises on a garbled file (TypeError: a damaged type tag, found by
#: tests/data/test_fuzz.py; MemoryError/OverflowError: a size field that lies)
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
    for a v7.3 (HDF5) file, a truncated or garbled file, or a missing variable.
    """
    path = Path(path)
    if not path.exists():
        raise MissingDataError(f"{path} does not exist")
    try:
        variables = scipy.io.loadmat(path)
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
    found = sorted(k for k in variables if not k.startswith("__"))
    absent = [k for k in keys if k not in variables]
    if absent:
        raise CorruptFileError(
            f"{path}: variables {', '.join(absent)} missing; the file holds "
            f"[{', '.join(found)}] but this dataset needs [{', '.join(keys)}]. It is not this "
            f"dataset's file, or it is truncated; get it again from its publisher."
        )
    return {k: variables[k] for k in keys}
