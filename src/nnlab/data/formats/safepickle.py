"""Unpickle data files (the CIFAR python batches) without running the code a pickle may carry.

A pickle names functions ("globals") that the loader calls to rebuild objects, so a plain
`pickle.load` of an untrusted file can run anything. Even NumPy's own rebuilders are unsafe: the
state a file hands to `ndarray.__setstate__` can make an object array whose "pointers" are bytes
from the file. So no NumPy object is built while unpickling: `SafeUnpickler` answers NumPy's
globals with stand-ins that only record and check what the file says (a plain numeric dtype, a
shape, raw bytes of exactly the right length), and `safe_load` turns them into arrays afterwards
with `np.frombuffer`. Any other global is refused with `UnsafeFileError` before it is called.

The unpickler is Python's own (`pickle._Unpickler`), not the C one: the C unpickler allocates
what a length or memo index claims before reading (a garbled `LONG_BINPUT` index of 10**8 costs
1.6 GB), while the Python one keeps its memo in a dict and reads only the bytes that are there.
"""

import io
import math
import pickle
import re
import struct

import numpy as np

from nnlab.errors import CorruptFileError, UnsafeFileError

#: dtype strings a data array may have: bool, signed, unsigned and float of 1-8 bytes
_TYPESTR = re.compile(r"[<>|=]?(b1|[iu][1248]|f[248])")
_NUMPY_PACKAGES = ("numpy.core", "numpy._core")


class _Refused(Exception):
    """Raised inside the stand-ins; `safe_load` turns it into `UnsafeFileError` with the file."""


class _Malformed(Exception):
    """Raised inside the stand-ins; `safe_load` turns it into `CorruptFileError` with the file."""


class _Lines(io.BytesIO):
    """The pickle's bytes, whose text lines (a GLOBAL's module and name) must end in a newline.

    Python's unpickler takes a line cut short by the file's end as whole, so a truncated file
    would name a global "numpy." and be refused as unsafe instead of reported as truncated.
    """

    def readline(self, size: int | None = -1) -> bytes:
        line = super().readline(size)
        if not line.endswith(b"\n"):
            raise _Malformed("the file ends inside a line: it was truncated")
        return line


class _DtypeSpec:
    """Stands in for `numpy.dtype(typestr, align, copy)`: plain numeric types only."""

    def __init__(self, typestr, align=False, copy=True):
        if isinstance(typestr, bytes):
            typestr = typestr.decode("latin1")
        if not isinstance(typestr, str) or not _TYPESTR.fullmatch(typestr):
            raise _Refused(f"numpy.dtype({typestr!r}) (only plain numeric dtypes are admitted)")
        self.dtype = np.dtype(typestr)

    def __setstate__(self, state):
        # (version, byte order, subarray, names, fields, elsize, alignment, flags)
        if not isinstance(state, tuple) or len(state) < 5 or any(s is not None for s in state[2:5]):
            raise _Refused(f"a structured or sub-array numpy.dtype (state {state!r:.80})")
        order = state[1].decode("latin1") if isinstance(state[1], bytes) else state[1]
        if order not in ("<", ">", "|", "="):
            raise _Malformed(f"a numpy.dtype with byte order {order!r}")
        if order in "<>":
            self.dtype = self.dtype.newbyteorder(order)


class _NdarrayType:
    """Stands in for the `numpy.ndarray` type, which is only passed to `_reconstruct`."""

    def __init__(self, *args):
        raise _Refused("a direct call of numpy.ndarray")


class _ArraySpec:
    """Stands in for `_reconstruct(ndarray, ...)`; its state says dtype, shape and bytes."""

    def __init__(self, cls, shape=(0,), typecode=b"b"):
        if cls is not _NdarrayType:
            raise _Refused(f"numpy _reconstruct of {cls!r}")
        self.array = None

    def __setstate__(self, state):
        # (version, shape, dtype, is_fortran, raw bytes); NumPy 1.0 pickles lack the version
        if isinstance(state, tuple) and len(state) == 5:
            state = state[1:]
        if not isinstance(state, tuple) or len(state) != 4:
            raise _Malformed("an ndarray state that is not (shape, dtype, fortran, data)")
        shape, dtype, fortran, raw = state
        self.array = _array(raw, dtype, shape, "F" if fortran else "C")


def _array(raw, dtype, shape, order: str) -> np.ndarray:
    """A fresh array from checked raw bytes: the byte count must match dtype and shape."""
    if isinstance(raw, str):  # Python 2 str read with encoding="latin1"
        raw = raw.encode("latin1")
    if not isinstance(dtype, _DtypeSpec) or not isinstance(raw, (bytes, bytearray)):
        raise _Malformed("an ndarray without a plain dtype and raw bytes")
    if isinstance(shape, int):
        shape = (shape,)
    if not isinstance(shape, tuple) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise _Malformed(f"an ndarray shape {shape!r:.60}")
    if math.prod(shape) * dtype.dtype.itemsize != len(raw):
        raise _Malformed(f"an ndarray of shape {shape} and {dtype.dtype} but {len(raw)} bytes")
    return np.frombuffer(bytes(raw), dtype=dtype.dtype).reshape(shape, order=order).copy()


def _frombuffer(buffer, dtype, shape, order="C"):
    """Stands in for NumPy's protocol-5 `_frombuffer`: checked, then built at once."""
    return _array(buffer, dtype, shape, "F" if order == "F" else "C")


def _scalar(dtype, raw=b""):
    """Stands in for NumPy's `multiarray.scalar(dtype, bytes)`: one checked value."""
    return _array(raw, dtype, (), "C")[()]


def _latin1_encode(text, encoding="utf-8") -> bytes:
    """`_codecs.encode` as Python 3 uses it to pickle bytes at protocol 2: latin-1 only."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise _Refused(f"_codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _bytearray(text="", encoding="latin-1") -> bytearray:
    """`builtins.bytearray` as protocol 2 pickles it: (str, "latin-1") only, never a size."""
    return bytearray(_latin1_encode(text, encoding))


_GLOBALS = {
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): _bytearray,
    ("__builtin__", "set"): set,
    ("__builtin__", "frozenset"): frozenset,
    ("_codecs", "encode"): _latin1_encode,
    ("numpy", "ndarray"): _NdarrayType,
    ("numpy", "dtype"): _DtypeSpec,
}
for _package in _NUMPY_PACKAGES:
    _GLOBALS[(f"{_package}.multiarray", "_reconstruct")] = _ArraySpec
    _GLOBALS[(f"{_package}.multiarray", "scalar")] = _scalar
    _GLOBALS[(f"{_package}.numeric", "_frombuffer")] = _frombuffer


class SafeUnpickler(pickle._Unpickler):
    """An `Unpickler` that admits only data: builtin containers, bytes and numeric arrays.

    Parameters
    ----------
    file : binary file object
        The pickle stream.
    encoding : str
        How Python 2 `str` objects are decoded; "bytes" keeps them as bytes (CIFAR's batches are
        read this way, so their keys are b"data", b"labels", ...).
    """

    dispatch = pickle._Unpickler.dispatch.copy()

    def __init__(self, file, encoding: str = "bytes"):
        super().__init__(file, encoding=encoding)

    def _load_bytearray8(self):
        """BYTEARRAY8 from the bytes there: the stdlib's allocates the claimed size first."""
        (size,) = struct.unpack("<Q", self.read(8))
        data = self.read(size)
        if len(data) != size:
            raise _Malformed(f"a bytearray of {size} bytes cut short at {len(data)}")
        self.append(bytearray(data))

    dispatch[pickle.BYTEARRAY8[0]] = _load_bytearray8

    def find_class(self, module: str, name: str):
        if (module, name) in _GLOBALS:
            return _GLOBALS[(module, name)]
        raise _Refused(f"{module}.{name}")


def safe_load(data: bytes, source: str, encoding: str = "bytes") -> object:
    """Unpickle `data` with `SafeUnpickler`, then turn array stand-ins into NumPy arrays.

    Parameters
    ----------
    data : bytes
        The whole pickle file.
    source : str
        Names the file (or archive member) in error messages.
    encoding : str
        See `SafeUnpickler`.

    Returns
    -------
    The unpickled object (dicts, lists, tuples, sets, scalars, bytes, str, ndarrays).

    Raises
    ------
    UnsafeFileError
        The pickle names a global, or a dtype, outside the admitted set.
    CorruptFileError
        The pickle is truncated, damaged or inconsistent (e.g. an array's bytes do not fill it).
    """
    try:
        return _resolve(SafeUnpickler(_Lines(data), encoding).load())
    except _Refused as exc:
        raise UnsafeFileError(
            f"{source}: the pickle asks for {exc}, which a data file has no use for (only "
            f"builtin containers and numeric NumPy arrays are admitted); refusing to load it. "
            f"Do not use this file; get a clean copy from the publisher."
        ) from None
    except (
        _Malformed,
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        IndexError,
        KeyError,
        AttributeError,
        MemoryError,
        RecursionError,
        OverflowError,
        struct.error,
    ) as exc:
        raise CorruptFileError(
            f"{source}: not a readable data pickle ({type(exc).__name__}: {exc}); it is "
            f"truncated or damaged. Download it again."
        ) from None


def _resolve(obj, done: dict | None = None):
    """`obj` with every `_ArraySpec` replaced by its array, through dicts, lists and tuples.

    `done` maps id -> result of what is already resolved: the memo lets a pickle share one list
    twice at every level, and without it 60 levels would take 2**60 steps.
    """
    done = {} if done is None else done
    if id(obj) in done:
        return done[id(obj)]
    done[id(obj)] = result = _resolved(obj, done)
    return result


def _resolved(obj, done: dict):
    """One step of `_resolve`."""
    if isinstance(obj, _ArraySpec):
        if obj.array is None:
            raise _Malformed("an ndarray that was never given its data")
        return obj.array
    if isinstance(obj, _DtypeSpec):
        return obj.dtype
    if isinstance(obj, dict):
        return {_resolve(k, done): _resolve(v, done) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_resolve(v, done) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_resolve(v, done) for v in obj)
    return obj
