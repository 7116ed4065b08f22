"""`RunIndex`: a real SQLite table (checked with sqlite3 itself), newest-first listing, stale
"running" rows, claims, and writes from two processes at once."""

import json
import multiprocessing
import os
import socket
import sqlite3
import subprocess
import sys
from contextlib import closing

import pytest

from nnlab.errors import ConfigError, CorruptFileError, UnknownNameError
from nnlab.runs import RunIndex, RunRecord


def _start(index, run_id, started="2024-05-01T10:00:00+00:00", experiment="exp", **kw):
    index.start(
        id=run_id,
        experiment=experiment,
        config={"lr": 0.1, "name": run_id},
        git_revision="abc1234",
        started=started,
        path=f"/runs/{run_id}",
        **kw,
    )


def _dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_index_is_a_plain_sqlite_table_in_wal_mode(tmp_path):
    db = tmp_path / "index.sqlite"
    index = RunIndex(db)
    _start(index, "r1")
    index.finish("r1", "done", {"b.x": 1.5, "a": float("nan")}, "2024-05-01T10:05:00+00:00")

    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    columns = [r[1] for r in con.execute("PRAGMA table_info(runs)")]
    assert columns == [
        "id", "experiment", "status", "config", "metrics", "git_revision",
        "started", "ended", "path", "pid", "host",
    ]  # fmt: skip
    row = con.execute("SELECT * FROM runs").fetchone()
    con.close()
    assert row[:3] == ("r1", "exp", "done")
    assert json.loads(row[3]) == {"lr": 0.1, "name": "r1"}
    assert json.loads(row[4]) == {"a": None, "b.x": 1.5}  # NaN stored as null
    assert row[5:] == (
        "abc1234",
        "2024-05-01T10:00:00+00:00",
        "2024-05-01T10:05:00+00:00",
        "/runs/r1",
        os.getpid(),
        socket.gethostname(),
    )
    assert index.get("r1") == RunRecord(
        id="r1",
        experiment="exp",
        status="done",
        config={"lr": 0.1, "name": "r1"},
        metrics={"a": None, "b.x": 1.5},
        git_revision="abc1234",
        started="2024-05-01T10:00:00+00:00",
        ended="2024-05-01T10:05:00+00:00",
        path="/runs/r1",
    )


def test_runs_are_listed_newest_first_and_by_experiment(tmp_path):
    index = RunIndex(tmp_path / "index.sqlite")
    # as text "03:10+02:00" sorts after "01:30+00:00", but it is 01:10 UTC: earlier
    _start(index, "b", "2024-03-31T01:30:00+00:00")
    _start(index, "a", "2024-03-31T03:10:00+02:00", experiment="other")
    _start(index, "c", "2024-04-02T09:00:00+02:00")
    assert [r.id for r in index.runs()] == ["c", "b", "a"]
    assert [r.id for r in index.runs("exp")] == ["c", "b"]
    assert index.runs("none") == []


def test_a_running_row_whose_process_is_gone_is_interrupted(tmp_path):
    db = tmp_path / "index.sqlite"
    index = RunIndex(db)
    _start(index, "dead", pid=_dead_pid())
    _start(index, "alive")  # this process
    _start(index, "remote", pid=_dead_pid(), host="another-host")  # cannot be checked from here
    assert {r.id: r.status for r in index.runs()} == {
        "dead": "interrupted",
        "alive": "running",
        "remote": "running",
    }
    con = sqlite3.connect(db)
    stored = dict(con.execute("SELECT id, status FROM runs"))
    con.close()
    assert stored == {"dead": "interrupted", "alive": "running", "remote": "running"}


def test_get_unknown_and_bad_status(tmp_path):
    index = RunIndex(tmp_path / "index.sqlite")
    _start(index, "r1")
    with pytest.raises(UnknownNameError, match="'r2'.*r1.*nnlab runs"):
        index.get("r2")
    with pytest.raises(UnknownNameError):
        index.finish("r2", "done", {}, "2024-05-01T10:05:00+00:00")
    with pytest.raises(ConfigError, match="'ok'"):
        index.set_status("r1", "ok")
    with pytest.raises(ConfigError, match="'running'"):
        index.finish("r1", "running", {}, "2024-05-01T10:05:00+00:00")


def test_set_status_and_claim(tmp_path):
    index = RunIndex(tmp_path / "index.sqlite")
    _start(index, "r1", pid=1234, host="h")
    index.finish("r1", "interrupted", {}, "2024-05-01T10:05:00+00:00")
    assert index.claim("r1") is True
    assert index.claim("r1") is False  # already claimed: a second resumer is refused
    rec = index.get("r1")
    assert rec.status == "running" and rec.ended is None
    index.set_status("r1", "failed")
    assert index.get("r1").status == "failed"
    index.finish("r1", "done", {}, "2024-05-01T11:00:00+00:00")
    assert index.claim("r1") is False  # a done run is never claimed


def _write_many(db, prefix, n):
    index = RunIndex(db)
    for i in range(n):
        _start(index, f"{prefix}{i}")
        index.finish(f"{prefix}{i}", "done", {"i": i}, "2024-05-01T10:05:00+00:00")


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    db = tmp_path / "index.sqlite"
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_write_many, args=(db, p, 25)) for p in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    con = sqlite3.connect(db)
    rows = con.execute("SELECT id, status, metrics FROM runs").fetchall()
    con.close()
    assert len(rows) == 50 and {r[1] for r in rows} == {"done"}
    assert {r[0]: json.loads(r[2])["i"] for r in rows} == {
        f"{p}{i}": i for p in ("a", "b") for i in range(25)
    }


def test_a_damaged_index_file_is_a_corrupt_file_error(tmp_path):
    db = tmp_path / "index.sqlite"
    db.write_bytes(b"this is not a database, just text" * 100)
    with pytest.raises(CorruptFileError, match="index.sqlite.*not a readable SQLite"):
        RunIndex(db)


class _LockedAtFirst:
    """A connection whose first `times` statements fail as SQLite's immediate SQLITE_BUSY does
    when two processes ask for WAL on a new index at once."""

    def __init__(self, con, times):
        self.con, self.times = con, times

    def execute(self, sql, *args):
        if self.times:
            self.times -= 1
            raise sqlite3.OperationalError("database is locked")
        return self.con.execute(sql, *args)

    def close(self):
        self.con.close()


def test_a_new_index_locked_for_a_moment_is_retried_not_refused(tmp_path, monkeypatch):
    connect = RunIndex._connect
    monkeypatch.setattr(RunIndex, "_connect", lambda self: _LockedAtFirst(connect(self), 3))
    index = RunIndex(tmp_path / "index.sqlite")
    monkeypatch.undo()
    assert index.runs() == []
    con = sqlite3.connect(tmp_path / "index.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    con.close()


def test_paths_inside_the_folder_are_stored_relative_and_read_back_absolute(tmp_path):
    index = RunIndex(tmp_path / "index.sqlite")
    index.start(id="r1", experiment="e", config={}, git_revision=None,
                started="2024-05-01T10:00:00+00:00", path=tmp_path / "r1")  # fmt: skip
    _start(index, "elsewhere")  # /runs/elsewhere: outside the folder, kept absolute
    with sqlite3.connect(tmp_path / "index.sqlite") as con:
        stored = dict(con.execute("SELECT id, path FROM runs"))
        assert con.execute("PRAGMA user_version").fetchone()[0] == 1
    assert stored == {"r1": "r1", "elsewhere": "/runs/elsewhere"}
    assert index.get("r1").path == str(tmp_path / "r1")
    assert index.get("elsewhere").path == "/runs/elsewhere"


_OLD_SCHEMA = """CREATE TABLE runs (id TEXT PRIMARY KEY, experiment TEXT NOT NULL,
status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
config TEXT NOT NULL, metrics TEXT NOT NULL DEFAULT '{}', git_revision TEXT, started TEXT NOT NULL,
ended TEXT, path TEXT NOT NULL, pid INTEGER, host TEXT)"""


def _old_index(db, paths):
    """An index as nnlab wrote it before schema versions: user_version 0, absolute paths."""
    with closing(sqlite3.connect(db)) as con, con:
        con.execute(_OLD_SCHEMA)
        for run_id, path in paths:
            con.execute(
                "INSERT INTO runs VALUES (?, 'e', 'done', '{}', '{}', NULL, "
                "'2024-05-01T10:00:00+00:00', NULL, ?, NULL, NULL)",
                (run_id, str(path)),
            )


def test_an_old_index_with_absolute_paths_is_migrated_once(tmp_path):
    runs = tmp_path / "moved"
    (runs / "r-beside").mkdir(parents=True)
    _old_index(
        runs / "index.sqlite",
        [
            ("r-inside", runs / "r-inside"),
            ("r-beside", tmp_path / "original" / "r-beside"),  # the folder was moved
            ("r-gone", tmp_path / "original" / "r-gone"),
        ],
    )
    records = {r.id: r.path for r in RunIndex(runs / "index.sqlite").runs()}
    assert records == {
        "r-inside": str(runs / "r-inside"),
        "r-beside": str(runs / "r-beside"),
        "r-gone": str(tmp_path / "original" / "r-gone"),
    }
    with closing(sqlite3.connect(runs / "index.sqlite")) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 1
        stored = dict(con.execute("SELECT id, path FROM runs"))
    assert stored["r-inside"] == "r-inside" and stored["r-beside"] == "r-beside"
    RunIndex(runs / "index.sqlite")  # opening again changes nothing
    with closing(sqlite3.connect(runs / "index.sqlite")) as con:
        assert dict(con.execute("SELECT id, path FROM runs")) == stored


def test_an_index_from_a_newer_nnlab_is_refused(tmp_path):
    with closing(sqlite3.connect(tmp_path / "index.sqlite")) as con:
        con.execute("PRAGMA user_version = 99")
    with pytest.raises(ConfigError, match="schema version 99"):
        RunIndex(tmp_path / "index.sqlite")


def test_two_processes_opening_an_old_index_at_once_migrate_it_once(tmp_path):
    db = tmp_path / "index.sqlite"
    _old_index(db, [(f"r{i}", tmp_path / f"r{i}") for i in range(200)])
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=RunIndex, args=(db,)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    with closing(sqlite3.connect(db)) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 1
        stored = dict(con.execute("SELECT id, path FROM runs"))
    assert stored == {f"r{i}": f"r{i}" for i in range(200)}
