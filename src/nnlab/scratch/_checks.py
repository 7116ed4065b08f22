"""Checks of user-given settings and arrays, with scikit-learn's message style.

The estimators must raise `ValueError` where scikit-learn's conventions (and `check_estimator`)
expect one, and nnlab's rule is that every user-caused failure is an `NnlabError`; the error
kinds here are both.
"""

import numbers

import numpy as np

from nnlab.errors import ConfigError, DivergedError

DTYPES = {"float64": np.float64, "float32": np.float32}


class ScratchValueError(ConfigError, ValueError):
    """A bad setting or input array of a NumPy model (an `NnlabError` and a `ValueError`)."""


class TrainingDiverged(DivergedError):
    """A NumPy model's training loss became NaN or infinite (nnlab's `DivergedError`)."""


def check_number(
    owner: str,
    name: str,
    value,
    *,
    kind: type = float,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    none_ok: bool = False,
):
    """Refuse a setting that is not a number of `kind` in [low, high] (ends open if asked).

    Parameters
    ----------
    owner, name : str
        The estimator (or function) and setting, for the message.
    value : object
        What the user gave.
    kind : type
        `int` or `float` (an int is accepted where a float is expected).
    low, high : float, optional
        Bounds; None = unbounded.
    low_open, high_open : bool
        Whether the bound itself is excluded.
    none_ok : bool
        Whether None ("not set") is allowed.

    Returns
    -------
    int, float or None
        The value, as `kind`.
    """
    if value is None and none_ok:
        return None
    wanted = numbers.Integral if kind is int else numbers.Real
    in_range = isinstance(value, wanted) and not isinstance(value, bool)
    if in_range:
        in_range = np.isfinite(value) or (high is None and value > 0)
    if in_range and low is not None:
        in_range = value > low if low_open else value >= low
    if in_range and high is not None:
        in_range = value < high if high_open else value <= high
    if not in_range:
        left = "(-inf" if low is None else f"{'(' if low_open else '['}{low:g}"
        right = "inf)" if high is None else f"{high:g}{')' if high_open else ']'}"
        interval = f"{left}, {right}"
        extra = " or None" if none_ok else ""
        raise ScratchValueError(
            f"The {name!r} parameter of {owner} must be {'an int' if kind is int else 'a float'} "
            f"in the range {interval}{extra}. Got {value!r} instead."
        )
    return kind(value)


def check_choice(owner: str, name: str, value, choices) -> str:
    """Refuse a setting that is not one of `choices`; returns it."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ScratchValueError(
            f"The {name!r} parameter of {owner} must be one of {allowed}. Got {value!r} instead."
        )
    return value


def check_sizes(owner: str, name: str, value) -> tuple[int, ...]:
    """Refuse layer sizes that are not a non-empty sequence of positive ints."""
    sizes = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    if not sizes or not all(
        isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in sizes
    ):
        raise ScratchValueError(
            f"The {name!r} parameter of {owner} must be a non-empty tuple of positive ints, "
            f"e.g. (64,). Got {value!r} instead."
        )
    return tuple(int(s) for s in sizes)


def dtype_of(owner: str, dtype: str) -> type:
    """The NumPy float type named by an estimator's `dtype` setting."""
    return DTYPES[check_choice(owner, "dtype", dtype, tuple(DTYPES))]


def check_finite_loss(owner: str, loss: float, where: str, lr: float) -> None:
    """Raise `TrainingDiverged` if a training loss is NaN or infinite."""
    if not np.isfinite(loss):
        raise TrainingDiverged(
            f"{owner}: the training loss became {loss} {where} with lr={lr:g}: training "
            f"diverged. Lower the learning rate (e.g. lr={lr / 10:g}) or clip the gradient."
        )


def make_rng(random_state) -> np.random.Generator:
    """A NumPy Generator from an estimator's `random_state` (None, an int, a Generator or a
    legacy `RandomState`, whose next draw seeds the Generator)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(2**31))
    if random_state is None or (
        isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool)
    ):
        return np.random.default_rng(random_state)
    raise ScratchValueError(
        f"random_state must be None, an int, or a numpy Generator/RandomState. "
        f"Got {random_state!r} instead."
    )
