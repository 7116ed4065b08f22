"""Experiment settings: a dataclass per experiment, scales that override it, `--set key=value`.

The dataclass's defaults are the full-scale (original study's) settings; `SCALES` of an
experiment overrides some of them for `smoke` and `quick`. A user's `key=value` strings are
parsed against the field's declared type, so `epochs=2.5` or `epoch=2` fail with a message that
says what the setting expects or which settings exist.

Settings are declared, not hand-checked: `Literal[...]` for choices, `Annotated[float,
Range(0, 1, closed="left")]` (or an alias such as `PositiveInt`) for ranges, and `Widths` for
layer widths (`256-256`, `256,256` or `128x3` on the command line, a tuple of ints in the
config). `ExperimentConfig.__post_init__` checks every range, however the config was built.
"""

import dataclasses
import difflib
import functools
import json
import math
import re
import tomllib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from nnlab.errors import ConfigError

SCALE_NAMES = ("smoke", "quick", "full")


@dataclasses.dataclass(frozen=True)
class Range:
    """A setting's allowed interval, e.g. `Range(0, 1, closed="left")` for [0, 1).

    `low` / `high` of None leave that side open-ended; `closed` says which ends are allowed.
    """

    low: float | None = None
    high: float | None = None
    closed: Literal["both", "left", "right", "neither"] = "both"

    def contains(self, value: float) -> bool:
        """Whether `value` lies in the interval (NaN never does)."""
        if isinstance(value, float) and math.isnan(value):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        above = self.low is None or (value >= self.low if left else value > self.low)
        below = self.high is None or (value <= self.high if right else value < self.high)
        return above and below

    def __str__(self) -> str:
        if self.high is None:
            return f"{'≥' if self.closed in ('both', 'left') else '>'} {self.low:g}"
        if self.low is None:
            return f"{'≤' if self.closed in ('both', 'right') else '<'} {self.high:g}"
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"in {left}{self.low:g}, {self.high:g}{right}"


@dataclasses.dataclass(frozen=True)
class _WidthsSpelling:
    """Marks a tuple of layer widths: "256-256", "256,256" and "128x3" all parse to a tuple."""


#: ints above zero (epochs, batch sizes, image counts)
PositiveInt = Annotated[int, Range(0, closed="neither")]
#: numbers above zero (learning rates, scales)
PositiveFloat = Annotated[float, Range(0, closed="neither")]
#: zero or more (weight decay, margins, tolerances)
NonNegativeFloat = Annotated[float, Range(0)]
#: a fraction in [0, 1] (a probability, a share of a split)
Fraction = Annotated[float, Range(0, 1)]
#: momentum and other decay factors: [0, 1)
Momentum = Annotated[float, Range(0, 1, closed="left")]
#: layer widths, each above zero: `(256, 256)`; "256-256", "256,256" or "128x3" in `--set`
Widths = Annotated[tuple[PositiveInt, ...], _WidthsSpelling()]


def format_widths(widths: Sequence[int]) -> str:
    """(32, 64, 128) -> "32-64-128", the spelling tables and labels use."""
    return "-".join(str(w) for w in widths)


@dataclasses.dataclass
class ExperimentConfig:
    """Settings every experiment has; subclasses add their own fields (all with defaults).

    Every field's declared range (`Range`, `PositiveInt`, ...) is checked on construction; a
    subclass with its own `__post_init__` (for checks across fields) calls this one first.

    Attributes
    ----------
    seed : int
        Seeds the model initialisation, the shuffles and every random choice of the run.
    """

    seed: int = 0

    def __post_init__(self):
        for name, hint in _hints(type(self)).items():
            _check_ranges(getattr(self, name), hint, name)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """The declared type of each field of `cls`, with its `Annotated` markers."""
    names = {f.name for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls, include_extras=True)
    return {name: hint for name, hint in hints.items() if name in names}


def _check_ranges(value: Any, hint: Any, key: str) -> None:
    """Refuse `value` if it, or an item of it, lies outside a `Range` its type declares."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated:
        _check_ranges(value, args[0], key)
        for marker in hint.__metadata__:
            if isinstance(marker, Range) and not marker.contains(value):
                raise ConfigError(f"{key} must be {marker}, got {value!r}.")
    elif origin in (typing.Union, types.UnionType):
        if value is not None:
            fitting = [a for a in args if a is not type(None) and _fits(value, a)]
            _check_ranges(value, fitting[0] if fitting else args[0], key)
    elif origin in (tuple, list) and isinstance(value, (tuple, list)) and args:
        for item in value:
            _check_ranges(item, args[0], key)


def _fits(value: Any, hint: Any) -> bool:
    """Whether `value` is of the (possibly annotated) type `hint`, roughly."""
    base = typing.get_origin(hint) or hint
    if base is Annotated:
        return _fits(value, typing.get_args(hint)[0])
    if base is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base is Literal:
        return value in typing.get_args(hint)
    return isinstance(value, base) if isinstance(base, type) else True


def read_settings_file(path: str | Path) -> dict[str, Any]:
    """The settings in a TOML (`epochs = 3`, `widths = [256, 256]`) or JSON file, for
    `--config FILE`: a layer between the scale and `--set`.

    A run's own config.json is such a file, so `--config runs/ID/config.json` repeats a run.
    """
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"--config {path}: cannot read it ({exc.strerror or exc}).") from None
    try:
        settings = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
        raise ConfigError(
            f"--config {path}: not valid {kind} ({exc}). Write one `name = value` line per "
            "setting (TOML), or a JSON object; `nnlab list ID` lists the settings."
        ) from None
    if not isinstance(settings, dict) or any(isinstance(v, dict) for v in settings.values()):
        raise ConfigError(
            f"--config {path}: expected settings as name = value pairs at the top level, "
            "without tables or nested objects."
        )
    return settings


def parse_assignments(items: Sequence[str]) -> dict[str, str]:
    """Split `["epochs=3", "lr=0.1"]` into {"epochs": "3", "lr": "0.1"}; the last one wins."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}; e.g. --set epochs=3.")
        out[key.strip()] = value.strip()
    return out


def resolve(
    cls: type[ExperimentConfig],
    scale: str = "full",
    scales: Mapping[str, Mapping[str, Any]] | None = None,
    overrides: Mapping[str, Any] | None = None,
    file: tuple[str, Mapping[str, Any]] | None = None,
) -> ExperimentConfig:
    """The settings of one run: defaults, then the scale's, then a settings file's, then the
    user's `--set`.

    Parameters
    ----------
    cls : type
        The experiment's config dataclass (a subclass of `ExperimentConfig`).
    scale : str
        "smoke", "quick" or "full" (full = the dataclass's defaults).
    scales : mapping, optional
        The experiment's `SCALES`: scale -> {field: value}.
    overrides : mapping, optional
        The user's settings, field -> value; strings (from `--set`) are parsed against the
        field's type, other values are checked against it.
    file : (name, mapping), optional
        A settings file's name and content (`read_settings_file`), applied before `overrides`.

    Returns
    -------
    ExperimentConfig
        An instance of `cls` (its `__post_init__` checks value ranges).
    """
    if scale not in SCALE_NAMES:
        raise ConfigError(f"Unknown scale {scale!r}; choose one of {', '.join(SCALE_NAMES)}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = _hints(cls)
    values: dict[str, Any] = {}
    layers = [("scale", (scales or {}).get(scale, {}))]
    if file is not None:
        layers.append((f"--config {file[0]}", file[1]))
    layers.append(("--set", overrides or {}))
    for source, settings in layers:
        for key, raw in settings.items():
            if key not in fields:
                raise _unknown_key(key, fields, source, cls)
            try:
                values[key] = _coerce(raw, hints[key], key)
            except ConfigError as exc:
                if not source.startswith("--config"):
                    raise
                raise ConfigError(f"{source}: {exc}") from None
    return cls(**values)


def describe_fields(cls: type[ExperimentConfig]) -> list[tuple[str, str, Any]]:
    """(name, type as written, full-scale default) of each setting, for `nnlab list` and errors."""
    hints = _hints(cls)
    return [(f.name, _type_name(hints[f.name]), _default(f)) for f in dataclasses.fields(cls)]


def _unknown_key(key: str, fields: Mapping[str, Any], source: str, cls: type) -> ConfigError:
    near = difflib.get_close_matches(key, list(fields), n=3)
    hint = f" Did you mean {', '.join(near)}?" if near else ""
    listing = ", ".join(f"{name} ({kind})" for name, kind, _ in describe_fields(cls))
    return ConfigError(f"{source}: unknown setting {key!r}.{hint} Valid settings: {listing}.")


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def _type_name(hint: Any) -> str:
    """ "int > 0", "float in [0, 1)", "Widths", "tuple[Widths, ...]": a setting's type as
    `nnlab list ID` and errors show it."""
    if hint == Widths:
        return "Widths"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated:
        ranges = [str(m) for m in hint.__metadata__ if isinstance(m, Range)]
        return " ".join([_type_name(args[0]), *ranges])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin in (tuple, list):
        inner = ", ".join("..." if a is Ellipsis else _type_name(a) for a in args)
        return f"{origin.__name__}[{inner}]"
    if origin is Literal:
        return f"Literal[{', '.join(map(repr, args))}]"
    if isinstance(hint, type):
        return "None" if hint is type(None) else hint.__name__
    return str(hint).replace("typing.", "")


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """`value` as the type `hint` (int, float, bool, str, X | None, tuple[X, ...], Literal,
    Widths); `Range`s are checked by the config itself."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is Annotated:
        if any(isinstance(m, _WidthsSpelling) for m in hint.__metadata__):
            return _to_widths(value, key)
        return _coerce(value, args[0], key)
    if origin in (typing.Union, types.UnionType):
        says_none = value is None or (
            isinstance(value, str) and value.lower() in ("none", "null", "")
        )
        if says_none and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        errors = []
        for a in inner:
            try:
                return _coerce(value, a, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(
            errors[0] if len(errors) == 1 else f"{key}: {value!r} fits none of {_type_name(hint)}."
        )
    if origin is typing.Literal:
        for choice in args:
            if value == choice or (isinstance(value, str) and value == str(choice)):
                return choice
        raise ConfigError(f"{key} must be one of {', '.join(map(repr, args))}, got {value!r}.")
    if origin in (tuple, list):
        item = args[0] if args else str
        if isinstance(value, str):
            parts = [p for p in value.strip("()[] ").split(",") if p.strip()]
        elif isinstance(value, (list, tuple)):
            parts = list(value)
        else:
            raise ConfigError(f"{key} expects a comma-separated list, got {value!r}.")
        return origin(_coerce(p.strip() if isinstance(p, str) else p, item, key) for p in parts)
    if hint is bool:
        return _to_bool(value, key)
    if hint in (int, float):
        return _to_number(value, hint, key)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} expects text, got {value!r}.")
        return value
    raise AssertionError(f"config field {key} has an unsupported type {hint!r}")


def _to_widths(value: Any, key: str) -> tuple[int, ...]:
    """ "256-256", "256,256", "128x3" (three of 128), [256, 256] -> (256, 256)."""
    if isinstance(value, (list, tuple)):
        return tuple(_to_number(v, int, key) for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,)
    if not isinstance(value, str) or not value.strip("()[] "):
        raise ConfigError(f"{key} expects layer widths such as 256-256, got {value!r}.")
    widths: list[int] = []
    for part in re.split(r"[-,\s]+", value.strip("()[] ")):
        width, times, count = part.partition("x")
        repeat = _to_number(count, int, key) if times else 1
        widths += [_to_number(width, int, key)] * repeat
    return tuple(widths)


def _to_bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1"):
        return True
    if isinstance(value, str) and value.lower() in ("false", "no", "off", "0"):
        return False
    raise ConfigError(f"{key} expects true or false, got {value!r}.")


def _to_number(value: Any, kind: type, key: str) -> int | float:
    if isinstance(value, bool):
        raise ConfigError(f"{key} expects {kind.__name__}, got {value!r}.")
    if isinstance(value, str):
        try:
            value = int(value) if kind is int else float(value)
        except ValueError:
            example = "3" if kind is int else "0.01"
            raise ConfigError(
                f"{key} expects {'an integer' if kind is int else 'a number'}, got {value!r}; "
                f"e.g. --set {key}={example}."
            ) from None
    if kind is int and isinstance(value, float):
        if not value.is_integer():
            raise ConfigError(f"{key} expects an integer, got {value!r}.")
        value = int(value)
    if not isinstance(value, (int, float)):
        raise ConfigError(f"{key} expects {kind.__name__}, got {value!r}.")
    return kind(value)
