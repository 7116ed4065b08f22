"""A study's folder: its runs' numbers summarised per setting, its report and its metrics.

Reads the cells' run folders (metrics.json, tables/*.csv, histories/*.csv, run.json) and writes
beside study.json: metrics.json (`[<setting>/]<key>.mean|std|n|ci_low|ci_high`, and for a grid
`<setting> - <first setting>/<key>.…` paired by seed), tables/*.csv (each of the experiment's
tables with every number's statistics), histories/<model>.csv (the learning curves' mean and
interval per step), figures/ and report.md / report.html.
"""

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from nnlab.runs.aggregate import (
    CONFIDENCE,
    STATISTICS,
    Summary,
    held_count,
    paired_difference,
    summarize,
    summarize_metrics,
)
from nnlab.runs.atomic import write_json
from nnlab.runs.report import (
    HEADLINE_COUNT,
    Figure,
    Note,
    Table,
    format_duration,
    format_value,
    read_json_object,
    write_report,
)
from nnlab.runs.tables import is_number, row_keys, write_csv

#: columns of a history worth a curve, loss first, in the order they are looked for
CURVE_COLUMNS = (("val_loss", "train_loss"), ("val_acc", "train_acc"))


@dataclass
class CellRun:
    """One cell's run as the study reads it back."""

    label: str
    seed: int
    run_id: str | None
    status: str
    folder: Path | None
    info: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.status == "done"

    @property
    def held(self) -> bool | None:
        return (self.info.get("verdict") or {}).get("held")


def read_cells(folder: Path, state: dict) -> list[CellRun]:
    """Every cell of study.json's `state`, with its run's files where the run exists."""
    runs_dir = folder.parent
    cells = []
    for cell in state["cells"]:
        run_folder = runs_dir / cell["run"] if cell.get("run") else None
        cells.append(
            CellRun(
                cell["label"],
                cell["seed"],
                cell.get("run"),
                cell["status"],
                run_folder,
                read_json_object(run_folder / "run.json") if run_folder else {},
                read_json_object(run_folder / "metrics.json") if run_folder else {},
            )
        )
    return cells


def prefixed(label: str, key: str) -> str:
    """A study metric's key: "<key>" for a study over seeds alone, else "<label>/<key>"."""
    return f"{label}/{key}" if label else key


def by_setting(cells: Sequence[CellRun]) -> dict[str, list[CellRun]]:
    """The done cells of each setting (grid point), in plan order."""
    groups: dict[str, list[CellRun]] = {}
    for cell in cells:
        groups.setdefault(cell.label, [])
        if cell.done:
            groups[cell.label].append(cell)
    return groups


def study_metrics(cells: Sequence[CellRun]) -> dict:
    """Every number's statistics per setting, the verdict counts, and paired differences of each
    setting from the first."""
    groups = by_setting(cells)
    out: dict = {}
    for label, runs in groups.items():
        for key, summary in summarize_metrics([c.metrics for c in runs]).items():
            out.update(summary.metrics(prefixed(label, key)))
        for key, (true, n) in true_counts([c.metrics for c in runs]).items():
            out[prefixed(label, f"{key}.count")] = true
            out[prefixed(label, f"{key}.n")] = n
    for (label, key), diff in differences(groups).items():
        out.update(diff.summary.metrics(f"{label}/{key}"))
        out[f"{label}/{key}.p_value"] = diff.p_value
    return out


def true_counts(runs: Sequence[dict]) -> dict[str, tuple[int, int]]:
    """For every yes/no metric (`verdict.held`, `verdict.control_equal`, ...): (how many runs
    say true, how many have it)."""
    counts: dict[str, list[int]] = {}
    for metrics in runs:
        for key, value in metrics.items():
            if isinstance(value, bool):
                count = counts.setdefault(key, [0, 0])
                count[0] += value
                count[1] += 1
    return {key: (true, n) for key, (true, n) in counts.items()}


def differences(groups: dict[str, list[CellRun]]) -> dict:
    """{("<setting> - <first>", key): Difference} for every number both settings have."""
    labels = list(groups)
    if len(labels) < 2:
        return {}
    first = {c.seed: c.metrics for c in groups[labels[0]]}
    out = {}
    for label in labels[1:]:
        other = {c.seed: c.metrics for c in groups[label]}
        keys = dict.fromkeys(k for m in other.values() for k, v in m.items() if is_number(v))
        for key in keys:
            a = {s: m[key] for s, m in first.items() if is_number(m.get(key))}
            b = {s: m[key] for s, m in other.items() if is_number(m.get(key))}
            diff = paired_difference(a, b)
            if diff is not None:
                out[(f"{label} - {labels[0]}", key)] = diff
    return out


def format_summary(summary: Summary) -> str:
    """ "0.9331 ± 0.012" (the mean ± the interval's half-width); the mean alone for n = 1."""
    if summary.n == 1 or math.isnan(summary.half_width):
        return format_value(summary.mean)
    return f"{format_value(summary.mean)} ± {format_value(summary.half_width)}"


def write_study_report(folder: Path, state: dict) -> list[tuple[str, list[dict]]]:
    """Write the study's metrics.json, tables, curves and reports from its runs.

    Parameters
    ----------
    folder : Path
        The study folder (holding study.json); its runs are beside it.
    state : dict
        study.json's content.

    Returns
    -------
    list of (title, rows)
        The summary tables, for the terminal.
    """
    cells = read_cells(folder, state)
    groups = by_setting(cells)
    grid = list(state.get("grid") or {})
    items: list = [Note(_method_note(state))]
    summary_rows = _summary_rows(groups, grid)
    items.append(Table("summary", tuple(summary_rows[0]), tuple(summary_rows), "Summary"))
    write_csv(_tables(folder) / "summary.csv", list(summary_rows[0]), summary_rows)
    for name in _table_names(cells):
        table, csv_rows = _study_table(name, groups, grid)
        if table is not None:
            write_csv(_tables(folder) / f"{name}.csv", list(csv_rows[0]), csv_rows)
            items.append(table)
    diffs = differences(groups)
    if diffs:
        items += _difference_items(folder, diffs, _headline_keys(cells))
    for name in _history_names(cells):
        figure = _curves(folder, name, groups)
        if figure is not None:
            items.append(figure)
    cell_rows = _cell_rows(cells, grid)
    items.append(Table("cells", tuple(cell_rows[0]), tuple(cell_rows), "The runs"))
    write_csv(_tables(folder) / "cells.csv", list(cell_rows[0]), cell_rows)
    items.append(Note(_run_links(cells)))
    metrics = study_metrics(cells)
    write_json(folder / "metrics.json", metrics, sort_keys=True)
    write_report(folder, _info(state, cells, groups), _notices(cells), items, metrics,
                 _config(state))  # fmt: skip
    return [("Summary", [{k: v for k, v in row.items()} for row in summary_rows])]


def book_row(folder: Path) -> dict:
    """A study's row on a book page (`nnlab run --all --seeds N`): its report, whether every run
    finished, how often the claim held, and its headline numbers as mean ± half-width."""
    state = read_json_object(folder / "study.json")
    cells = read_cells(folder, state)
    done = [c for c in cells if c.done]
    held, tested = held_count([c.held for c in done])
    summaries = summarize_metrics([c.metrics for c in done])
    headline = [(k, format_summary(summaries[k])) for k in _headline_keys(cells) if k in summaries]
    seconds = sum(c.info.get("seconds") or 0.0 for c in cells)
    status = "done" if len(done) == len(cells) else "failed"
    return {
        "href": f"{folder.name}/report.html",
        "title": f"{state.get('title', '')}: {len(done)} of {len(cells)} runs done",
        "status": status,
        "duration": format_duration(seconds),
        "seconds": seconds,
        "headline": headline[:HEADLINE_COUNT],
        "verdict": f"held in {held} of {tested}" if tested else "no claim",
        "verdict_class": "st-done" if tested and held == tested else
        "st-failed" if tested and not held else "muted",
    }  # fmt: skip


def study_rows(runs_dir: Path) -> list[dict]:
    """Every study folder in `runs_dir`, newest first, as `book_row` shows it (plus its name,
    experiment and scale), for the runs' index page and `nnlab runs`."""
    rows = []
    for path in sorted(Path(runs_dir).glob("*/study.json"), reverse=True):
        state = read_json_object(path)
        if state.get("cells"):
            rows.append(book_row(path.parent) | {"id": path.parent.name,
                        "experiment": state.get("experiment", ""),
                        "scale": state.get("scale", "")})  # fmt: skip
    return rows


# -- the parts of the report ---------------------------------------------------------------------


def _method_note(state: dict) -> str:
    seeds = state["seeds"]
    grid = state.get("grid") or {}
    varied = "; ".join(f"`{k}` = {', '.join(v)}" for k, v in grid.items())
    what = f"over the settings {varied}, each " if grid else ""
    return (
        f"Every run of `{state['experiment']}` at {state['scale']} scale {what}with seeds "
        f"{seed_text(seeds)} ({len(seeds)} per setting). A number is shown as mean ± the "
        f"half-width of its {CONFIDENCE:.0%} confidence interval over the seeds: Student's "
        "t-interval (scipy.stats.t, n − 1 degrees of freedom), which assumes the seeds' "
        "results scatter roughly normally; std is the sample standard deviation. The CSV files "
        "hold mean, std, n, ci_low and ci_high of every number."
    )


def seed_text(seeds: Sequence[int]) -> str:
    """ "0–4" for a run of three or more consecutive seeds, else "0, 3, 7": for headings."""
    if list(seeds) == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 2:
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)


def _headline_keys(cells: Sequence[CellRun]) -> list[str]:
    """The verdict's numbers, then the runs' headline metrics, in order, once each."""
    keys: dict[str, None] = {}
    for cell in cells:
        if cell.done:
            keys |= dict.fromkeys(k for k in cell.metrics if k.startswith("verdict."))
            keys |= dict.fromkeys(cell.info.get("headline") or [])
    return [k for k in keys if k != "verdict.held"]


def _summary_rows(groups: dict[str, list[CellRun]], grid: list[str]) -> list[dict]:
    """Per setting: how often the claim held, and the verdict's and headline numbers."""
    keys = _headline_keys([c for runs in groups.values() for c in runs])
    rows = []
    for label, runs in groups.items():
        row = _setting_cells(label, grid)
        held, tested = held_count([c.held for c in runs])
        row["runs done"] = len(runs)
        row["claim held"] = f"{held} of {tested}" if tested else "no claim"
        summaries = summarize_metrics([c.metrics for c in runs])
        yes_no = true_counts([c.metrics for c in runs])
        for key in keys:
            summary = summaries.get(key)
            if key in yes_no:
                row[key] = "{} of {}".format(*yes_no[key])
            elif summary is not None:
                row[key] = summary.mean if summary.std == 0 else format_summary(summary)
            else:
                row[key] = ""
        rows.append(row)
    return rows


def _setting_cells(label: str, grid: list[str]) -> dict:
    """The grid's settings of one grid point as table cells ({} for a study over seeds)."""
    values = dict(part.split("=", 1) for part in label.split(",")) if label else {}
    return {key: values.get(key, "") for key in grid}


def _table_names(cells: Sequence[CellRun]) -> list[str]:
    names: dict[str, None] = {}
    for cell in cells:
        if cell.done and (cell.folder / "tables").is_dir():
            names |= dict.fromkeys(sorted(p.stem for p in (cell.folder / "tables").glob("*.csv")))
    return list(names)


def _study_table(name: str, groups: dict[str, list[CellRun]], grid: list[str]):
    """One of the experiment's tables over the seeds: (report Table, CSV rows), or (None, None)
    when no run has it. Rows are matched by their key (see `row_keys`)."""
    display, csv_rows, columns = [], [], None
    for label, runs in groups.items():
        merged: dict[str, dict] = {}  # row key -> {"cells": first row, "values": col -> [x]}
        for cell in runs:
            path = cell.folder / "tables" / f"{name}.csv"
            if not path.is_file():
                continue
            header, rows = _read_csv(path)
            columns = columns or header
            keys, n_key = row_keys(header, rows)
            for key, row in zip(keys, rows, strict=True):
                entry = merged.setdefault(key, {"row": row, "n_key": n_key, "values": {}})
                for column in header[n_key:]:
                    entry["values"].setdefault(column, []).append(row.get(column))
        for entry in merged.values():
            shown, numbers = _setting_cells(label, grid), _setting_cells(label, grid)
            for column in columns[: entry["n_key"]]:
                shown[column] = numbers[column] = entry["row"].get(column)
            for column in columns[entry["n_key"] :]:
                values = [v for v in entry["values"].get(column, []) if v is not None]
                if values and all(is_number(v) for v in values) and len(set(values)) > 1:
                    summary = summarize(values)
                    shown[column] = format_summary(summary)
                    numbers |= {f"{column}.{s}": getattr(summary, s) for s in STATISTICS}
                else:  # text, or the same number in every run (a setting, a count)
                    distinct = list(dict.fromkeys(values))
                    shown[column] = numbers[column] = (
                        distinct[0] if len(distinct) == 1 else " / ".join(map(str, distinct))
                    )
            display.append(shown)
            csv_rows.append(numbers)
    if not display:
        return None, None
    header = list(dict.fromkeys(k for row in csv_rows for k in row))
    csv_rows = [{k: row.get(k) for k in header} for row in csv_rows]
    shown_columns = tuple(dict.fromkeys(k for row in display for k in row))
    return Table(name, shown_columns, tuple(display), name), csv_rows


def _difference_items(folder: Path, diffs: dict, keys: list[str]) -> list:
    """The paired differences: every number in differences.csv, the headline ones shown."""
    rows = [
        {"difference": label, "metric": key, "mean": d.summary.mean,
         "ci_low": d.summary.ci_low, "ci_high": d.summary.ci_high, "n": d.summary.n,
         "p_value": d.p_value}
        for (label, key), d in diffs.items()
    ]  # fmt: skip
    write_csv(_tables(folder) / "differences.csv", list(rows[0]), rows)
    shown = [r for r in rows if r["metric"] in keys] or rows[:10]
    table = Table("differences", tuple(rows[0]), tuple(shown), "Paired differences")
    note = Note(
        "Each setting minus the first, seed by seed (the same seed gives both the same "
        f"initialisation and data order): mean difference, its {CONFIDENCE:.0%} t-interval and "
        "the paired t-test's p-value. Shown: the verdict's and headline numbers; "
        "[tables/differences.csv](tables/differences.csv) holds every number."
    )
    return [note, table]


def _history_names(cells: Sequence[CellRun]) -> list[str]:
    names: dict[str, None] = {}
    for cell in cells:
        if cell.done:
            names |= dict.fromkeys(cell.info.get("histories") or [])
    return list(names)


def read_history(path: Path) -> list[dict]:
    """A history CSV's rows, numbers parsed."""
    return _read_csv(path)[1] if path.is_file() else []


def mean_curves(runs: Sequence[CellRun], name: str) -> dict[str, list[tuple]]:
    """For each curve column: [(step, Summary over the seeds at that step)], steps in order."""
    per_step: dict[str, dict[float, list[float]]] = {}
    for cell in runs:
        for row in read_history(cell.folder / "histories" / f"{name}.csv"):
            for column in (c for pair in CURVE_COLUMNS for c in pair):
                if is_number(row.get(column)) and is_number(row.get("step")):
                    per_step.setdefault(column, {}).setdefault(row["step"], []).append(row[column])
    return {
        column: [(step, summarize(values)) for step, values in sorted(steps.items())]
        for column, steps in per_step.items()
    }


def _curves(folder: Path, name: str, groups: dict[str, list[CellRun]]) -> Figure | None:
    """histories/<name>.csv and figures/curves-<name>.png: loss and accuracy per step, mean and
    interval band per setting."""
    curves = {label: mean_curves(runs, name) for label, runs in groups.items()}
    rows = [
        {"setting": label, "metric": column, "step": step,
         **{s: getattr(summary, s) for s in STATISTICS}}
        for label, by_column in curves.items()
        for column, points in by_column.items()
        for step, summary in points
    ]  # fmt: skip
    if not rows:
        return None
    (folder / "histories").mkdir(exist_ok=True)
    write_csv(folder / "histories" / f"{name}.csv", list(rows[0]), rows)
    figure_name = f"curves-{name}"
    draw_curves(folder / "figures" / f"{figure_name}.png", curves, name)
    return Figure(
        figure_name,
        f"{name}: mean over the seeds per step; shaded, its {CONFIDENCE:.0%} t-interval.",
    )


def draw_curves(path: Path, curves: dict[str, dict[str, list[tuple]]], title: str) -> None:
    """A loss panel and an accuracy panel, one line (and band) per label."""
    from matplotlib.figure import Figure as MplFigure

    figure = MplFigure(figsize=(10, 3.6))
    axes = figure.subplots(1, 2)
    for ax, pair in zip(axes, CURVE_COLUMNS, strict=True):
        for label, by_column in curves.items():
            column = next((c for c in pair if c in by_column), None)
            if column is None:
                continue
            steps = [p[0] for p in by_column[column]]
            means = [p[1].mean for p in by_column[column]]
            (line,) = ax.plot(steps, means, label=f"{label or 'mean'} ({column})")
            low = [p[1].ci_low if p[1].n > 1 else p[1].mean for p in by_column[column]]
            high = [p[1].ci_high if p[1].n > 1 else p[1].mean for p in by_column[column]]
            ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_xlabel("step")
        ax.set_ylabel(pair[0].split("_")[1])
        if ax.lines:
            ax.legend(fontsize=7)
    figure.suptitle(title)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    figure.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(path)


def _cell_rows(cells: Sequence[CellRun], grid: list[str]) -> list[dict]:
    verdict = {True: "held", False: "did not hold", None: ""}
    return [
        {**_setting_cells(c.label, grid), "seed": c.seed, "run": c.run_id or "",
         "status": c.status, "claim": verdict[c.held] if c.done else "",
         "error": (c.info.get("error") or "") if not c.done else ""}
        for c in cells
    ]  # fmt: skip


def _run_links(cells: Sequence[CellRun]) -> str:
    links = [
        f"[{c.run_id}](../{c.run_id}/report.html)" for c in cells if c.run_id and c.folder.is_dir()
    ]
    return "Each run's own report: " + ", ".join(links) + "." if links else "No run started."


def _notices(cells: Sequence[CellRun]) -> list[str]:
    unfinished = [c for c in cells if not c.done]
    if not unfinished:
        return []
    counts: dict[str, int] = {}
    for cell in unfinished:
        counts[cell.status] = counts.get(cell.status, 0) + 1
    what = ", ".join(f"{n} {status}" for status, n in counts.items())
    return [
        f"{len(unfinished)} of {len(cells)} runs did not finish ({what}); the numbers below are "
        "over the done runs only. `nnlab run --resume <study>` runs the rest."
    ]


def _info(state: dict, cells: Sequence[CellRun], groups: dict[str, list[CellRun]]) -> dict:
    """What the report's header, verdict box and "Run" section show of the study."""
    done = sum(c.done for c in cells)
    held, tested = held_count([c.held for c in cells if c.done])
    per_setting = [
        f"{label}: {h} of {t}"
        for label, runs in groups.items()
        for h, t in [held_count([c.held for c in runs])]
        if t
    ]
    if not tested:
        verdict = {"held": None, "outcome": "No claim tested.", "sentence": ""}
    else:
        outcome = (
            "Claim held in every run." if held == tested
            else "Claim held in no run." if held == 0
            else f"Claim held in {held} of {tested} runs."
        )  # fmt: skip
        sentence = f"By setting: {'; '.join(per_setting)}." if len(per_setting) > 1 else ""
        verdict = {"held": {tested: True, 0: False}.get(held), "outcome": outcome,
                   "sentence": sentence}  # fmt: skip
    seeds = len(state["seeds"])
    grid = state.get("grid") or {}
    points = math.prod(len(v) for v in grid.values()) if grid else 1
    title = f"{state['title']}: a study over {seeds} seed{'s' * (seeds != 1)}"
    if grid:
        title += f" × {points} settings"
    seconds = None
    if state.get("ended"):
        start, end = (datetime.fromisoformat(state[k]) for k in ("started", "ended"))
        seconds = (end - start).total_seconds()
    engine = state.get("engine") or {}
    return {
        "id": state["name"],
        "experiment": state["experiment"],
        "title": title,
        "description": None,
        "claim": state.get("claim"),
        "scale": state["scale"],
        "status": "done" if done == len(cells) else "incomplete",
        "started": state["started"],
        "ended": state.get("ended"),
        "seconds": seconds,
        "verdict": verdict,
        "device": _engine_text(engine, state.get("device")),
        "host": (state.get("driver") or {}).get("host"),
        "machine": state.get("machine") or {},
        "git_revision": state.get("git_revision"),
    }


def _engine_text(engine: dict, device: str | None) -> str:
    """ "local engine: 2 runs at once, 1 thread each, on the default device"."""
    threads = engine.get("threads")
    each = f"{threads} thread{'s' * (threads != 1)} each" if threads else "default threads"
    where = f"on {device}" if device else "on the default device"
    at_once = f"{engine.get('slots', '?')} run(s) at once"
    return f"{engine.get('name', '?')} engine: {at_once}, {each}, {where}"


def _config(state: dict) -> dict:
    return {
        "seeds": state["seeds"],
        "grid": state.get("grid") or {},
        "settings": state.get("overrides") or {},
        "config file": state["file"][0] if state.get("file") else None,
    }


def _tables(folder: Path) -> Path:
    (folder / "tables").mkdir(exist_ok=True)
    return folder / "tables"


def _read_csv(path: Path) -> tuple[list[str], list[dict]]:
    """A CSV's header and rows, each cell an int, a float, None (empty) or its text."""
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = [{k: _cell(v) for k, v in row.items()} for row in reader]
        return list(reader.fieldnames or []), rows


def _cell(text: str | None):
    if text is None or text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
