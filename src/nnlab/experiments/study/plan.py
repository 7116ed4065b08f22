"""What a study runs: the seeds (`--seeds`), the settings grid (`--grid`) and their cross product.

Every cell of a study is one ordinary run: the study's base settings, one grid point and one
seed. All cells' settings are resolved (and refused) before any run starts, so a bad value in
the grid costs no half-finished study.
"""

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from nnlab.errors import ConfigError
from nnlab.experiments.catalog import Experiment
from nnlab.experiments.runner import resolve_settings

#: the most seeds one study asks for (a typo's "--seeds 1000000" is refused, not planned)
MAX_SEEDS = 1000


def parse_seeds(text: str) -> list[int]:
    """ "5" -> seeds 0-4; "0,3,7" -> those; "10-14" -> 10..14; parts may be mixed ("0,5-7").

    Raises
    ------
    ConfigError
        Not a count, a list or a range of whole numbers >= 0, or a seed given twice.
    """
    text = str(text).strip()
    if re.fullmatch(r"\d+", text):
        count = int(text)
        if not 1 <= count <= MAX_SEEDS:
            raise ConfigError(f"--seeds {text}: give between 1 and {MAX_SEEDS} seeds.")
        return list(range(count))
    seeds: list[int] = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", part)
        if not match or (match[2] is not None and int(match[2]) < int(match[1])):
            raise ConfigError(
                f"--seeds {text!r}: expected a count (5 = seeds 0-4), a list (0,3,7) or a "
                "range (10-14) of whole numbers."
            )
        low, high = int(match[1]), int(match[2] if match[2] is not None else match[1])
        seeds += range(low, high + 1)
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"--seeds {text!r} names a seed twice.")
    if len(seeds) > MAX_SEEDS:
        raise ConfigError(f"--seeds {text!r}: give at most {MAX_SEEDS} seeds.")
    return seeds


def parse_grid(items: Sequence[str]) -> dict[str, list[str]]:
    """["lr=0.01,0.1", "hidden=64-32,128"] -> {"lr": ["0.01", "0.1"], "hidden": [...]}.

    Values are split on "," — or on ";" when the text holds one, for a value that itself holds
    commas (a tuple setting: `--grid "lrs=0.1,0.01;0.5"`).
    """
    grid: dict[str, list[str]] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise ConfigError(
                f"--grid expects KEY=V1,V2,..., got {item!r}; e.g. --grid lr=0.01,0.1."
            )
        if key in grid:
            raise ConfigError(f"--grid {key} is given twice; list all its values in one --grid.")
        if key == "seed":
            raise ConfigError("--grid seed=...: seeds are given with --seeds (e.g. --seeds 5).")
        values = [v.strip() for v in text.split(";" if ";" in text else ",")]
        if any(not v for v in values) or len(set(values)) != len(values):
            raise ConfigError(f"--grid {item!r}: every value must be given once and be non-empty.")
        grid[key] = values
    return grid


@dataclass(frozen=True)
class Cell:
    """One run of a study: a grid point (`setting`, key -> value as given) and a seed."""

    setting: dict[str, str]
    seed: int
    config: dict = field(compare=False, repr=False)

    @property
    def label(self) -> str:
        """ "lr=0.01,hidden=64-32"; "" in a study over seeds alone."""
        return setting_label(self.setting)


def setting_label(setting: Mapping[str, str]) -> str:
    """A grid point as people read it: "lr=0.01,hidden=64-32" ("" for no grid)."""
    return ",".join(f"{k}={v}" for k, v in setting.items())


def plan_cells(
    experiment: Experiment,
    scale: str,
    overrides: Mapping[str, Any],
    seeds: Sequence[int],
    grid: Mapping[str, Sequence[str]],
    file: tuple[str, dict] | None = None,
) -> list[Cell]:
    """Every (grid point, seed) in order — grid points as the product of the keys' values in
    the order given, seeds innermost — each with its resolved settings.

    Raises
    ------
    ConfigError
        A grid key that is no setting of the experiment, one also given by --set, a seed also
        given by --set/--seed, or a value the setting refuses (named with its grid key).
    """
    both = [k for k in grid if k in overrides]
    if both:
        raise ConfigError(
            f"{', '.join(both)} is both in --grid and --set (or --dataset); give it in one place."
        )
    if "seed" in overrides:
        raise ConfigError("--seed and --seeds both given; a study's seeds are its --seeds.")
    cells = []
    points = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    for point in points:
        try:
            resolve_settings(experiment, scale, {**overrides, **point}, file)
        except ConfigError as exc:
            where = setting_label(point)
            raise ConfigError(f"--grid point {where}: {exc}") from None
        for seed in seeds:
            cfg = resolve_settings(experiment, scale, {**overrides, **point, "seed": seed}, file)
            cells.append(Cell(point, seed, asdict(cfg)))
    return cells
