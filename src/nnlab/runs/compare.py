"""Runs and studies side by side: `nnlab compare RUN RUN ...` writes one self-contained page.

A column is a run, or one setting (grid point) of a study. The page shows the settings whose
values differ between the columns, every metric side by side (a run's value; a study's mean ±
the half-width of its t-interval, from the study's metrics.json) and, for each learning curve
that two or more columns have, one figure with a line per column. It is written to
`runs_dir/compare-<YYYYmmdd-HHMMSS>/` (report.md, report.html, figures/, tables/), and only
after every ref has been found and read, so a bad ref leaves nothing behind.
"""

import itertools
import json
import math
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import nnlab
from nnlab.errors import ConfigError, CorruptFileError, UnknownNameError
from nnlab.runs.aggregate import CONFIDENCE, STATISTICS, Summary
from nnlab.runs.index import RunIndex
from nnlab.runs.machine import git_revision
from nnlab.runs.report import Figure, Note, Table, format_value, write_report
from nnlab.runs.study import (
    CellRun,
    by_setting,
    draw_curves,
    format_summary,
    mean_curves,
    prefixed,
    read_cells,
    read_history,
    seed_text,
)
from nnlab.runs.tables import is_number, write_csv

#: how the settings table shows a setting that a column does not have
NOT_SET = "—"


@dataclass(frozen=True)
class Column:
    """One column of the page: a run, or one setting of a study.

    Attributes
    ----------
    label : str
        Its heading (the run id or "<study> [<setting>]", shortened by `read_columns`).
    folder : Path
        The run or study folder.
    study : bool
        Whether it is a study's setting (its values are `Summary`s over the seeds).
    experiment, scale : str
    settings : dict
        Setting name -> its value as text (a study's seeds under "seed").
    values : dict
        Metric key -> a run's value, or a study's `Summary`.
    headline : list of str
        The metrics the run (or the study's runs) put first.
    held : (int, int)
        In how many runs the claim held, and how many tested one ((1, 1) for a run that held).
    histories : dict
        History name -> {curve column: [(step, Summary)]}, as `draw_curves` takes them.
    notice : str or None
        Why its numbers are incomplete (a run not done, a study's unfinished runs).
    """

    label: str
    folder: Path
    study: bool
    experiment: str
    scale: str
    settings: dict[str, str]
    values: dict
    headline: list[str] = field(default_factory=list)
    held: tuple[int, int] = (0, 0)
    histories: dict[str, dict[str, list[tuple]]] = field(default_factory=dict)
    notice: str | None = None


# -- finding and reading the columns ---------------------------------------------------------


def find_ref(ref: str, runs_dir: Path) -> Path | None:
    """The run or study folder that `ref` names (a folder, or a name in `runs_dir`), else None.

    Parameters
    ----------
    ref : str
        A run or study folder's path, its name in `runs_dir`, or a run id of the runs index.
    runs_dir : Path
        The folder of run folders and index.sqlite.

    Returns
    -------
    Path or None
        The folder, absolute.
    """
    for folder in (Path(ref), runs_dir / ref):
        if _is_run(folder) or _is_study(folder):
            return folder.absolute()
    if (runs_dir / "index.sqlite").is_file():
        try:
            folder = Path(RunIndex(runs_dir / "index.sqlite").get(ref).path)
        except UnknownNameError:
            return None
        return folder if _is_run(folder) else None
    return None


def read_columns(refs: Sequence[str], runs_dir: Path) -> list[Column]:
    """The columns that `refs` name, in order, with short unique labels; nothing is written.

    Parameters
    ----------
    refs : sequence of str
        Run ids, study names or their folders; a grid study gives a column per setting.
    runs_dir : Path
        Where names are looked up.

    Returns
    -------
    list of Column

    Raises
    ------
    UnknownNameError
        A ref names no run or study; the message lists the latest ones.
    ConfigError
        A folder is named twice, or the refs make fewer than two columns.
    CorruptFileError
        A run's or study's JSON file cannot be read.
    """
    runs_dir = Path(runs_dir)
    found = {ref: find_ref(ref, runs_dir) for ref in refs}
    unknown = [ref for ref, folder in found.items() if folder is None]
    if unknown:
        raise UnknownNameError(_unknown_message(unknown, runs_dir))
    folders = [found[ref] for ref in refs]
    twice = [ref for ref, folder in zip(refs, folders, strict=True) if folders.count(folder) > 1]
    if twice:
        raise ConfigError(f"{', '.join(map(repr, twice))} name the same folder; name each once.")
    columns = [c for folder in folders for c in _read_folder(folder)]
    if len(columns) < 2:
        raise ConfigError(
            f"only {len(columns)} column{'s' * (len(columns) != 1)} to compare ({' '.join(refs)}):"
            " name two or more runs or studies (a study over a grid counts once per setting)."
        )
    return _labelled(columns)


def _is_run(folder: Path) -> bool:
    return (folder / "run.json").is_file()


def _is_study(folder: Path) -> bool:
    return (folder / "study.json").is_file()


def _unknown_message(refs: list[str], runs_dir: Path) -> str:
    """What names no run or study, and the latest runs and studies, so the user can pick one."""
    folders = sorted(runs_dir.iterdir()) if runs_dir.is_dir() else []
    runs = [f.name for f in folders if _is_run(f)][-5:]
    studies = [f.name for f in folders if _is_study(f)][-5:]
    latest = (
        "".join(
            f" Latest {kind}: {', '.join(names)}."
            for kind, names in (("runs", runs), ("studies", studies))
            if names
        )
        or f" There are no runs or studies in {runs_dir}."
    )
    what = ", ".join(map(repr, refs))
    return (
        f"No run or study {what}: neither a run or study folder nor a name in {runs_dir}."
        f"{latest} `nnlab runs` lists the runs."
    )


def _read_folder(folder: Path) -> list[Column]:
    """A run folder's one column, or a study folder's column per setting."""
    return [_run_column(folder)] if _is_run(folder) else _study_columns(folder)


def _run_column(folder: Path) -> Column:
    """A run as a column: its config.json, metrics.json, verdict and learning curves."""
    info = _read_json(folder / "run.json")
    config = _read_json(folder / "config.json", missing={})
    held = (info.get("verdict") or {}).get("held")
    status = info.get("status", "unknown")
    cell = CellRun(folder.name, config.get("seed", 0), folder.name, status, folder)
    histories = {name: mean_curves([cell], name) for name in info.get("histories") or []}
    notice = (
        f"Run {folder.name} is {status}, not done: its numbers are what it recorded before it "
        "stopped."
    )
    return Column(
        label=folder.name,
        folder=folder,
        study=False,
        experiment=info.get("experiment", ""),
        scale=info.get("scale", ""),
        settings={key: _text(value) for key, value in config.items()},
        values=_read_json(folder / "metrics.json", missing={}),
        headline=list(info.get("headline") or []),
        held=(0, 0) if held is None else (int(held), 1),
        histories={name: curves for name, curves in histories.items() if curves},
        notice=None if status == "done" else notice,
    )


def _study_columns(folder: Path) -> list[Column]:
    """A study as a column per setting: the settings of its runs, its metrics.json's statistics
    and its mean learning curves."""
    state = _read_json(folder / "study.json")
    metrics = _read_json(folder / "metrics.json", missing={})
    cells = read_cells(folder, state)
    curves = sorted((folder / "histories").glob("*.csv"))
    columns = []
    for label, runs in by_setting(cells).items():
        prefix = prefixed(label, "")
        heading = f"{folder.name} [{label}]" if label else folder.name
        planned = sum(c.label == label for c in cells)
        histories = {path.stem: _study_curves(path, label) for path in curves}
        notice = f"{heading}: {len(runs)} of {planned} runs are done; its numbers are over those."
        columns.append(
            Column(
                label=heading,
                folder=folder,
                study=True,
                experiment=state.get("experiment", ""),
                scale=state.get("scale", ""),
                settings=_setting_settings(state, label, runs),
                values=_study_summaries(metrics, prefix),
                headline=list(dict.fromkeys(k for c in runs for k in c.info.get("headline") or [])),
                held=(
                    metrics.get(f"{prefix}verdict.held.count", 0),
                    metrics.get(f"{prefix}verdict.held.n", 0),
                ),
                histories={name: c for name, c in histories.items() if c},
                notice=None if len(runs) == planned else notice,
            )
        )
    return columns


def _setting_settings(state: dict, label: str, runs: Sequence[CellRun]) -> dict[str, str]:
    """A study setting's settings as text: its first done run's config.json (the resolved
    settings), else the study's overrides and grid point, and its seeds under "seed"."""
    settings = _read_json(runs[0].folder / "config.json", missing={}) if runs else {}
    point = next(c.get("setting") or {} for c in state["cells"] if c["label"] == label)
    for key, value in {**(state.get("overrides") or {}), **point}.items():
        settings.setdefault(key, value)
    seeds = state.get("seeds") or []
    settings["seed"] = f"{seed_text(seeds)} ({len(seeds)} seed{'s' * (len(seeds) != 1)})"
    return {key: _text(value) for key, value in settings.items()}


def _study_summaries(metrics: Mapping, prefix: str) -> dict[str, Summary]:
    """Each number's Summary in a study's metrics.json under `prefix` (keys
    `<prefix><key>.mean|std|n|ci_low|ci_high`), in the file's order."""
    keys = [
        k[len(prefix) : -len(".mean")]
        for k in metrics
        if k.startswith(prefix) and k.endswith(".mean")
    ]
    return {key: _summary(metrics, f"{prefix}{key}.") for key in keys}


def _study_curves(path: Path, label: str) -> dict[str, list[tuple]]:
    """One setting's mean curves in a study's histories/<name>.csv: {column: [(step, Summary)]}."""
    curves: dict[str, list[tuple]] = {}
    for row in read_history(path):
        if str(row.get("setting") or "") == label and is_number(row.get("step")):
            curves.setdefault(str(row["metric"]), []).append((row["step"], _summary(row)))
    return {column: sorted(points, key=lambda p: p[0]) for column, points in curves.items()}


def _summary(values: Mapping, prefix: str = "") -> Summary:
    """The Summary stored as `<prefix>mean`, `<prefix>std`, ...; a missing or null statistic
    (JSON's NaN) is NaN, a missing n 0."""
    stats = {name: values.get(f"{prefix}{name}") for name in STATISTICS}
    n = stats.pop("n")
    floats = {name: math.nan if v is None else v for name, v in stats.items()}
    return Summary(n=int(n) if is_number(n) else 0, **floats)


def _labelled(columns: list[Column]) -> list[Column]:
    """The columns with the shortest unique labels: ids without their shared experiment's name,
    else whole ids, else with the folders' paths."""
    choices = []
    if len({c.experiment for c in columns}) == 1:
        choices.append([c.label.replace(f"-{c.experiment}", "", 1) for c in columns])
    choices.append([c.label for c in columns])
    choices.append([c.label.replace(c.folder.name, str(c.folder), 1) for c in columns])
    labels = next(ls for ls in choices if len(set(ls)) == len(ls))
    return [replace(c, label=label) for c, label in zip(columns, labels, strict=True)]


def _text(value) -> str:
    """A setting's value as text, so that "32" from a grid equals 32 from a config."""
    return value if isinstance(value, str) else json.dumps(value)


def _read_json(path: Path, missing: dict | None = None) -> dict:
    """A JSON object file; `missing` when the file is absent (given), else a CorruptFileError."""
    if missing is not None and not path.is_file():
        return dict(missing)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorruptFileError(
            f"cannot read {path}: {exc}; leave it out of the comparison."
        ) from exc
    if not isinstance(value, dict):
        raise CorruptFileError(f"{path} should hold a JSON object; leave it out of the comparison.")
    return value


# -- what the page shows -----------------------------------------------------------------------


def differing_settings(columns: Sequence[Column]) -> list[dict]:
    """The settings whose values are not all equal across the columns, one row each.

    Parameters
    ----------
    columns : sequence of Column

    Returns
    -------
    list of dict
        {"setting": name, <label>: value as text, ...}, experiment and scale first (when they
        differ), then the settings in first-seen order; `NOT_SET` where a column has none.
    """
    names = dict.fromkeys(k for c in columns for k in c.settings)
    values = {
        "experiment": [c.experiment for c in columns],
        "scale": [c.scale for c in columns],
    } | {name: [c.settings.get(name, NOT_SET) for c in columns] for name in names}
    return [
        {"setting": name, **{c.label: v for c, v in zip(columns, shown, strict=True)}}
        for name, shown in values.items()
        if len(set(shown)) > 1
    ]


def verdict_text(column: Column) -> str:
    """ "held", "did not hold" or "no claim" for a run; "held in k of n" for a study's setting."""
    held, tested = column.held
    if not tested:
        return "no claim"
    if column.study:
        return f"held in {held} of {tested}"
    return "held" if held else "did not hold"


def metric_keys(columns: Sequence[Column]) -> list[str]:
    """Every metric of any column once: the verdict's, then the headline ones, then the rest in
    first-seen order (`verdict.held` is the claim row's)."""
    keys = [k for c in columns for k in c.values]
    verdict = [k for k in keys if k.startswith("verdict.")]
    headline = [k for c in columns for k in c.headline if k in keys]
    return [k for k in dict.fromkeys(verdict + headline + keys) if k != "verdict.held"]


def metric_rows(columns: Sequence[Column]) -> list[dict]:
    """The metrics side by side, as the page shows them.

    Parameters
    ----------
    columns : sequence of Column

    Returns
    -------
    list of dict
        {"metric": key, <label>: shown value, ...}: first the claim row, then one row per
        metric key (`metric_keys`); a run's value as `format_value` writes it, a study's as
        "mean ± half-width (n=…)"; a column without the key has no cell.
    """
    rows = [{"metric": "claim", **{c.label: verdict_text(c) for c in columns}}]
    for key in metric_keys(columns):
        rows.append(
            {"metric": key, **{c.label: _shown(c.values[key]) for c in columns if key in c.values}}
        )
    return rows


def _shown(value) -> str:
    """A run's value as the report writes it; a study's Summary as "mean ± half-width (n=…)",
    the mean alone when every seed gave the same number (a setting, a count)."""
    if isinstance(value, Summary):
        mean = format_value(value.mean) if value.std == 0 else format_summary(value)
        return f"{mean} (n={value.n})"
    return format_value(value)


def _number_columns(column: Column) -> list[str]:
    """The CSV columns of one column: the value (a study's mean), and a study's interval and n."""
    if not column.study:
        return [column.label]
    return [column.label, *(f"{column.label} {s}" for s in ("ci_low", "ci_high", "n"))]


def _numbers(column: Column, value) -> dict:
    """One CSV cell group: a run's value, or a study's mean, ci_low, ci_high and n."""
    if not isinstance(value, Summary):
        return {column.label: value}
    stats = (value.mean, value.ci_low, value.ci_high, value.n)
    return dict(zip(_number_columns(column), stats, strict=True))


def metric_numbers(columns: Sequence[Column]) -> tuple[list[str], list[dict]]:
    """tables/metrics.csv: the side-by-side metrics as plain numbers.

    Parameters
    ----------
    columns : sequence of Column

    Returns
    -------
    header : list of str
        "metric", then per column its label (a run's value, a study's mean) and, for a study,
        "<label> ci_low", "<label> ci_high" and "<label> n".
    rows : list of dict
        First "claim held": the fraction of the column's runs in which the claim held (1 or 0
        for a run; empty without a claim), then one row per metric key.
    """
    header = ["metric", *(name for c in columns for name in _number_columns(c))]
    claim: dict = {"metric": "claim held"}
    for c in columns:
        held, tested = c.held
        claim[c.label] = held / tested if tested else None
        if c.study:
            claim[f"{c.label} n"] = tested
    rows = [claim]
    for key in metric_keys(columns):
        row = {"metric": key}
        for c in columns:
            if key in c.values:
                row |= _numbers(c, c.values[key])
        rows.append(row)
    return header, rows


# -- the page -----------------------------------------------------------------------------------


def write_comparison(refs: Sequence[str], runs_dir: Path) -> Path:
    """Write the comparison of `refs` into a new `runs_dir/compare-<time>/`; its report.html.

    Parameters
    ----------
    refs : sequence of str
        Run ids, study names or folders: two or more columns in all.
    runs_dir : Path
        Where names are looked up and the comparison folder goes.

    Returns
    -------
    Path
        The comparison's report.html.

    Raises
    ------
    UnknownNameError, ConfigError, CorruptFileError
        As `read_columns`; then no folder is made.
    """
    columns = read_columns(refs, runs_dir)
    folder = _new_folder(Path(runs_dir))
    try:
        _write(folder, columns)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # no half-written comparison
        raise
    return folder / "report.html"


def _new_folder(runs_dir: Path) -> Path:
    """Make runs_dir/compare-<YYYYmmdd-HHMMSS>, or its -2, -3, ... when taken (exclusively, so two
    comparisons in the same second never share one)."""
    base = f"compare-{datetime.now():%Y%m%d-%H%M%S}"
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        for n in itertools.count(1):
            path = runs_dir / (base if n == 1 else f"{base}-{n}")
            try:
                path.mkdir()
                return path.absolute()
            except FileExistsError:
                continue
    except OSError as exc:
        raise ConfigError(
            f"cannot make a folder in {runs_dir}: {exc}. Choose another (--out)."
        ) from exc


def _write(folder: Path, columns: list[Column]) -> None:
    """The page's tables, figures and reports into `folder`."""
    (folder / "tables").mkdir()
    items: list = [Note(_columns_note(folder, columns))]
    experiments = list(dict.fromkeys(c.experiment for c in columns))
    if len(experiments) > 1:
        items.append(
            Note(
                f"The columns come from different experiments ({', '.join(experiments)}): a "
                "metric or setting of the same name need not mean the same thing in each."
            )
        )
    labels = tuple(c.label for c in columns)
    settings = differing_settings(columns)
    if settings:
        write_csv(folder / "tables" / "settings.csv", ["setting", *labels], settings)
        items.append(
            Table("settings", ("setting", *labels), tuple(settings), "Settings that differ")
        )
    else:
        items.append(
            Note("**Settings that differ:** none; every column ran with the same settings.")
        )
    header, numbers = metric_numbers(columns)
    write_csv(folder / "tables" / "metrics.csv", header, numbers)
    items.append(Note(_metrics_note()))
    items.append(
        Table("metrics", ("metric", *labels), tuple(metric_rows(columns)), "Metrics side by side")
    )
    items += _curve_figures(folder, columns)
    notices = [c.notice for c in columns if c.notice]
    config = {"compared": {c.label: str(c.folder) for c in columns}}
    write_report(folder, _info(folder, columns), list(dict.fromkeys(notices)), items, {}, config)


def _columns_note(folder: Path, columns: Sequence[Column]) -> str:
    """One line per column: what it is, linked to its own report."""
    lines = []
    for c in columns:
        what = "a setting of the study" if c.study else "the run"
        report = c.folder / "report.html"
        link = f"[{c.folder.name}]({quote(Path(os.path.relpath(report, folder)).as_posix())})"
        source = link if report.is_file() else f"`{c.folder.name}`"
        lines.append(f"- **{c.label}**: {what} {source} ({c.experiment}, {c.scale} scale)")
    return "Each column, and where it comes from:\n\n" + "\n".join(lines)


def _metrics_note() -> str:
    return (
        "A run's number is its own (metrics.json); a study's is the mean over its seeds ± the "
        f"half-width of the {CONFIDENCE:.0%} t-interval, with n the seeds that have it (the "
        "study's metrics.json). The claim row says whether a run's claim held, or in how many "
        "of a setting's runs. [tables/metrics.csv](tables/metrics.csv) holds the numbers: a "
        "run's value; a study's mean, ci_low, ci_high and n; and the claim as the fraction of "
        "runs in which it held."
    )


def _curve_figures(folder: Path, columns: Sequence[Column]) -> list[Figure]:
    """figures/curves-<name>.png for each history two or more columns have: a line per column."""
    names = dict.fromkeys(name for c in columns for name in c.histories)
    figures = []
    for name in names:
        curves = {c.label: c.histories[name] for c in columns if name in c.histories}
        if len(curves) < 2:
            continue
        draw_curves(folder / "figures" / f"curves-{name}.png", curves, name)
        figures.append(
            Figure(
                f"curves-{name}",
                f"{name}: one line per column; a study's is its mean over the seeds, its "
                f"{CONFIDENCE:.0%} t-interval shaded.",
            )
        )
    return figures


def _info(folder: Path, columns: Sequence[Column]) -> dict:
    """What the report's header and "Run" section show of the comparison."""
    experiments = list(dict.fromkeys(c.experiment for c in columns))
    scales = {c.scale for c in columns}
    what = experiments[0] if len(experiments) == 1 else f"{len(experiments)} experiments"
    return {
        "id": folder.name,
        "experiment": ", ".join(experiments),
        "title": f"Comparison: {what}, {len(columns)} side by side",
        "scale": scales.pop() if len(scales) == 1 else None,
        "status": "done",
        "started": datetime.now().astimezone().isoformat(timespec="seconds"),
        "git_revision": git_revision(),
        "nnlab_version": nnlab.__version__,
    }
