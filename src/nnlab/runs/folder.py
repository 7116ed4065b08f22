"""`Run`: one run's folder, what it records, and its row in the runs index.

A run folder `runs_dir/<YYYYmmdd-HHMMSS>-<experiment>/` holds config.json and run.json from the
start, tables/*.csv, figures/*.png and checkpoints/ as they are recorded, and metrics.json,
report.md and report.html once it finishes. Every file is written atomically, and the reports
come last, so a run that dies leaves no report that looks complete.
"""

import json
import os
import socket
from collections.abc import Mapping, Sequence
from contextlib import suppress
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import nnlab
from nnlab.errors import ConfigError, CorruptFileError, UnknownNameError
from nnlab.files import atomic_write
from nnlab.runs.atomic import write_json
from nnlab.runs.index import RunIndex
from nnlab.runs.machine import git_revision, machine_facts
from nnlab.runs.report import HEADLINE_COUNT, Figure, Item, Note, Table, write_report
from nnlab.runs.tables import check_name, is_number, plain_rows, table_metrics, write_csv
from nnlab.runs.values import plain, scalar

FINAL_STATUSES = ("done", "failed", "interrupted")


def _now() -> datetime:
    """The local time with its UTC offset (a function, so tests can fix the clock)."""
    return datetime.now().astimezone()


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


class Run:
    """A run folder being filled; make one with `Run.create` or reopen one with `Run.open`.

    Attributes
    ----------
    id : str
        The folder's name, e.g. "20240501-142233-mlp-vs-cnn".
    path : Path
        The folder.
    experiment : str
        The experiment id.
    config : dict
        The resolved configuration, as written to config.json.
    runs_dir : Path
        The folder holding the run folders and index.sqlite.

    A run made or reopened with `indexed=False` never touches index.sqlite: a study's worker
    runs it, and the study's driver, the index's one writer, records it.
    """

    def __init__(self, path: Path, info: dict, config: dict, indexed: bool = True):
        self.path = path
        self.runs_dir = path.parent
        self.id = path.name
        self.experiment = info["experiment"]
        self.config = config
        self._info = info
        self._index = RunIndex(self.runs_dir / "index.sqlite") if indexed else None
        self._started = datetime.fromisoformat(info["started"])
        self._notices: list[str] = []
        self._items: list[Item] = []
        self._metrics: dict = {}
        self._table_metrics: dict[str, list[str]] = {}  # metric names each table contributed
        self._headline: list[str] = []

    # -- making and reopening ----------------------------------------------------------------

    @classmethod
    def create(
        cls,
        runs_dir: Path,
        experiment: str,
        config: dict,
        *,
        title: str,
        description: str,
        scale: str,
        device: str,
        claim: str | None = None,
        folder: Path | None = None,
        indexed: bool = True,
    ) -> "Run":
        """Make a new run folder, write config.json and run.json, and index the run as running.

        Parameters
        ----------
        runs_dir : Path
            Where run folders go (created if absent).
        experiment : str
            The experiment id; part of the folder name.
        config : dict
            The resolved configuration (JSON-able values).
        title, description : str
            The report's heading and its "What this tests" section (Markdown).
        scale : str
            "smoke", "quick" or "full".
        device : str
            What it runs on, in words, e.g. "cpu (2 threads)".
        claim : str, optional
            The claim the experiment tests (one sentence), shown with its verdict.
        folder : Path, optional
            An empty folder made for this run beforehand (`new_run_folder`), e.g. by a study's
            driver so that it knows the run before the run starts; default a new one.
        indexed : bool
            Record the run in index.sqlite (False: the caller records it).

        Returns
        -------
        Run
        """
        check_name("experiment", experiment)
        config = plain(config, "config")  # refuse what JSON cannot hold before making a folder
        runs_dir = Path(runs_dir).absolute()
        now = _now()
        path = new_run_folder(runs_dir, experiment) if folder is None else _empty(Path(folder))
        write_json(path / "config.json", config)
        info = {
            "id": path.name,
            "experiment": experiment,
            "title": title,
            "description": description,
            "claim": claim,
            "scale": scale,
            "device": device,
            "status": "running",
            "started": _iso(now),
            "resumed": [],
            "ended": None,
            "seconds": None,
            "git_revision": git_revision(),
            "nnlab_version": nnlab.__version__,
            "machine": machine_facts(),
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        write_json(path / "run.json", info)
        run = cls(path, info, config, indexed)
        run._started = now
        if run._index is not None:
            run._index.start(
                id=run.id,
                experiment=experiment,
                config=run.config,
                git_revision=info["git_revision"],
                started=info["started"],
                path=path,
            )
        return run

    @classmethod
    def open(cls, path_or_id: str | Path, runs_dir: Path, indexed: bool = True) -> "Run":
        """Reopen an interrupted or failed run to resume it, and index it as running again.

        Recorded tables, figures, metrics, notes and notices start empty: the experiment records
        them again as it continues. The index used is the one beside the run folder.

        Parameters
        ----------
        path_or_id : str or Path
            The run folder, or its name (the run id) under `runs_dir`.
        runs_dir : Path
            Where to look up a run id.
        indexed : bool
            Claim the run in index.sqlite (False: a study's driver has claimed it, and run.json
            alone says whether it is done).

        Returns
        -------
        Run

        Raises
        ------
        UnknownNameError
            No such run.
        ConfigError
            The run is done (nothing to resume) or still running in a live process.
        """
        path = _find_run(path_or_id, Path(runs_dir))
        info, config = _read_json(path / "run.json"), _read_json(path / "config.json")
        run = cls(path, info, config, indexed)
        # without the index, run.json says whether it is done (a study's driver claimed it)
        status = info.get("status") if run._index is None else _claim(run, info, config, path)
        if status == "done":
            _refuse_resume(run, status)
        # the time spent in the sessions so far, not the idle time between them (a killed
        # session recorded no end: its time is unknown and left out)
        before = info["seconds"] if info.get("seconds") is not None else info.get("seconds_before")
        now = _now()
        info.update(
            status="running",
            resumed=[*info.get("resumed", []), _iso(now)],
            ended=None,
            seconds=None,
            seconds_before=before or 0.0,
            error=None,
            verdict=None,
            pid=os.getpid(),
            host=socket.gethostname(),
        )
        write_json(path / "run.json", info)
        run._started = now
        return run

    # -- recording ------------------------------------------------------------------------------

    def table(self, name: str, rows: Sequence[Mapping], *, title: str | None = None) -> None:
        """Write tables/<name>.csv now, remember the table for the report, and add its metrics.

        Recording a table name again replaces it (file, report position kept, and metrics).

        Parameters
        ----------
        name : str
            File name and metric prefix: letters, digits, "_", "." and "-".
        rows : sequence of dict
            Column -> value; the header is the union of keys in first-seen order.
        title : str, optional
            The report's heading for it (default: `name`).
        """
        check_name("table", name)
        columns, cells = plain_rows(name, rows)
        (self.path / "tables").mkdir(exist_ok=True)
        write_csv(self.path / "tables" / f"{name}.csv", columns, cells)
        for key in self._table_metrics.pop(name, []):
            self._metrics.pop(key, None)
        metrics = table_metrics(name, columns, cells)
        self._metrics.update(metrics)
        self._table_metrics[name] = list(metrics)
        self._put(Table(name, tuple(columns), tuple(cells), title))

    def figure(self, name: str, fig, *, caption: str | None = None) -> None:
        """Save figures/<name>.png (120 dpi, tight box) now, close `fig`, remember it.

        Parameters
        ----------
        name : str
            File name: letters, digits, "_", "." and "-".
        fig : matplotlib.figure.Figure
        caption : str, optional
        """
        import matplotlib.pyplot as plt  # here, so importing nnlab.runs picks no backend

        check_name("figure", name)
        try:
            (self.path / "figures").mkdir(exist_ok=True)
            with atomic_write(self.path / "figures" / f"{name}.png", "wb") as f:
                fig.savefig(f, format="png", dpi=120, bbox_inches="tight")
        finally:
            plt.close(fig)
        self._put(Figure(name, caption))

    def _put(self, item: Table | Figure) -> None:
        """Append an item, or replace the one of the same kind and name where it stands."""
        for i, old in enumerate(self._items):
            if type(old) is type(item) and old.name == item.name:
                self._items[i] = item
                return
        self._items.append(item)

    def metric(self, name: str, value, *, headline: bool = False) -> None:
        """Record one metric (NaN allowed; written as null in JSON).

        Parameters
        ----------
        name : str
            Dotted, readable key, e.g. "test_acc" or "pca.explained.pc1".
        value : int, float, bool, str or None
            None: "not applicable" (e.g. the verdict of a study that states no claim).
        headline : bool
            Show it on the runs' index page (otherwise the first numbers recorded by `metric`
            are shown).
        """
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"a metric needs a non-empty name; got {name!r}.")
        self._metrics[name] = None if value is None else scalar(value, f"metric {name!r}")
        if headline and name not in self._headline:
            self._headline.append(name)

    def note(self, markdown: str) -> None:
        """Add a paragraph of Markdown to the report, in order with tables and figures."""
        self._items.append(Note(str(markdown)))

    def notice(self, text: str) -> None:
        """Add a warning to the report's first lines (e.g. a substitute dataset)."""
        if text not in self._notices:
            self._notices.append(str(text))

    def checkpoint_path(self, name: str) -> Path:
        """checkpoints/<name>.pt in the run folder (the folder is created)."""
        check_name("checkpoint", name)
        (self.path / "checkpoints").mkdir(exist_ok=True)
        return self.path / "checkpoints" / f"{name}.pt"

    def history_path(self, name: str) -> Path:
        """histories/<name>.csv in the run folder (created), which the report links."""
        check_name("history", name)
        (self.path / "histories").mkdir(exist_ok=True)
        names = self._info.setdefault("histories", [])
        if name not in names:
            names.append(name)
            write_json(self.path / "run.json", self._info)
        return self.path / "histories" / f"{name}.csv"

    def fact(self, key: str, value) -> None:
        """Record a fact about how the run ran (e.g. its fits' precision) in run.json now."""
        self._info[key] = plain(value, key)
        write_json(self.path / "run.json", self._info)

    @property
    def metrics(self) -> dict:
        """All metrics so far: flat dotted names to values, in recording order."""
        return dict(self._metrics)

    # -- finishing ------------------------------------------------------------------------------

    def finish(self, status: str, error: str | None = None) -> None:
        """Write metrics.json, run.json, report.md and report.html, then update the index.

        Parameters
        ----------
        status : str
            "done", "failed" or "interrupted".
        error : str, optional
            Why it failed; shown at the top of the report.
        """
        if status not in FINAL_STATUSES:
            raise ConfigError(
                f"a run finishes as one of {', '.join(FINAL_STATUSES)}; got {status!r}."
            )
        now = _now()
        self._info.update(
            status=status,
            ended=_iso(now),
            seconds=round(
                self._info.get("seconds_before", 0.0) + (now - self._started).total_seconds(), 3
            ),
            error=error,
            headline=self._headline_names(),
        )
        write_json(self.path / "metrics.json", self._metrics, sort_keys=True)
        write_json(self.path / "run.json", self._info)
        write_report(self.path, self._info, self._notices, self._items, self._metrics, self.config)
        if self._index is not None:
            self._index.finish(self.id, status, self._metrics, self._info["ended"])

    def abandon(self, error: str) -> None:
        """Record a run that failed because its files cannot be written (a full disk).

        Nothing more is written that could fail half-way or pass for a finished run's: any
        metrics.json and report are removed, run.json is updated if it can be, and the index
        says "failed" (`nnlab run --resume` continues the run once there is space).
        """
        for name in ("metrics.json", "report.md", "report.html"):
            (self.path / name).unlink(missing_ok=True)
        self._info.update(status="failed", ended=_iso(_now()), error=error)
        with suppress(OSError):  # the index, not run.json, is what lists and resumes read
            write_json(self.path / "run.json", self._info)
        if self._index is not None:
            self._index.finish(self.id, "failed", {}, self._info["ended"])

    def _headline_names(self) -> list[str]:
        """The metrics marked `headline`, else the first numbers recorded by `metric`, else the
        first numbers of the tables."""
        if self._headline:
            return self._headline[:HEADLINE_COUNT]
        numbers = [n for n, v in self._metrics.items() if is_number(v)]
        from_tables = {n for names in self._table_metrics.values() for n in names}
        direct = [n for n in numbers if n not in from_tables]
        return (direct or numbers)[:HEADLINE_COUNT]


def _claim(run: Run, info: dict, config: dict, path: Path) -> str:
    """Mark the run "running" in its index (indexing it again if the index lost it); its status
    before. Refuses a run another process is running."""
    index = run._index
    try:
        status = index.get(run.id).status  # turns a dead process's "running" into interrupted
    except UnknownNameError:  # the index was deleted or the folder moved: index it again
        status = info.get("status")
        if status != "done":
            index.start(
                id=run.id,
                experiment=run.experiment,
                config=config,
                git_revision=info.get("git_revision"),
                started=info["started"],
                path=path,
            )
    else:
        # one conditional update, so two processes never both resume the same run
        if status != "done" and not index.claim(run.id):
            _refuse_resume(run, index.get(run.id).status)
    return status


def new_run_folder(runs_dir: Path, name: str) -> Path:
    """Make runs_dir/<YYYYmmdd-HHMMSS>-<name> now (see `_new_folder`)."""
    return _new_folder(Path(runs_dir).absolute(), f"{_now():%Y%m%d-%H%M%S}-{name}")


def _empty(folder: Path) -> Path:
    """`folder` itself, absolute, when it exists and is empty (made for a run beforehand)."""
    if not folder.is_dir() or any(folder.iterdir()):
        raise ConfigError(f"{folder} is not an empty folder made for a new run.")
    return folder.absolute()


def _new_folder(runs_dir: Path, base: str) -> Path:
    """Make runs_dir/base, or base-2, base-3, ... if taken; an exclusive mkdir, so two processes
    starting in the same second never share a folder."""
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        n = 1
        while True:
            path = runs_dir / (base if n == 1 else f"{base}-{n}")
            try:
                path.mkdir()
                return path
            except FileExistsError:
                n += 1
    except OSError as exc:
        raise ConfigError(
            f"cannot make a run folder in {runs_dir}: {exc}. Choose a writable folder (--out)."
        ) from exc


def _find_run(path_or_id: str | Path, runs_dir: Path) -> Path:
    """The run folder named by a path or an id, or an UnknownNameError listing recent runs."""
    for folder in (Path(path_or_id), runs_dir / str(path_or_id)):
        if (folder / "run.json").is_file():
            return folder.absolute()
    latest: list[str] = []
    if (runs_dir / "index.sqlite").is_file():
        latest = [r.id for r in RunIndex(runs_dir / "index.sqlite").runs()[:5]]
    elif runs_dir.is_dir():
        latest = sorted(p.name for p in runs_dir.iterdir() if (p / "run.json").is_file())[-5:]
    known = f" Latest: {', '.join(latest)}." if latest else f" There are no runs in {runs_dir}."
    raise UnknownNameError(
        f"No run {str(path_or_id)!r}: it is neither a run folder nor a run id in {runs_dir}."
        f"{known} `nnlab runs` lists them all."
    )


def _refuse_resume(run: Run, status: str) -> NoReturn:
    """Raise the ConfigError that says why this run cannot be resumed."""
    if status == "done":
        raise ConfigError(
            f"run {run.id} is done: there is nothing to resume. Start a new run with "
            f"`nnlab run {run.experiment}`."
        )
    raise ConfigError(
        f"run {run.id} is {status} in another process; wait for it to end (or stop it) "
        "before resuming it."
    )


def _read_json(path: Path) -> dict:
    """A run folder's JSON file, or a CorruptFileError naming it."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorruptFileError(
            f"cannot read {path}: {exc}. The run folder is damaged; start a new run instead."
        ) from exc
    if not isinstance(value, dict):
        raise CorruptFileError(f"{path} should hold a JSON object; start a new run instead.")
    return value


class ShadowRun(Run):
    """Another rank's view of rank 0's run folder, in a run over several processes.

    It knows the folder, so every rank's fits resume from the same checkpoints, but it writes
    nothing: tables, figures, metrics, notes and the report are rank 0's. Figures handed to it
    are closed.
    """

    def __init__(self, path: Path):
        path = Path(path)
        info, config = _read_json(path / "run.json"), _read_json(path / "config.json")
        self.path, self.runs_dir, self.id = path, path.parent, path.name
        self.experiment, self.config, self._info = info["experiment"], config, info
        self._metrics: dict = {}

    def table(self, name: str, rows: Sequence[Mapping], *, title: str | None = None) -> None:
        """Recorded by rank 0."""

    def figure(self, name: str, fig, *, caption: str | None = None) -> None:
        import matplotlib.pyplot as plt

        plt.close(fig)

    def metric(self, name: str, value, *, headline: bool = False) -> None:
        """Recorded by rank 0."""

    def note(self, markdown: str) -> None:
        """Recorded by rank 0."""

    def notice(self, text: str) -> None:
        """Recorded by rank 0."""

    def fact(self, key: str, value) -> None:
        """Recorded by rank 0."""

    def checkpoint_path(self, name: str) -> Path:
        return self.path / "checkpoints" / f"{name}.pt"

    def history_path(self, name: str) -> Path:
        return self.path / "histories" / f"{name}.csv"

    def finish(self, status: str, error: str | None = None) -> None:
        """Rank 0 finishes the run."""

    def abandon(self, error: str) -> None:
        """Rank 0 records the failure."""
