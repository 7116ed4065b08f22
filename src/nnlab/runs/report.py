"""A run's report as Markdown and as one self-contained HTML file, and the runs' index page.

Both reports show the same things in the same order: title, notices (such as a substitute
dataset), the status (and why a run failed), what the experiment tests, the recorded notes,
tables and figures in recording order, then the metrics, the configuration and the facts of the
run. The HTML needs nothing beside it: CSS is inline and figures are base64 data URIs.
"""

import base64
import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from nnlab.runs.atomic import write_text
from nnlab.runs.index import RunIndex
from nnlab.runs.markup import inline_html, markdown_html
from nnlab.runs.tables import is_number

#: how many metrics the runs' index page shows per run (run.json's `headline`)
HEADLINE_COUNT = 4


@dataclass(frozen=True)
class Note:
    """A paragraph (or a few) of Markdown, shown where it was recorded."""

    markdown: str


@dataclass(frozen=True)
class Table:
    """A table: `columns` in order and `rows` keyed by them (missing cells are absent)."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[dict, ...]
    title: str | None = None


@dataclass(frozen=True)
class Figure:
    """A figure saved as `figures/<name>.png` in the run folder."""

    name: str
    caption: str | None = None

    @property
    def file(self) -> str:
        """Its path relative to the run folder."""
        return f"figures/{self.name}.png"


Item = Note | Table | Figure


def format_value(value) -> str:
    """A cell or metric for people: floats to 4 significant digits, big ones without exponent.

    Parameters
    ----------
    value : int, float, bool, str or None

    Returns
    -------
    str
        "" for None; "NaN", "inf" and "-inf" for non-finite floats.
    """
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if 1e4 <= abs(value) < 1e15:
        return f"{value:.0f}"  # 12346, not 1.235e+04
    return f"{value:.4g}"


def format_duration(seconds: float | None) -> str:
    """ "12.3 s", "3 min 05 s" or "2 h 03 min"; "" when unknown."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"
    return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"


def _when(iso: str | None) -> str:
    """An ISO time for people: "2024-05-01 14:22:33 +02:00"."""
    if not iso:
        return ""
    t = datetime.fromisoformat(iso)
    return f"{t:%Y-%m-%d %H:%M:%S} {t.isoformat()[-6:]}" if t.tzinfo else f"{t:%Y-%m-%d %H:%M:%S}"


def _flat(config: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Nested config as (dotted key, JSON-ish value) pairs, in the config's order."""
    pairs = []
    for key, value in config.items():
        if isinstance(value, dict) and value:
            pairs += _flat(value, f"{prefix}{key}.")
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            pairs.append((f"{prefix}{key}", text))
    return pairs


# -- the content both formats share ----------------------------------------------------------


def _banner(info: dict) -> str | None:
    """What the top of a failed or interrupted run's report says (Markdown), else None."""
    status, run_id = info.get("status"), info.get("id")
    resume = f"`nnlab run --resume {run_id}` continues it"
    if status == "failed":
        return (
            "**This run failed.** What it recorded before the failure is shown below; the "
            f"results are incomplete. After fixing the cause, {resume}."
        )
    if status == "interrupted":
        return (
            "**This run was interrupted** before it finished. What it recorded so far is shown "
            f"below; the results are incomplete. {resume}."
        )
    return None


def verdict_line(info: dict) -> str | None:
    """ "**Claim held.** The CNN reached ..." from run.json's verdict; None before there is one."""
    verdict = info.get("verdict")
    if not verdict:
        return None
    outcome = verdict.get("outcome") or {True: "Claim held.", False: "Claim did not hold."}.get(
        verdict.get("held"), "No claim tested."
    )  # a study's verdict says its own outcome ("Claim held in 4 of 5 runs.")
    return f"**{outcome}** {verdict.get('sentence', '')}".strip()


def _what_it_tests(info: dict) -> str | None:
    """The description, then the claim the verdict answers (Markdown)."""
    parts = [
        info.get("description") or "",
        f"**Claim:** {info['claim']}" if info.get("claim") else "",
    ]
    text = "\n\n".join(p.strip() for p in parts if p.strip())
    return text or None


def _history_links(info: dict) -> list[str]:
    """histories/<name>.csv of every fit of the run, in the order they were trained."""
    return [f"histories/{name}.csv" for name in info.get("histories") or []]


def _status_line(info: dict) -> str:
    parts = [f"**Status: {info.get('status', 'unknown')}**", f"run `{info.get('id', '')}`"]
    if info.get("scale"):
        parts.append(f"scale `{info['scale']}`")
    if info.get("ended"):
        parts.append(f"ended {_when(info['ended'])} after {format_duration(info.get('seconds'))}")
    return " · ".join(parts)


def _precision(facts: dict | None) -> str | None:
    """ "fp32 for mlp, cnn (--precision auto)" from run.json's {"policy": ..., "fits": {...}}."""
    if not facts or not facts.get("fits"):
        return None
    by_precision: dict[str, list[str]] = {}
    for model, precision in facts["fits"].items():
        by_precision.setdefault(precision, []).append(model)
    used = "; ".join(f"{p} for {', '.join(models)}" for p, models in by_precision.items())
    return f"{used} (--precision {facts.get('policy', 'auto')})"


def _processes(facts: dict | None) -> str | None:
    """ "2 (DistributedDataParallel over gloo; BatchNorm per rank)" for a run under torchrun."""
    if not facts:
        return None
    return (
        f"{facts['count']} (DistributedDataParallel over {facts['backend']}; "
        f"BatchNorm {facts['batchnorm']})"
    )


def _run_rows(info: dict) -> list[tuple[str, str]]:
    """The "Run" section: (label, value) pairs, empty values left out."""
    machine = info.get("machine") or {}
    cpus = machine.get("cpu_count")
    if cpus and machine.get("cpus_usable") not in (None, cpus):
        cpus = f"{cpus} ({machine['cpus_usable']} usable)"
    memory = machine.get("memory_gib")
    rows = [
        ("Run id", info.get("id")),
        ("Experiment", info.get("experiment")),
        ("Scale", info.get("scale")),
        ("Status", info.get("status")),
        ("Started", _when(info.get("started"))),
        ("Resumed", ", ".join(_when(t) for t in info.get("resumed") or [])),
        ("Ended", _when(info.get("ended"))),
        ("Duration", format_duration(info.get("seconds"))),
        ("Device", info.get("device")),
        ("Precision", _precision(info.get("precision"))),
        ("Processes", _processes(info.get("processes"))),
        ("Host", info.get("host")),
        ("Process id", info.get("pid")),
        ("Platform", machine.get("platform")),
        ("Python", machine.get("python")),
        ("CPU", machine.get("cpu")),
        ("CPU count", cpus),
        ("Memory", f"{memory} GiB" if memory else None),
        ("nnlab", info.get("nnlab_version")),
        ("Git revision", info.get("git_revision") or "not a git checkout"),
    ]
    return [(label, str(value)) for label, value in rows if value not in (None, "")]


def _headline(info: dict, metrics: dict) -> list[tuple[str, str]]:
    """Up to `HEADLINE_COUNT` (name, value) metrics: the run's own choice, else the first ones."""
    names = [n for n in info.get("headline") or [] if n in metrics]
    if not names:
        names = [n for n in sorted(metrics) if is_number(metrics[n])][:HEADLINE_COUNT]
    return [(n, format_value(metrics[n])) for n in names]


# -- Markdown ----------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[str]], numeric: list[bool]) -> str:
    lines = ["| " + " | ".join(_md_cell(h) or " " for h in header) + " |"]
    lines.append("|" + "|".join("---:" if n else "---" for n in numeric) + "|")
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _table_cells(table: Table) -> tuple[list[list[str]], list[bool]]:
    """Formatted cells of a table, and which columns are numeric (right-aligned)."""
    cells = [[format_value(row.get(c)) for c in table.columns] for row in table.rows]
    numeric = [
        any(is_number(r.get(c)) for r in table.rows)
        and all(is_number(r.get(c)) or r.get(c) is None for r in table.rows)
        for c in table.columns
    ]
    return cells, numeric


def render_markdown(info: dict, notices, items, metrics: dict, config: dict) -> str:
    """The report as Markdown, with figures as relative links and tables as pipe tables.

    Parameters
    ----------
    info : dict
        run.json's content (id, title, description, status, error, times, machine, ...).
    notices : list of str
        Warnings for the first lines.
    items : list of Note, Table, Figure
        In recording order.
    metrics, config : dict
        Flat metrics; the resolved configuration.

    Returns
    -------
    str
    """
    out = [f"# {info.get('title') or info.get('experiment')}", ""]
    out += [f"> **Notice:** {n}\n" for n in notices]
    out += [_status_line(info), ""]
    banner = _banner(info)
    if banner:
        out += [f"> {banner}", ""]
        if info.get("error"):
            out += ["```", info["error"].rstrip(), "```", ""]
    verdict = verdict_line(info)
    if verdict:
        out += [f"> {verdict}", ""]
    what = _what_it_tests(info)
    if what:
        out += ["## What this tests", "", what, ""]
    if items:
        out += ["## Results", ""]
    for item in items:
        if isinstance(item, Note):
            out += [item.markdown.strip(), ""]
        elif isinstance(item, Table):
            cells, numeric = _table_cells(item)
            out += [f"### {item.title or item.name}", ""]
            if item.rows:
                out += [_md_table(list(item.columns), cells, numeric), ""]
            else:
                out += ["(no rows)", ""]
            out += [f"Data: [tables/{item.name}.csv](tables/{item.name}.csv)", ""]
        else:
            out += [f"![{item.caption or item.name}]({item.file})", ""]
            if item.caption:
                out += [f"*{item.caption}*", ""]
    histories = _history_links(info)
    if histories:
        links = ", ".join(f"[{h}]({h})" for h in histories)
        out += ["## Histories", "", f"One row per evaluation of each model: {links}.", ""]
    if metrics:
        rows = [[name, format_value(v)] for name, v in sorted(metrics.items())]
        out += ["## Metrics", "", _md_table(["metric", "value"], rows, [False, True]), ""]
    if config:
        rows = [list(pair) for pair in _flat(config)]
        out += ["## Configuration", "", _md_table(["setting", "value"], rows, [False, False]), ""]
    run_rows = [list(pair) for pair in _run_rows(info)]
    out += ["## Run", "", _md_table(["", ""], run_rows, [False, False]), ""]
    return "\n".join(out)


# -- HTML --------------------------------------------------------------------------------------


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["markdown"] = lambda text: Markup(markdown_html(text))
    env.filters["inline"] = lambda text: Markup(inline_html(text))
    return env


def _data_uri(png: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def render_html(folder: Path, info: dict, notices, items, metrics: dict, config: dict) -> str:
    """The report as one HTML file with inline CSS and figures as data URIs.

    Parameters
    ----------
    folder : Path
        The run folder (figures are read from it).
    info, notices, items, metrics, config
        As for `render_markdown`.

    Returns
    -------
    str
    """
    views = []
    for item in items:
        if isinstance(item, Note):
            views.append({"kind": "note", "markdown": item.markdown})
        elif isinstance(item, Table):
            cells, numeric = _table_cells(item)
            views.append(
                {"kind": "table", "title": item.title or item.name, "name": item.name,
                 "columns": item.columns, "cells": cells, "numeric": numeric}
            )  # fmt: skip
        else:
            views.append(
                {"kind": "figure", "name": item.name, "caption": item.caption,
                 "src": _data_uri(folder / item.file)}
            )  # fmt: skip
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            title=info.get("title") or info.get("experiment"),
            notices=notices,
            status=info.get("status"),
            status_line=_status_line(info),
            banner=_banner(info),
            error=info.get("error"),
            verdict=verdict_line(info),
            verdict_class={True: "held", False: "not-held"}.get(
                (info.get("verdict") or {}).get("held"), "no-claim"
            ),
            description=_what_it_tests(info),
            histories=_history_links(info),
            items=views,
            metrics=[(n, format_value(v)) for n, v in sorted(metrics.items())],
            config=_flat(config),
            run=_run_rows(info),
        )
    )


def write_report(folder: Path, info: dict, notices, items, metrics: dict, config: dict) -> None:
    """Write report.md and report.html into the run folder, each atomically.

    Parameters
    ----------
    folder : Path
        The run folder.
    info, notices, items, metrics, config
        As for `render_markdown`.
    """
    write_text(folder / "report.md", render_markdown(info, notices, items, metrics, config))
    write_text(folder / "report.html", render_html(folder, info, notices, items, metrics, config))


# -- the index of all runs -----------------------------------------------------------------------


def write_index_html(runs_dir: Path, studies: Sequence[dict] = ()) -> Path:
    """Write runs_dir/index.html: one row per run, newest first, linking each report.

    Parameters
    ----------
    runs_dir : Path
        The folder holding the runs and index.sqlite.
    studies : sequence of dict
        The studies' rows (`nnlab.runs.study.study_rows`), listed above the runs.

    Returns
    -------
    Path
        The page written.
    """
    runs_dir = Path(runs_dir)
    rows = [_run_row(runs_dir, rec) for rec in RunIndex(runs_dir / "index.sqlite").runs()]
    page = (
        _env()
        .get_template("index.html.j2")
        .render(runs=rows, studies=list(studies), folder=str(runs_dir.resolve()))
    )
    path = runs_dir / "index.html"
    write_text(path, page)
    return path


#: a book row for an experiment that failed before its run folder was made
_UNSTARTED = {"href": "", "title": "", "status": "failed", "duration": "", "seconds": 0.0,
              "headline": [], "verdict": None, "verdict_class": ""}  # fmt: skip


@dataclass(frozen=True)
class BookEntry:
    """One line of a book page: a run, or an experiment that failed before its run began.

    Parameters
    ----------
    label : str
        What was run, e.g. the experiment id.
    run_id : str or None
        Its run in the runs folder; None when it never started.
    error : str or None
        Why it failed, if it did.
    row : dict, optional
        The page's row, given whole: a study's (`nnlab.runs.study.book_row`) instead of a run's.
    """

    label: str
    run_id: str | None = None
    error: str | None = None
    row: dict | None = None


def write_book_html(
    runs_dir: Path, name: str, title: str, sections: list[tuple[str, list[BookEntry]]]
) -> Path:
    """Write runs_dir/NAME: runs grouped under headings, e.g. every experiment of the catalogue.

    Parameters
    ----------
    runs_dir : Path
        The folder holding the runs and index.sqlite.
    name : str
        File name of the page, e.g. "book-20240501-142233-quick.html".
    title : str
        The page's heading.
    sections : list of (heading, entries)

    Returns
    -------
    Path
        The page written.
    """
    runs_dir = Path(runs_dir)
    index = RunIndex(runs_dir / "index.sqlite")
    views, counts, seconds = [], {}, 0.0
    for heading, entries in sections:
        rows = []
        for entry in entries:
            if entry.row is not None:
                row = dict(entry.row)
            elif entry.run_id:
                row = _run_row(runs_dir, index.get(entry.run_id))
            else:
                row = dict(_UNSTARTED)
            row |= {"label": entry.label, "error": entry.error}
            counts[row["status"]] = counts.get(row["status"], 0) + 1
            seconds += row.pop("seconds") or 0.0
            rows.append(row)
        views.append({"heading": heading, "rows": rows})
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    page = (
        _env()
        .get_template("book.html.j2")
        .render(title=title, sections=views, summary=summary, duration=format_duration(seconds))
    )
    path = runs_dir / name
    write_text(path, page)
    return path


def run_seconds(rec, info: dict | None = None) -> float | None:
    """The time a run spent running (its sessions, without the gaps between them); None while
    it has not ended. `info` is its run.json, read when not given."""
    if info is None:
        info = read_json_object(Path(rec.path) / "run.json")
    seconds = info.get("seconds")
    if seconds is None and rec.ended:  # a run.json without it: from the index's times
        start, end = datetime.fromisoformat(rec.started), datetime.fromisoformat(rec.ended)
        seconds = (end - start).total_seconds()
    return seconds


def _run_row(runs_dir: Path, rec) -> dict:
    """What the index and book pages show of one run, with a link relative to `runs_dir`."""
    folder = Path(rec.path)
    info = read_json_object(folder / "run.json")
    target = folder / "report.html" if (folder / "report.html").exists() else folder
    seconds = run_seconds(rec, info)
    return {
        "id": rec.id,
        "href": quote(Path(os.path.relpath(target, runs_dir)).as_posix()),
        "title": info.get("title") or "",
        "experiment": rec.experiment,
        "scale": info.get("scale") or "",
        "status": rec.status,
        "started": _when(rec.started),
        "duration": format_duration(seconds),
        "seconds": seconds,
        "headline": _headline(info, rec.metrics),
        "verdict": _verdict_word(info),
        "verdict_class": {True: "st-done", False: "st-failed"}.get(
            (info.get("verdict") or {}).get("held"), "muted"
        ),
    }


def _verdict_word(info: dict) -> str | None:
    """ "held", "did not hold", "no claim" for a run with a verdict; None without one."""
    verdict = info.get("verdict")
    if not verdict:
        return None
    return {True: "held", False: "did not hold"}.get(verdict.get("held"), "no claim")


def read_json_object(path: Path) -> dict:
    """A JSON file's dict, or {} when it is missing or unreadable (the index still lists it)."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
