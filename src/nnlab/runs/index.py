"""The index of runs: one SQLite database per runs folder, one row per run.

`runs_dir/index.sqlite` is a real SQLite file that scripts may query directly (table `runs`).
Several `nnlab run` processes may write to it at once: it uses write-ahead logging, waits up to
a minute for a lock, and every write is one statement in its own short transaction. A row left
"running" by a process that no longer exists is reported (and stored) as "interrupted".

Run folders inside the runs folder are stored relative to it, so a runs folder can be moved or
copied whole. `PRAGMA user_version` holds the schema version (`SCHEMA_VERSION`); an older index is
upgraded when it is opened.
"""

import json
import os
import socket
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn

from nnlab.errors import ConfigError, CorruptFileError, UnknownNameError
from nnlab.runs.values import to_json

STATUSES = ("running", "done", "failed", "interrupted")

#: seconds a statement waits for another process's lock before failing
BUSY_TIMEOUT_S = 60.0

#: the schema `PRAGMA user_version` records: 0 stored absolute run paths, 1 relative ones
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    experiment TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    config TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    git_revision TEXT,
    started TEXT NOT NULL,
    ended TEXT,
    path TEXT NOT NULL,
    pid INTEGER,
    host TEXT
)
"""
_COLUMNS = "id, experiment, status, config, metrics, git_revision, started, ended, path, pid, host"


@dataclass(frozen=True)
class RunRecord:
    """One run as the index knows it.

    Parameters
    ----------
    id : str
        The run folder's name, e.g. "20240501-142233-mlp-vs-cnn".
    experiment : str
        The experiment id.
    status : str
        "running", "done", "failed" or "interrupted".
    config : dict
        The resolved configuration.
    metrics : dict
        Flat dotted metric names to values (NaN stored as None); empty until the run finishes.
    git_revision : str or None
        The nnlab checkout's short commit, "-dirty" when it had changes.
    started, ended : str, str or None
        ISO 8601 local times with offset; `ended` is None while running.
    path : str
        The run folder, absolute (the index stores it relative to its own folder).
    """

    id: str
    experiment: str
    status: str
    config: dict
    metrics: dict
    git_revision: str | None
    started: str
    ended: str | None
    path: str


def _set_up(con: sqlite3.Connection, folder: Path) -> None:
    """WAL mode (readers and one writer proceed together; the mode is stored in the file), the
    table, and the upgrade to `SCHEMA_VERSION`. Two processes opening a new index at once can be
    told "database is locked" at once, without SQLite's busy wait, when both ask for WAL: that is
    retried until BUSY_TIMEOUT_S."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            con.execute("PRAGMA journal_mode=WAL")
            if _version(con, folder) < SCHEMA_VERSION:
                _upgrade(con, folder)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _version(con: sqlite3.Connection, folder: Path) -> int:
    """The index's schema version; one newer than this nnlab knows is refused."""
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise ConfigError(
            f"the run index {folder / 'index.sqlite'} has schema version {version}, newer than "
            f"this nnlab's {SCHEMA_VERSION}. Upgrade nnlab, or choose another runs folder (--out)."
        )
    return version


def _upgrade(con: sqlite3.Connection, folder: Path) -> None:
    """Create the table or bring an old one to `SCHEMA_VERSION`, in one transaction that holds
    the write lock, so that of two processes opening the index at once only one upgrades it."""
    con.execute("BEGIN IMMEDIATE")
    try:
        if _version(con, folder) == 0:  # re-read under the lock: another process may be done
            con.execute(_SCHEMA)
            for run_id, path in con.execute("SELECT id, path FROM runs").fetchall():
                con.execute(
                    "UPDATE runs SET path = ? WHERE id = ?",
                    (_old_path(folder, run_id, path), run_id),
                )
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def _old_path(folder: Path, run_id: str, path: str) -> str:
    """A version-0 (absolute) path as version 1 stores it: relative when it lies in `folder`, the
    run id when the runs folder was moved but the run's folder is beside the index, else as is."""
    relative = _relative(folder, path)
    if relative is not None:
        return relative
    if Path(path).is_absolute() and (folder / run_id).is_dir():
        return run_id
    return path


def _relative(folder: Path, path: str | Path) -> str | None:
    """`path` relative to `folder` (POSIX separators) when it lies inside it, else None."""
    path = Path(path)
    for base, target in ((folder.absolute(), path.absolute()), (folder.resolve(), path.resolve())):
        if target.is_relative_to(base) and target != base:
            return target.relative_to(base).as_posix()
    return None


class RunIndex:
    """The `runs` table of one SQLite file, safe to share between processes.

    Parameters
    ----------
    path : Path
        The database file (normally `runs_dir/index.sqlite`); created with its table if absent.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.folder = self.path.parent.absolute()
        self.folder.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as con:
            try:
                _set_up(con, self.folder)
            except sqlite3.OperationalError as exc:  # read-only, locked too long, disk full
                raise ConfigError(
                    f"cannot write the run index {self.path}: {exc}. Check that the runs folder "
                    "is writable, or choose another with --out."
                ) from exc
            except sqlite3.DatabaseError as exc:
                raise CorruptFileError(
                    f"the run index {self.path} is not a readable SQLite database ({exc}). Move "
                    "it aside and run again: each run folder keeps its own run.json and reports."
                ) from exc

    def _connect(self) -> sqlite3.Connection:
        try:
            # isolation_level=None: autocommit, so each statement is its own short transaction
            con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            con.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        except sqlite3.Error as exc:
            raise ConfigError(
                f"cannot open the run index {self.path}: {exc}. Check that the runs folder is "
                "writable, or choose another with --out."
            ) from exc
        return con

    def _write(self, sql: str, args: tuple) -> int:
        """Run one writing statement; returns the number of rows it changed."""
        with closing(self._connect()) as con:
            try:
                return con.execute(sql, args).rowcount
            except sqlite3.OperationalError as exc:  # read-only, locked too long, disk full
                raise ConfigError(
                    f"cannot write the run index {self.path}: {exc}. Free some space and check "
                    "that the runs folder is writable, or choose another with --out."
                ) from exc

    def start(
        self,
        *,
        id: str,
        experiment: str,
        config: dict,
        git_revision: str | None,
        started: str,
        path: Path | str,
        pid: int | None = None,
        host: str | None = None,
    ) -> None:
        """Add a run as "running" (or reset it so, when the id is already there).

        Parameters
        ----------
        id, experiment, config, git_revision, started, path
            As in `RunRecord`; a `path` inside the index's folder is stored relative to it.
        pid, host : int, str, optional
            The process running it; default this process on this host.
        """
        self._write(
            f"INSERT OR REPLACE INTO runs ({_COLUMNS}) "
            "VALUES (?, ?, 'running', ?, '{}', ?, ?, NULL, ?, ?, ?)",
            (
                id,
                experiment,
                to_json(config),
                git_revision,
                started,
                _relative(self.folder, path) or str(Path(path).absolute()),
                os.getpid() if pid is None else pid,
                socket.gethostname() if host is None else host,
            ),
        )

    def finish(self, run_id: str, status: str, metrics: dict, ended: str) -> None:
        """Record a run's end: its final status, metrics and end time.

        Parameters
        ----------
        run_id : str
            The run.
        status : str
            "done", "failed" or "interrupted".
        metrics : dict
            Flat dotted names to values.
        ended : str
            ISO 8601 local time with offset.
        """
        _check_status(status, STATUSES[1:])
        changed = self._write(
            "UPDATE runs SET status = ?, metrics = ?, ended = ? WHERE id = ?",
            (status, to_json(metrics, sort_keys=True), ended, run_id),
        )
        if not changed:
            self._unknown(run_id)

    def set_status(
        self, run_id: str, status: str, *, pid: int | None = None, host: str | None = None
    ) -> None:
        """Change a run's status; "running" also clears `ended` and records the new process.

        Parameters
        ----------
        run_id : str
            The run.
        status : str
            One of `STATUSES`.
        pid, host : int, str, optional
            For "running": the process now running it (default this one).
        """
        _check_status(status, STATUSES)
        if status == "running":
            changed = self._write(
                "UPDATE runs SET status = 'running', ended = NULL, pid = ?, host = ? WHERE id = ?",
                (
                    os.getpid() if pid is None else pid,
                    socket.gethostname() if host is None else host,
                    run_id,
                ),
            )
        else:
            changed = self._write("UPDATE runs SET status = ? WHERE id = ?", (status, run_id))
        if not changed:
            self._unknown(run_id)

    def claim(self, run_id: str, *, pid: int | None = None, host: str | None = None) -> bool:
        """Mark a failed or interrupted run "running" in this process, if it still is one.

        One conditional update: of two processes claiming the same run, only one succeeds.

        Returns
        -------
        bool
            Whether this call claimed it.
        """
        return (
            self._write(
                "UPDATE runs SET status = 'running', ended = NULL, pid = ?, host = ? "
                "WHERE id = ? AND status IN ('failed', 'interrupted')",
                (
                    os.getpid() if pid is None else pid,
                    socket.gethostname() if host is None else host,
                    run_id,
                ),
            )
            == 1
        )

    def runs(self, experiment: str | None = None) -> list[RunRecord]:
        """Every run, or those of one experiment, newest first.

        A "running" row whose process is gone from this host is marked "interrupted" first.

        Parameters
        ----------
        experiment : str, optional
            Only this experiment's runs.

        Returns
        -------
        list of RunRecord
        """
        sql, args = f"SELECT rowid, {_COLUMNS} FROM runs", ()
        if experiment is not None:
            sql, args = sql + " WHERE experiment = ?", (experiment,)
        with closing(self._connect()) as con:
            rows = con.execute(sql, args).fetchall()
        # ISO strings with different UTC offsets (a DST change) do not sort as text, datetimes
        # do; runs started in the same second are in the order they were added (rowid)
        rows.sort(key=lambda row: (datetime.fromisoformat(row[7]), row[0]), reverse=True)
        return [self._record(row[1:]) for row in rows]

    def get(self, run_id: str) -> RunRecord:
        """The run with this id.

        Raises
        ------
        UnknownNameError
            No such run in this index.
        """
        with closing(self._connect()) as con:
            row = con.execute(f"SELECT {_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            self._unknown(run_id)
        return self._record(row)

    def _record(self, row: tuple) -> RunRecord:
        """A row as a RunRecord, after turning a dead process's "running" into "interrupted"."""
        (run_id, experiment, status, config, metrics, rev, started, ended, path, pid, host) = row
        if status == "running" and host == socket.gethostname() and not process_alive(pid):
            # only if still running, so a concurrent resume or finish is never overwritten
            self._write(
                "UPDATE runs SET status = 'interrupted' WHERE id = ? AND status = 'running' "
                "AND pid = ?",
                (run_id, pid),
            )
            status = "interrupted"
        return RunRecord(
            id=run_id,
            experiment=experiment,
            status=status,
            config=json.loads(config),
            metrics=json.loads(metrics),
            git_revision=rev,
            started=started,
            ended=ended,
            path=str(self.folder / path),
        )

    def _unknown(self, run_id: str) -> NoReturn:
        with closing(self._connect()) as con:
            latest = [r[0] for r in con.execute("SELECT id FROM runs ORDER BY id DESC LIMIT 5")]
        known = f" Latest: {', '.join(latest)}." if latest else " The index is empty."
        raise UnknownNameError(
            f"No run {run_id!r} in {self.path}.{known} `nnlab runs` lists them all."
        )


def _check_status(status: str, allowed: tuple[str, ...]) -> None:
    if status not in allowed:
        raise ConfigError(f"run status must be one of {', '.join(allowed)}; got {status!r}.")


def process_alive(pid: int | None) -> bool:
    """Whether process `pid` exists on this host (a zombie counts as gone)."""
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but belongs to another user
        return True
    try:
        # a killed child that its parent has not yet reaped still answers kill(0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
