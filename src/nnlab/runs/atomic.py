"""Atomic writes of run files (text, JSON) through `nnlab.files.atomic_write`.

A run file either holds its old content or its complete new content; see `nnlab.files`.
"""

from pathlib import Path
from typing import Any

from nnlab.files import atomic_write
from nnlab.runs.values import to_json


def write_text(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    with atomic_write(path, "w") as f:
        f.write(text)


def write_json(path: Path, obj: Any, *, sort_keys: bool = False) -> None:
    """Write `to_json(obj)` plus a newline to `path` atomically."""
    write_text(path, to_json(obj, sort_keys=sort_keys) + "\n")
