"""Pinned checksums, `verify`, and `fetch` against a local HTTP server (no internet needed)."""

import gzip
import hashlib
import io
import os
import re
import tarfile
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest

from nnlab.data import DatasetInfo, info, names
from nnlab.data import checksums as cs
from nnlab.data import fetch as fetch_mod
from nnlab.data.catalog import DATASETS
from nnlab.data.checksums import Checksum, verify
from nnlab.data.fetch import Download, fetch
from nnlab.errors import CorruptFileError, MissingDataError, UnknownNameError, UnsafeFileError

MNIST_LABELS = "mnist/t10k-labels-idx1-ubyte.gz"
MNIST_LABELS_SHA256 = "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
MNIST_LABELS_MD5 = "ec29112dd5afa0611ce80d1b7f02629c"  # LeCun's, as torchvision checks it


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _parts(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.part")) if folder.exists() else []


# ---- the pinned table against MANIFEST.md


def _manifest_sha256(text: str) -> dict[str, str]:
    """path -> sha256 from MANIFEST.md's plain lists and its tables."""
    plain = re.findall(r"^([0-9a-f]{64})  (\S+)$", text, flags=re.M)
    table = re.findall(r"\| ([\w.-]+/[\w.-]+) \| [\d,]+ \| ([0-9a-f]{64}) \|", text)
    return {**{path: digest for digest, path in plain}, **dict(table)}


def test_pins_match_manifest(require_data):
    root = require_data("MANIFEST.md")
    manifest = _manifest_sha256((root / "MANIFEST.md").read_text())
    pinned = {c.path: c.digest for g in cs.PINNED.values() for c in g if c.algorithm == "sha256"}
    assert len(manifest) == 25  # 17 in the first list + nist26 + 2 CIFAR tars + 5 EMNIST
    assert manifest == pinned


def test_pins_and_sources_lie_in_the_registered_folders():
    """Pins and downloads of a registered dataset go into the folder its loader reads."""
    for name in names():
        spec = info(name)
        paths = [c.path for c in cs.PINNED.get(name, ())]
        for d in fetch_mod.SOURCES.get(name, ()):
            paths += [d.path, *d.members.values()]
        assert all(p.startswith(f"{spec.folder}/") for p in paths), (name, paths)


# ---- verify


def test_verify_real_files_ok(require_data):
    root = require_data(MNIST_LABELS, "flowers17/17flowers.tgz")
    results = verify(root=root)
    present = [r for r in results if (root / r.path).is_file()]
    assert len(present) >= 25
    assert {r.status for r in present} == {"ok"}
    assert {r.status for r in results if r not in present} <= {"absent"}
    labels = next(r for r in results if r.path == MNIST_LABELS)
    assert (labels.algorithm, labels.digest) == ("sha256", MNIST_LABELS_SHA256)


def test_verify_statuses(tmp_path):
    """One byte changed is a MISMATCH; a differing file under a variant's name is unverified."""
    (tmp_path / "mnist").mkdir()
    (tmp_path / "emnist").mkdir()
    (tmp_path / "flowers17").mkdir()
    (tmp_path / MNIST_LABELS).write_bytes(b"not the labels")
    (tmp_path / "emnist/emnist-letters-test-images-idx3-ubyte.gz").write_bytes(b"NIST's own")
    (tmp_path / "flowers17/17flowers.tgz").write_bytes(b"neither Oxford's nor the repack")
    by_path = {r.path: r for r in verify(["mnist", "emnist-letters", "flowers17"], tmp_path)}
    assert by_path[MNIST_LABELS].status == "MISMATCH"
    assert by_path[MNIST_LABELS].digest == hashlib.sha256(b"not the labels").hexdigest()
    assert by_path["emnist/emnist-letters-test-images-idx3-ubyte.gz"].status == "unverified"
    assert by_path["flowers17/17flowers.tgz"].status == "MISMATCH"
    assert by_path["mnist/train-images-idx3-ubyte.gz"].status == "absent"
    assert by_path["mnist/train-images-idx3-ubyte.gz"].digest is None


def test_verify_md5_pin_and_chunking(tmp_path, monkeypatch):
    """A file longer than one chunk, pinned by md5, hashes the same as hashlib on the whole."""
    data = bytes(range(256)) * 10_000  # 2.56 MB: three 1 MiB chunks
    (tmp_path / "x").mkdir()
    (tmp_path / "x/f.bin").write_bytes(data)
    monkeypatch.setitem(cs.PINNED, "x", (Checksum("x/f.bin", "md5", _md5(data)),))
    [result] = verify(["x"], tmp_path)
    assert (result.status, result.algorithm, result.digest) == ("ok", "md5", _md5(data))


def test_verify_unknown_name():
    with pytest.raises(UnknownNameError, match="Did you mean: mnist"):
        verify(["mnsit"])


# ---- fetch: a local server stands in for the publishers


@pytest.fixture
def server(tmp_path):
    """A threaded HTTP server on 127.0.0.1 serving tmp_path/srv; `hits` lists the paths asked."""
    folder = tmp_path / "srv"
    folder.mkdir()
    hits = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            if self.path == "/short":  # promises 1000 bytes, sends 10, hangs up
                self.send_response(200)
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self.wfile.write(b"0123456789")
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{httpd.server_port}/", dir=folder, hits=hits)
    httpd.shutdown()
    httpd.server_close()


def _serve(monkeypatch, name: str, *downloads: Download) -> None:
    monkeypatch.setitem(fetch_mod.SOURCES, name, downloads)


def test_fetch_verified_download_is_atomic(require_data, server, tmp_path, monkeypatch):
    real = require_data(MNIST_LABELS) / MNIST_LABELS
    (server.dir / "labels.gz").write_bytes(real.read_bytes())
    _serve(monkeypatch, "mnist", Download(server.url + "labels.gz", MNIST_LABELS))
    root = tmp_path / "root"
    final = root / MNIST_LABELS
    seen = []

    def progress(label, done, total):
        # while bytes stream, the final name must not exist yet; only a .part does
        seen.append((label, done, total, final.exists(), len(_parts(root))))

    [result] = fetch("mnist", root=root, progress=progress)
    assert (result.path, result.action, result.check) == (final, "downloaded", "sha256 ok")
    assert hashlib.sha256(final.read_bytes()).hexdigest() == MNIST_LABELS_SHA256
    assert _md5(final.read_bytes()) == MNIST_LABELS_MD5
    assert seen and all(not exists and n_parts == 1 for *_, exists, n_parts in seen)
    assert seen[-1][:3] == ("labels.gz", 4542, 4542)  # MANIFEST's size
    assert _parts(root) == []
    umask = os.umask(0)
    os.umask(umask)
    assert final.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not a 0600 temp

    # there and verified: kept without asking the server; --force downloads again
    [kept] = fetch("mnist", root=root)
    assert (kept.action, kept.check, len(server.hits)) == ("kept", "sha256 ok", 1)
    [again] = fetch("mnist", root=root, force=True)
    assert (again.action, len(server.hits)) == ("downloaded", 2)

    # a damaged file in place is replaced, not kept
    final.write_bytes(b"damaged")
    [fixed] = fetch("mnist", root=root)
    assert fixed.action == "downloaded"
    assert hashlib.sha256(final.read_bytes()).hexdigest() == MNIST_LABELS_SHA256


def test_fetch_bad_checksum_leaves_nothing(server, tmp_path, monkeypatch):
    (server.dir / "labels.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01" + bytes(8)))
    _serve(monkeypatch, "mnist", Download(server.url + "labels.gz", MNIST_LABELS))
    root = tmp_path / "root"
    with pytest.raises(CorruptFileError, match=f"expected sha256 {MNIST_LABELS_SHA256}"):
        fetch("mnist", root=root)
    assert not (root / MNIST_LABELS).exists()
    assert _parts(root) == []


def test_fetch_without_published_checksum_reports_sha256(server, tmp_path, monkeypatch):
    data = b"a stand-in for notMNIST_small.tar.gz"
    (server.dir / "notMNIST_small.tar.gz").write_bytes(data)
    path = "notmnist/notMNIST_small.tar.gz"
    _serve(monkeypatch, "notmnist", Download(server.url + "notMNIST_small.tar.gz", path))
    [result] = fetch("notmnist", root=tmp_path / "root")
    assert result.check == f"no published checksum (sha256 {hashlib.sha256(data).hexdigest()})"
    assert (tmp_path / "root" / path).read_bytes() == data


def test_fetch_unreachable_host_says_offline(tmp_path, monkeypatch):
    _serve(monkeypatch, "mnist", Download("http://127.0.0.1:9/labels.gz", MNIST_LABELS))
    root = tmp_path / "root"
    with pytest.raises(MissingDataError) as err:
        fetch("mnist", root=root)
    message = str(err.value)
    assert "cannot reach 127.0.0.1 (offline?)" in message
    assert f"copy the files by hand into {root / 'mnist'}/" in message
    assert "\n" not in message
    assert not root.exists()  # no empty folders left behind either


def test_fetch_http_error_and_short_read(server, tmp_path, monkeypatch):
    root = tmp_path / "root"
    _serve(monkeypatch, "mnist", Download(server.url + "nothing-here", MNIST_LABELS))
    with pytest.raises(MissingDataError, match="HTTP 404"):
        fetch("mnist", root=root)
    _serve(monkeypatch, "mnist", Download(server.url + "short", MNIST_LABELS))
    with pytest.raises(MissingDataError, match="stopped after 10 of 1,000 bytes"):
        fetch("mnist", root=root)
    assert not (root / MNIST_LABELS).exists()
    assert _parts(root) == []


# ---- fetch: archives that are unpacked


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _targz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


LETTERS_FILES = [
    "emnist-letters-train-images-idx3-ubyte.gz",
    "emnist-letters-train-labels-idx1-ubyte.gz",
    "emnist-letters-test-images-idx3-ubyte.gz",
    "emnist-letters-test-labels-idx1-ubyte.gz",
    "emnist-letters-mapping.txt",
]


def _emnist_zip(server, monkeypatch, extra: dict[str, bytes]) -> dict[str, bytes]:
    """Serve a stand-in for NIST's gzip.zip, its md5 pinned; returns the letters members."""
    letters = {f"gzip/{n}": f"content of {n}".encode() for n in LETTERS_FILES}
    data = _zip({**letters, **extra})
    (server.dir / "gzip.zip").write_bytes(data)
    download = fetch_mod._emnist("letters")
    _serve(
        monkeypatch,
        "emnist-letters",
        Download(server.url + "gzip.zip", download.path, download.members),
    )
    monkeypatch.setattr(cs, "ARCHIVES", (Checksum("emnist/gzip.zip", "md5", _md5(data)),))
    # pin the stand-in labels as originals, as the real labels are
    pins = tuple(
        Checksum(f"emnist/{n}", "md5", _md5(letters[f"gzip/{n}"]))
        for n in LETTERS_FILES
        if "labels" in n
    )
    monkeypatch.setitem(cs.PINNED, "emnist-letters", pins)
    return letters


def test_fetch_emnist_unpacks_only_letters(server, tmp_path, monkeypatch):
    letters = _emnist_zip(
        server, monkeypatch, {"gzip/emnist-digits-train-images-idx3-ubyte.gz": b"digits"}
    )
    root = tmp_path / "root"
    results = fetch("emnist-letters", root=root)
    assert sorted(p.name for p in (root / "emnist").iterdir()) == sorted(LETTERS_FILES)
    for name in LETTERS_FILES:
        assert (root / "emnist" / name).read_bytes() == letters[f"gzip/{name}"]
    checks = {r.path.name: r.check for r in results}
    assert {r.action for r in results} == {"unpacked"}
    assert checks["emnist-letters-test-labels-idx1-ubyte.gz"] == "md5 ok"
    assert checks["emnist-letters-mapping.txt"] == "from gzip.zip (md5 ok)"
    # all there: nothing is downloaded again
    assert {r.action for r in fetch("emnist-letters", root=root)} == {"kept"}
    assert len(server.hits) == 1


def test_fetch_refuses_archive_with_unsafe_member(server, tmp_path, monkeypatch):
    _emnist_zip(server, monkeypatch, {"gzip/../../evil.txt": b"x"})
    root = tmp_path / "root"
    with pytest.raises(UnsafeFileError, match="evil.txt"):
        fetch("emnist-letters", root=root)
    assert list((root / "emnist").iterdir()) == []  # neither members nor the archive's .part
    assert not (tmp_path / "evil.txt").exists()


def test_fetch_cifar_tar_members_checked(server, tmp_path, monkeypatch):
    batches = {f"cifar-10-batches-py/{n}": n.encode() * 3 for n in fetch_mod._CIFAR_MEMBERS}
    data = _targz({"cifar-10-batches-py/readme.html": b"<html>", **batches})
    (server.dir / "cifar.tar.gz").write_bytes(data)
    [download] = fetch_mod.SOURCES["cifar10"]
    _serve(
        monkeypatch,
        "cifar10",
        Download(server.url + "cifar.tar.gz", download.path, download.members),
    )
    monkeypatch.setattr(cs, "ARCHIVES", (Checksum(download.path, "md5", _md5(data)),))
    pins = {f"cifar10/{m}": _md5(b) for m, b in batches.items()}
    pins["cifar10/cifar-10-batches-py/test_batch"] = _md5(b"the publisher's test batch")
    monkeypatch.setitem(cs.PINNED, "cifar10", tuple(Checksum(p, "md5", d) for p, d in pins.items()))
    if "cifar10" not in names():
        _register(monkeypatch, "cifar10", folder="cifar10")
    root = tmp_path / "root"
    with pytest.raises(CorruptFileError, match="test_batch: does not match"):
        fetch("cifar10", root=root)
    folder = root / "cifar10/cifar-10-batches-py"
    assert not (folder / "test_batch").exists()
    assert (folder / "data_batch_1").read_bytes() == b"data_batch_1" * 3
    assert not (folder / "readme.html").exists()
    assert _parts(root) == []


# ---- fetch: datasets with nothing to download


def _register(monkeypatch, name: str, folder: str | None) -> None:
    """Register a stand-in dataset for one test (the registry is restored afterwards)."""
    names()  # load the built-in sets first, so none is registered later over the stand-in
    spec = DatasetInfo(name, "stand-in", ("a", "b"), (1, 8, 8), ("train",), None, folder)
    monkeypatch.setitem(DATASETS._entries, name, spec)


def test_fetch_manual_dataset_says_where_to_put_it(tmp_path, monkeypatch):
    if "nist36" not in names():
        _register(monkeypatch, "nist36", folder="nist36")
    with pytest.raises(MissingDataError) as err:
        fetch("nist36", root=tmp_path)
    assert "by hand" in str(err.value) and "16-720" in str(err.value)
    assert f"put them in {tmp_path / 'nist36'}/" in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_fetch_embedded_and_unknown(tmp_path, monkeypatch):
    _register(monkeypatch, "stand-in-embedded", folder=None)
    assert fetch("stand-in-embedded", root=tmp_path) == []
    with pytest.raises(UnknownNameError, match="Did you mean: mnist"):
        fetch("mnsit", root=tmp_path)
