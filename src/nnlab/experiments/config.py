"""Experiment settings: a dataclass per experiment, scales that override it, `--set key=value`.

The dataclass's defaults are the full-scale (original study's) settings; `SCALES` of an
experiment overrides some of them for `smoke` and `quick`. A user's `key=value` strings are
parsed against the field's declared type, so `epochs=2.5` or `epoch=2` fail with a message that
says what the setting expects or which settings exist.
"""

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from nnlab.errors import ConfigError

SCALE_NAMES = ("smoke", "quick", "full")


@dataclasses.dataclass
class ExperimentConfig:
    """Settings every experiment has; subclasses add their own fields (all with defaults).

    Attributes
    ----------
    seed : int
        Seeds the model initialisation, the shuffles and every random choice of the run.
    """

    seed: int = 0


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
) -> ExperimentConfig:
    """The settings of one run: defaults, then the scale's overrides, then the user's.

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

    Returns
    -------
    ExperimentConfig
        An instance of `cls` (its `__post_init__` checks value ranges).
    """
    if scale not in SCALE_NAMES:
        raise ConfigError(f"Unknown scale {scale!r}; choose one of {', '.join(SCALE_NAMES)}.")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for source, settings in (("scale", (scales or {}).get(scale, {})), ("--set", overrides or {})):
        for key, raw in settings.items():
            if key not in fields:
                raise _unknown_key(key, fields, source, cls)
            values[key] = _coerce(raw, hints[key], key)
    return cls(**values)


def describe_fields(cls: type[ExperimentConfig]) -> list[tuple[str, str, Any]]:
    """(name, type as written, full-scale default) of each setting, for `nnlab list` and errors."""
    hints = typing.get_type_hints(cls)
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
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "")


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """`value` as the type `hint` (int, float, bool, str, X | None, tuple[X, ...], Literal)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
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


def check_positive(cfg: ExperimentConfig, *names: str) -> None:
    """Refuse settings among `names` that are zero or negative (None is allowed: "not set")."""
    for name in names:
        value = getattr(cfg, name)
        if value is not None and value <= 0:
            raise ConfigError(f"{name} must be positive, got {value!r}.")
