"""The `nnlab` command: data list / verify / fetch, and how errors reach the user."""

import os
import shutil
import subprocess
import sys
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nnlab import __version__
from nnlab.cli import main
from nnlab.data import DatasetInfo, names
from nnlab.data import fetch as fetch_mod
from nnlab.data.catalog import DATASETS
from nnlab.data.fetch import Download

MNIST_LABELS = "mnist/t10k-labels-idx1-ubyte.gz"


def _rows(out: str) -> dict[str, list[str]]:
    """Body rows of the rich table in `out`, keyed by their first cell."""
    rows = {}
    for line in out.splitlines():
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip().strip("│").split("│")]
            rows.setdefault(cells[0], []).append(cells)
    return rows


def _error_line(err: str) -> str:
    """The one line an error prints; fails on tracebacks and multi-line output."""
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nnlab: error: ")
    return lines[0]


def _register(monkeypatch, name: str, folder: str | None) -> None:
    names()  # load the built-in sets first, so none is registered later over the stand-in
    spec = DatasetInfo(name, "stand-in", ("a", "b", "c"), (3, 5, 7), ("all",), None, folder)
    monkeypatch.setitem(DATASETS._entries, name, spec)


# ---- data list


def test_data_list_present(require_data, capsys):
    root = require_data("mnist/train-images-idx3-ubyte.gz")
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert f"Data root: {root}" in out and "NNLAB_DATA" in out
    rows = _rows(out)
    assert rows["mnist"] == [
        ["mnist", "10", "1×28×28", "train, test", "present", "mnist/", rows["mnist"][0][-1]]
    ]
    assert set(names()) <= set(rows)
    if (root / "nist26/nist26_valid.mat").exists() and not (
        root / "nist26/nist26_train.mat"
    ).exists():
        assert rows["nist26"][0][4] == "partial (valid)"  # the shared data's only NIST26 file


def test_data_list_missing_and_embedded(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    _register(monkeypatch, "stand-in-embedded", folder=None)
    assert main(["data", "list"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["mnist"][0][4:6] == ["missing", "mnist/"]
    assert rows["stand-in-embedded"][0][1:6] == ["3", "3×5×7", "all", "embedded", "built in"]
    assert list(tmp_path.iterdir()) == []  # listing writes nothing


def test_data_list_names_the_splits_present(tmp_path, monkeypatch, capsys):
    """A dataset with one file per split, only some of them there, is partial, not present."""
    for name in ("nist26/nist26_valid.mat", "svhn/test_32x32.mat", "mnist/t10k-images-idx3-ubyte"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    for name in ("train", "valid", "test"):
        (tmp_path / "nist36").mkdir(exist_ok=True)
        (tmp_path / "nist36" / f"nist36_{name}.mat").write_bytes(b"")
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    assert main(["data", "list"]) == 0
    rows = _rows(capsys.readouterr().out)
    status = {name: rows[name][0][4] for name in ("nist26", "svhn", "mnist", "nist36", "cifar10")}
    assert status == {
        "nist26": "partial (valid)",
        "svhn": "partial (test)",
        "mnist": "partial (test)",
        "nist36": "present",
        "cifar10": "missing",
    }


# ---- errors


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["data"], "required: COMMAND"),
        (["data", "fetch"], "required: NAME (see `nnlab data fetch --help`)"),
        (["data", "fetch", "mnsit"], "Unknown dataset 'mnsit'. Did you mean: mnist"),
        (["data", "verify", "mnsit"], "No pinned checksums for dataset 'mnsit'"),
    ],
)
def test_usage_errors_are_one_line(argv, expected, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert expected in _error_line(captured.err)
    assert captured.out == ""


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"nnlab {__version__}"


def test_console_script_error_has_no_traceback(tmp_path):
    """The installed `nnlab` script: a dataset with no public download exits 2 in one line."""
    script = Path(sys.executable).parent / "nnlab"
    if not script.exists():
        pytest.skip(f"no console script at {script} (run `pip install -e .`)")
    env = {**os.environ, "NNLAB_DATA": str(tmp_path)}
    proc = subprocess.run(
        [str(script), "data", "fetch", "nist36"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2
    line = _error_line(proc.stderr)
    assert "nist36" in line
    assert proc.stdout == ""
    assert list(tmp_path.iterdir()) == []


# ---- data verify


def test_data_verify_real_files(require_data, capsys):
    require_data(MNIST_LABELS, "fashion-mnist/t10k-labels-idx1-ubyte.gz")
    assert main(["data", "verify"]) == 0
    rows = _rows(capsys.readouterr().out)
    statuses = {cells[1]: cells[2] for group in rows.values() for cells in group}
    assert statuses[MNIST_LABELS] == "ok"
    assert set(statuses.values()) <= {"ok", "absent"}


def test_data_verify_without_a_data_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path / "no-such-folder"))
    assert main(["data", "verify"]) == 2
    captured = capsys.readouterr()
    line = _error_line(captured.err)
    assert (
        f"the data folder {tmp_path / 'no-such-folder'} (set by NNLAB_DATA) does not exist" in line
    )
    assert "Set NNLAB_DATA" in line and captured.out == ""


def test_data_verify_detects_one_changed_byte(require_data, tmp_path, monkeypatch, capsys):
    real = require_data(MNIST_LABELS, "mnist/t10k-images-idx3-ubyte.gz")
    (tmp_path / "mnist").mkdir()
    shutil.copy(real / "mnist/t10k-images-idx3-ubyte.gz", tmp_path / "mnist")
    data = bytearray((real / MNIST_LABELS).read_bytes())
    data[len(data) // 2] ^= 0x01
    (tmp_path / MNIST_LABELS).write_bytes(bytes(data))
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    assert main(["data", "verify", "mnist"]) == 2
    captured = capsys.readouterr()
    statuses = {cells[1]: cells[2] for cells in _rows(captured.out)["mnist"]}
    assert statuses == {
        "mnist/train-images-idx3-ubyte.gz": "absent",
        "mnist/train-labels-idx1-ubyte.gz": "absent",
        "mnist/t10k-images-idx3-ubyte.gz": "ok",
        MNIST_LABELS: "MISMATCH",
    }
    line = _error_line(captured.err)
    assert MNIST_LABELS in line and "`nnlab data fetch mnist`" in line


# ---- data fetch


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_data_fetch_from_local_server(tmp_path, monkeypatch, capsys):
    served = tmp_path / "srv"
    served.mkdir()
    (served / "notMNIST_small.tar.gz").write_bytes(b"stand-in")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_port}/notMNIST_small.tar.gz"
        path = "notmnist/notMNIST_small.tar.gz"
        monkeypatch.setitem(fetch_mod.SOURCES, "notmnist", (Download(url, path),))
        monkeypatch.setenv("NNLAB_DATA", str(tmp_path / "root"))
        assert main(["data", "fetch", "notmnist"]) == 0
    finally:
        httpd.shutdown()
        httpd.server_close()
    [row] = _rows(capsys.readouterr().out)[path]
    assert row[1] == "downloaded" and row[2].startswith("no published checksum (sha256 ")
    assert (tmp_path / "root" / path).read_bytes() == b"stand-in"


def test_data_fetch_embedded_needs_no_download(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NNLAB_DATA", str(tmp_path))
    _register(monkeypatch, "stand-in-embedded", folder=None)
    assert main(["data", "fetch", "stand-in-embedded"]) == 0
    assert "needs no download" in capsys.readouterr().out
