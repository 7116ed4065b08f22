"""Plain values for run files: scalars from NumPy or torch without importing them, and JSON.

Experiments hand over NumPy scalars and 0-d tensors as often as Python numbers; run files hold
only strict JSON, where NaN and infinities (a diverged loss) are written as null.
"""

import json
import math
import numbers
import os
from collections.abc import Mapping
from typing import Any

from nnlab.errors import ConfigError


def scalar(value, what: str) -> int | float | bool | str:
    """`value` as a plain int, float, bool or str (NumPy and 0-d tensor scalars are converted).

    Parameters
    ----------
    value : any
        The value to convert.
    what : str
        Names it for the error message, e.g. "metric 'acc'".

    Returns
    -------
    int, float, bool or str
        NaN stays NaN.
    """
    if isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    item = getattr(value, "item", None)  # 0-d arrays and tensors, without importing their library
    if callable(item):
        try:
            return scalar(item(), what)
        except (TypeError, ValueError, RuntimeError, ConfigError):
            pass
    raise ConfigError(
        f"{what} must be an int, float, bool or str; got {type(value).__name__} "
        f"({value!r:.60}). Convert it (e.g. `float(x)`) before recording it."
    )


def plain(obj: Any, where: str = "value") -> Any:
    """`obj` made of JSON types only, with non-finite floats as None.

    Parameters
    ----------
    obj : any
        Dicts, lists, tuples, paths, None and what `scalar` accepts.
    where : str
        Its dotted location, for the error message.

    Returns
    -------
    dict, list, str, int, float, bool or None
    """
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return {str(k): plain(v, f"{where}.{k}") for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v, f"{where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    value = scalar(obj, where)
    return None if isinstance(value, float) and not math.isfinite(value) else value


def to_json(obj: Any, *, sort_keys: bool = False) -> str:
    """`obj` as strict JSON text (indent 2): NaN and infinities become null.

    Parameters
    ----------
    obj : JSON-like value
        Dicts, lists, tuples, strings, numbers, bools, None; NumPy-style scalars (anything
        registered with `numbers`, or with an `.item()`) and paths are converted.
    sort_keys : bool
        Sort dict keys (metrics.json does; config.json keeps the caller's order).

    Returns
    -------
    str
        The JSON text, ending without a newline.
    """
    return json.dumps(plain(obj), indent=2, sort_keys=sort_keys, allow_nan=False)
