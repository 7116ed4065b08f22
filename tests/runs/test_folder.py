"""`Run`: the files of a run folder, its index row (read with sqlite3 directly), table metrics,
same-second and concurrent folders, and resuming."""

import csv
import json
import math
import multiprocessing
import os
import sqlite3
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from nnlab.errors import ConfigError, UnknownNameError
from nnlab.runs import Run, RunIndex
from nnlab.runs import folder as folder_module

CONFIG = {"lr": 0.01, "epochs": 3, "model": {"width": 64}, "sizes": [1, 2]}


def _create(runs_dir, experiment="mlp-vs-cnn", config=CONFIG):
    return Run.create(
        runs_dir,
        experiment,
        config,
        title="MLP vs CNN",
        description="Whether convolutions help.",
        scale="smoke",
        device="cpu (2 threads)",
    )


def _figure():
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([0, 1, 2], [1, 0, 1])
    return fig


def _row(db: Path, run_id: str) -> dict:
    """The run's index row, read with sqlite3 itself (not RunIndex)."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    row = con.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    con.close()
    return dict(row) if row else None


def test_a_run_writes_every_file_and_an_index_row(tmp_path):
    run = _create(tmp_path)
    assert run.path == tmp_path / run.id and run.runs_dir == tmp_path
    assert run.id.endswith("-mlp-vs-cnn")
    datetime.strptime(run.id[:15], "%Y%m%d-%H%M%S")  # the folder name starts with local time
    # config.json and run.json exist from the start; the reports only once it finishes
    assert json.loads((run.path / "config.json").read_text()) == CONFIG
    assert not (run.path / "report.md").exists() and not (run.path / "metrics.json").exists()
    assert _row(tmp_path / "index.sqlite", run.id)["status"] == "running"

    run.table("accuracy", [{"model": "cnn", "test_acc": 0.5}])
    run.figure("curve", _figure(), caption="A curve")
    run.metric("loss", float("nan"))
    ckpt = run.checkpoint_path("last")
    assert ckpt == run.path / "checkpoints" / "last.pt" and ckpt.parent.is_dir()
    run.finish("done")

    for name in ("config.json", "run.json", "metrics.json", "report.md", "report.html"):
        assert (run.path / name).is_file(), name
    assert (run.path / "tables" / "accuracy.csv").is_file()
    assert (run.path / "figures" / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(run.path.rglob("*.tmp"))

    info = json.loads((run.path / "run.json").read_text())
    assert info["id"] == run.id and info["experiment"] == "mlp-vs-cnn"
    assert (info["title"], info["scale"], info["device"]) == (
        "MLP vs CNN",
        "smoke",
        "cpu (2 threads)",
    )
    assert info["status"] == "done" and info["pid"] == os.getpid()
    started, ended = (datetime.fromisoformat(info[k]) for k in ("started", "ended"))
    assert started.tzinfo is not None and timedelta(0) <= ended - started < timedelta(minutes=1)
    assert 0 <= info["seconds"] < 60 and info["machine"]["cpu_count"] == os.cpu_count()

    # metrics.json: sorted dotted keys, NaN as null, indent 2
    text = (run.path / "metrics.json").read_text()
    assert json.loads(text) == {"accuracy.cnn.test_acc": 0.5, "loss": None}
    assert text.startswith('{\n  "accuracy.cnn.test_acc": 0.5,\n  "loss": null\n}')

    row = _row(tmp_path / "index.sqlite", run.id)
    assert row["status"] == "done" and row["experiment"] == "mlp-vs-cnn"
    assert json.loads(row["config"]) == CONFIG
    assert json.loads(row["metrics"]) == {"accuracy.cnn.test_acc": 0.5, "loss": None}
    assert (row["started"], row["ended"]) == (info["started"], info["ended"])
    assert row["path"] == run.id and row["pid"] == os.getpid()  # relative to the runs folder
    assert row["git_revision"] == info["git_revision"]


def test_table_csv_round_trips_through_the_csv_module(tmp_path):
    run = _create(tmp_path)
    rows = [
        {"model": "CNN, wide", "acc": 0.123456789012345, "params": 12345},
        {"model": 'say "hi"', "acc": 1e-12, "note": "only here"},
    ]
    run.table("results", rows)
    with open(run.path / "tables" / "results.csv", newline="") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == ["model", "acc", "params", "note"]  # union, first-seen order
        got = list(reader)
    assert [r["model"] for r in got] == ["CNN, wide", 'say "hi"']
    assert [float(r["acc"]) for r in got] == [0.123456789012345, 1e-12]  # full precision
    assert [r["params"] for r in got] == ["12345", ""] and got[1]["note"] == "only here"


def test_table_numbers_become_metrics_under_readable_row_keys(tmp_path):
    run = _create(tmp_path)
    # the first column alone is unique: it is the key
    run.table("speed", [{"Model": "ResNet-18 (v1)", "ms": 3.5}, {"Model": "VGG 16", "ms": 9}])
    # "CNN" repeats: the next column joins in; the string column is no metric
    run.table(
        "accuracy",
        [
            {"model": "CNN", "input": "plain", "test_acc": 0.99, "epochs": 3},
            {"model": "CNN", "input": "Permuted!", "test_acc": 0.98, "epochs": 3},
            {"model": "MLP", "input": "plain", "test_acc": float("nan"), "epochs": 3},
        ],
    )
    # rows alike in every label column are numbered
    run.table("seeds", [{"model": "a", "acc": 0.5}, {"model": "a", "acc": 0.25}])
    # a first column of measurements is no name: rows are numbered
    run.table("curve", [{"loss": 2.5, "acc": 0.1}, {"loss": 1.5, "acc": 0.2}])
    run.metric("best", 0.99)
    expected = {
        "speed.resnet_18_v1.ms": 3.5,
        "speed.vgg_16.ms": 9,
        "accuracy.cnn_plain.test_acc": 0.99,
        "accuracy.cnn_plain.epochs": 3,
        "accuracy.cnn_permuted.test_acc": 0.98,
        "accuracy.cnn_permuted.epochs": 3,
        "accuracy.mlp_plain.test_acc": float("nan"),
        "accuracy.mlp_plain.epochs": 3,
        "seeds.a.acc": 0.5,
        "seeds.a_2.acc": 0.25,
        "curve.row1.loss": 2.5,
        "curve.row1.acc": 0.1,
        "curve.row2.loss": 1.5,
        "curve.row2.acc": 0.2,
        "best": 0.99,
    }
    got = run.metrics
    assert list(got) == list(expected)
    for key, value in expected.items():
        assert got[key] == value or (math.isnan(value) and math.isnan(got[key])), key

    # recording a table again replaces its metrics (and keeps one report item)
    run.table("seeds", [{"model": "b", "acc": 0.75}])
    assert "seeds.a.acc" not in run.metrics and run.metrics["seeds.b.acc"] == 0.75


def test_metric_values_are_plain_and_checked(tmp_path):
    run = _create(tmp_path)
    run.metric("n", np.int64(7))
    run.metric("acc", np.float32(0.5))
    run.metric("ok", True)
    run.metric("name", "cnn")
    assert run.metrics == {"n": 7, "acc": 0.5, "ok": True, "name": "cnn"}
    assert type(run.metrics["n"]) is int and type(run.metrics["acc"]) is float
    with pytest.raises(ConfigError, match="'bad'.*list"):
        run.metric("bad", [1, 2])
    with pytest.raises(ConfigError, match="name"):
        run.metric("", 1)


@pytest.mark.parametrize("name", ["", "a/b", "../up", ".hidden", "a\\b", "sp ace"])
def test_bad_names_are_config_errors(tmp_path, name):
    run = _create(tmp_path)
    with pytest.raises(ConfigError, match="name"):
        run.table(name, [{"a": 1}])
    with pytest.raises(ConfigError, match="name"):
        run.figure(name, _figure())
    with pytest.raises(ConfigError, match="name"):
        run.checkpoint_path(name)
    assert sorted(p.name for p in run.path.iterdir()) == ["config.json", "run.json"]


def test_unwritable_config_is_refused_before_a_folder_is_made(tmp_path):
    with pytest.raises(ConfigError, match=r"config\.bad"):
        _create(tmp_path, config={"bad": {1, 2}})
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]


def test_runs_started_in_the_same_second_get_numbered_folders(tmp_path, monkeypatch):
    fixed = datetime(2024, 5, 1, 14, 22, 33, tzinfo=timezone(timedelta(hours=2)))
    monkeypatch.setattr(folder_module, "_now", lambda: fixed)
    ids = [_create(tmp_path).id for _ in range(3)]
    base = "20240501-142233-mlp-vs-cnn"
    assert ids == [base, f"{base}-2", f"{base}-3"]
    con = sqlite3.connect(tmp_path / "index.sqlite")
    assert sorted(r[0] for r in con.execute("SELECT id FROM runs")) == sorted(ids)
    assert {r[0] for r in con.execute("SELECT started FROM runs")} == {"2024-05-01T14:22:33+02:00"}
    con.close()


def _create_and_finish_at(runs_dir, start_at, queue):
    """Child process: wait for the shared start time, then create and finish a run."""
    time.sleep(max(0.0, start_at - time.time()))
    run = _create(runs_dir)
    run.metric("pid", os.getpid())
    run.finish("done")
    queue.put(run.id)


def test_two_processes_starting_in_the_same_second_share_nothing(tmp_path):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    start_at = math.floor(time.time()) + 1.05  # both wake just after the same whole second
    procs = [
        ctx.Process(target=_create_and_finish_at, args=(tmp_path, start_at, queue))
        for _ in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    ids = sorted(queue.get(timeout=5) for _ in procs)
    assert len(set(ids)) == 2
    if ids[0][:15] == ids[1][:15]:  # the same second (so nearly always): one got "-2"
        assert ids[1] == ids[0] + "-2"
    con = sqlite3.connect(tmp_path / "index.sqlite")
    rows = con.execute("SELECT id, status, path, metrics FROM runs ORDER BY id").fetchall()
    con.close()
    assert [r[0] for r in rows] == ids and {r[1] for r in rows} == {"done"}
    assert len({r[2] for r in rows}) == 2
    # each folder holds its own process's metrics: nothing was shared
    pids = [json.loads((tmp_path / i / "metrics.json").read_text())["pid"] for i in ids]
    assert len(set(pids)) == 2 and [json.loads(r[3])["pid"] for r in rows] == pids


def _create_and_die(runs_dir, conn):
    """Child process: create a run, record a table, and die without finishing it."""
    run = _create(runs_dir)
    run.table("partial", [{"step": 1, "loss": 2.0}])
    conn.send(run.id)  # a pipe sends at once (a Queue's feeder thread would die with us)
    os._exit(1)


def test_a_killed_run_is_interrupted_and_resumes_by_id_and_by_path(tmp_path):
    ctx = multiprocessing.get_context("fork")
    receiver, sender = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_create_and_die, args=(tmp_path, sender))
    p.start()
    assert receiver.poll(60)
    run_id = receiver.recv()
    p.join(timeout=60)
    folder = tmp_path / run_id
    # it died: nothing in its folder looks finished, and the index no longer says "running"
    assert not (folder / "report.md").exists() and not (folder / "metrics.json").exists()
    assert _row(tmp_path / "index.sqlite", run_id)["status"] == "running"
    [record] = RunIndex(tmp_path / "index.sqlite").runs()
    assert record.status == "interrupted"
    assert _row(tmp_path / "index.sqlite", run_id)["status"] == "interrupted"

    started = json.loads((folder / "run.json").read_text())["started"]
    run = Run.open(run_id, tmp_path)
    assert (run.id, run.path, run.experiment, run.config) == (run_id, folder, "mlp-vs-cnn", CONFIG)
    assert run.metrics == {}  # recorded items start empty
    row = _row(tmp_path / "index.sqlite", run_id)
    assert row["status"] == "running" and row["pid"] == os.getpid()
    info = json.loads((folder / "run.json").read_text())
    assert info["started"] == started and len(info["resumed"]) == 1
    assert info["seconds_before"] == 0.0  # the killed session recorded no time
    time.sleep(0.2)
    run.finish("interrupted")
    first = json.loads((folder / "run.json").read_text())["seconds"]
    assert 0.2 <= first < 30

    time.sleep(1.5)  # idle between sessions: not the run's time
    again = Run.open(folder, tmp_path / "elsewhere")  # a folder path needs no runs_dir
    assert again.id == run_id and again.runs_dir == tmp_path
    assert len(json.loads((folder / "run.json").read_text())["resumed"]) == 2
    again.finish("done")
    info = json.loads((folder / "run.json").read_text())
    assert info["seconds_before"] == first and first <= info["seconds"] < first + 1.5
    assert _row(tmp_path / "index.sqlite", run_id)["status"] == "done"
    with pytest.raises(ConfigError, match="nothing to resume"):
        Run.open(run_id, tmp_path)


def test_a_live_run_is_not_resumed_twice(tmp_path):
    run = _create(tmp_path)  # running, in this (live) process
    with pytest.raises(ConfigError, match="running in another process"):
        Run.open(run.id, tmp_path)


def test_unknown_run_names_the_latest_and_suggests_nnlab_runs(tmp_path):
    run = _create(tmp_path)
    run.finish("done")
    with pytest.raises(UnknownNameError, match=rf"'nope'.*{run.id}.*`nnlab runs`"):
        Run.open("nope", tmp_path)
    with pytest.raises(UnknownNameError, match="no runs"):
        Run.open("nope", tmp_path / "empty")


def test_finish_refuses_an_unknown_status(tmp_path):
    run = _create(tmp_path)
    with pytest.raises(ConfigError, match="finished"):
        run.finish("finished")
    assert not (run.path / "report.md").exists()
