"""Unpickle data files (the CIFAR python batches) without running the code a pickle may carry.

A pickle names functions ("globals") that the loader calls to rebuild objects, so a plain
`pickle.load` of an untrusted file can run anything. `SafeUnpickler` admits only builtin
containers and scalars and the few NumPy functions that rebuild an ndarray; any other global is
refused with `UnsafeFileError` before it is called.
"""

import importlib
import io
import pickle

import numpy as np

from nnlab.errors import CorruptFileError, UnsafeFileError

#: the builtin types a data pickle may rebuild (containers and scalars; no functions)
_BUILTIN_TYPES = (
    dict,
    list,
    tuple,
    set,
    frozenset,
    bytes,
    bytearray,
    str,
    int,
    float,
    complex,
    bool,
)
_BUILTINS = {t.__name__: t for t in _BUILTIN_TYPES}


def _numpy_private(module: str, name: str):
    """`numpy._core.<module>.<name>`, which NumPy 1 had at `numpy.core.<module>.<name>`.

    Old pickles (every CIFAR batch) say numpy.core; resolving the name here avoids NumPy 2's
    deprecation shim for numpy.core.
    """
    for package in ("numpy._core", "numpy.core"):
        try:
            return getattr(importlib.import_module(f"{package}.{module}"), name)
        except (ImportError, AttributeError):
            continue
    raise AssertionError(f"NumPy has no {module}.{name}")  # pragma: no cover


#: the NumPy functions and types that rebuild an ndarray or NumPy scalar: `_reconstruct` and
#: `scalar` (protocols 0-4), `_frombuffer` (protocol 5)
_NUMPY = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype}
_NUMPY_PRIVATE = (
    ("multiarray", "_reconstruct"),
    ("multiarray", "scalar"),
    ("numeric", "_frombuffer"),
)
for _package in ("numpy.core", "numpy._core"):
    for _module, _name in _NUMPY_PRIVATE:
        _NUMPY[(f"{_package}.{_module}", _name)] = _numpy_private(_module, _name)


class SafeUnpickler(pickle.Unpickler):
    """An `Unpickler` that admits only data: builtin containers and scalars, and NumPy arrays.

    Parameters
    ----------
    file : binary file object
        The pickle stream.
    source : str
        Names the file in error messages.
    encoding : str
        How Python 2 `str` objects are decoded; "bytes" keeps them as bytes (CIFAR's batches are
        read this way, so their keys are b"data", b"labels", ...).
    """

    def __init__(self, file, source: str, encoding: str = "bytes"):
        super().__init__(file, encoding=encoding)
        self.source = source

    def find_class(self, module: str, name: str):
        if module in ("builtins", "__builtin__") and name in _BUILTINS:
            return _BUILTINS[name]
        if (module, name) == ("_codecs", "encode"):
            return self._latin1_encode
        if (module, name) in _NUMPY:
            return _NUMPY[(module, name)]
        raise self._refuse(f"{module}.{name}")

    def _latin1_encode(self, text: str, encoding: str = "utf-8") -> bytes:
        """`_codecs.encode` as Python 3 uses it to pickle bytes at protocol 2: latin-1 only.

        A bytes object pickled at protocol 2 by Python 3 becomes `_codecs.encode(text, "latin1")`;
        rebuilding data needs no other codec, so no other is admitted.
        """
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            raise self._refuse(f"_codecs.encode with encoding {encoding!r}")
        return text.encode("latin1")

    def _refuse(self, what: str) -> UnsafeFileError:
        return UnsafeFileError(
            f"{self.source}: the pickle asks for {what}, which a data file has no use for (only "
            f"builtin containers and NumPy arrays are admitted); refusing to load it. Do not use "
            f"this file; get a clean copy from the publisher."
        )


def safe_load(data: bytes, source: str, encoding: str = "bytes") -> object:
    """Unpickle `data` with `SafeUnpickler`.

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
    The unpickled object (dicts, lists, scalars, bytes, ndarrays).

    Raises
    ------
    UnsafeFileError
        The pickle names a global outside the admitted set.
    CorruptFileError
        The pickle is truncated or damaged.
    """
    try:
        return SafeUnpickler(io.BytesIO(data), source, encoding).load()
    except UnsafeFileError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError) as exc:
        raise CorruptFileError(
            f"{source}: not a readable pickle ({type(exc).__name__}: {exc}); it is truncated or "
            f"damaged. Download it again."
        ) from None
