"""Tables of results: plain cell values, their CSV file, and the metrics their numbers become.

Every number in a table is also a metric `<table>.<row key>.<column>`, so scripts compare runs
through metrics.json without parsing reports. A row key is the row's first cell made readable
as a key ("CNN (permuted)" -> "cnn_permuted"); when first cells repeat, the next cells are joined
on until the keys are unique, e.g. "cnn_permuted" for model "CNN", input "permuted".
"""

import csv
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from nnlab.errors import ConfigError
from nnlab.files import atomic_write
from nnlab.runs.values import scalar

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def check_name(kind: str, name: str) -> str:
    """`name` if it is usable as a file name and metric prefix, else a ConfigError.

    Parameters
    ----------
    kind : str
        What is named ("table", "figure", ...), for the message.
    name : str
        Letters, digits, "_", "." and "-", not starting with "." or "-".
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(
            f"{kind} name {name!r} is not usable as a file name: use letters, digits, '_', '.' "
            f"and '-' (not first), e.g. 'accuracy' or 'loss-curves'."
        )
    return name


def plain_rows(table: str, rows: Sequence[Mapping]) -> tuple[list[str], list[dict]]:
    """Rows with plain cell values, and the union of their columns in first-seen order.

    Parameters
    ----------
    table : str
        The table's name, for messages.
    rows : sequence of mappings
        Column name -> cell. A cell that is no scalar is kept as its `str`.

    Returns
    -------
    columns : list of str
    rows : list of dict
    """
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise ConfigError(
                f"table {table!r}: row {i} is a {type(row).__name__}; each row must be a dict of "
                "column name -> value."
            )
        cells = {}
        for key, value in row.items():
            try:
                cells[str(key)] = None if value is None else scalar(value, "cell")
            except ConfigError:
                cells[str(key)] = str(value)
        out.append(cells)
    columns = list(dict.fromkeys(c for row in out for c in row))
    return columns, out


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    """Write the table as CSV atomically (floats at full precision, missing cells empty)."""
    with atomic_write(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)


def slug(value) -> str:
    """A cell or column name made readable as a key: lowercase, non-alphanumeric runs -> "_"."""
    return re.sub(r"[^0-9a-z]+", "_", str(value).lower()).strip("_")


def is_number(value) -> bool:
    """Whether `value` is an int or float (and no bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def row_keys(columns: list[str], rows: list[dict]) -> tuple[list[str], int]:
    """A unique, readable key per row, and how many leading columns it was made from.

    Starts from the first column and joins the next ones while keys repeat, but never joins a
    column holding floats (measurements are no names) and always leaves one column of values.
    Rows still alike are numbered: "cnn", "cnn_2", ... When the first column holds floats, or is
    the only one, rows are numbered instead: "row1", "row2", ...

    Parameters
    ----------
    columns : list of str
        In order.
    rows : list of dict

    Returns
    -------
    keys : list of str
        One per row.
    n_key_columns : int
        The number of leading columns the keys come from.
    """
    if len(columns) < 2 or any(isinstance(r.get(columns[0]), float) for r in rows):
        return [f"row{i + 1}" for i in range(len(rows))], 0
    limit = 1
    while limit < len(columns) - 1 and not any(
        isinstance(r.get(columns[limit]), float) for r in rows
    ):
        limit += 1
    for n in range(1, limit + 1):
        keys = [
            "_".join(p for p in (slug(row.get(c, "")) for c in columns[:n]) if p) or f"row{i + 1}"
            for i, row in enumerate(rows)
        ]
        if len(set(keys)) == len(keys):
            return keys, n
    seen: dict[str, int] = {}
    numbered = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        numbered.append(key if seen[key] == 1 else f"{key}_{seen[key]}")
    return numbered, limit


def table_metrics(table: str, columns: list[str], rows: list[dict]) -> dict[str, float | int]:
    """Every number in the table's value columns as `<table>.<row key>.<column>` -> value.

    Parameters
    ----------
    table : str
        The table's name.
    columns : list of str
    rows : list of dict

    Returns
    -------
    dict
        In row, then column order; NaN kept.
    """
    if not columns:
        return {}
    keys, n_key = row_keys(columns, rows)
    metrics: dict[str, float | int] = {}
    for key, row in zip(keys, rows, strict=True):
        for column in columns[n_key:]:
            value = row.get(column)
            if is_number(value):
                metrics[f"{table}.{key}.{slug(column) or column}"] = value
    return metrics
