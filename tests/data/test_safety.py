"""Untrusted files: unsafe archive members, truncated archives, bad images, code in pickles."""

import builtins
import codecs
import io
import os
import pickle
import tarfile

import numpy as np
import pytest
from PIL import Image

from nnlab.data import load
from nnlab.data.formats.safepickle import safe_load
from nnlab.errors import CorruptFileError, NnlabError, UnsafeFileError


def _png_bytes(value=0):
    buf = io.BytesIO()
    Image.fromarray(np.full((48, 48), value, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _tar_gz(path, members):
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize("bad_name", ["train/angry/../../escape.png", "/etc/train/angry/x.png"])
def test_unsafe_member_names(tmp_path, bad_name):
    archive = tmp_path / "fer2013" / "fer2013_train.tar.gz"
    _tar_gz(archive, {"train/angry/Training_1.png": _png_bytes(), bad_name: _png_bytes()})
    with pytest.raises(UnsafeFileError, match="fer2013_train.tar.gz.*absolute path or '..'"):
        load("fer2013", "train", root=tmp_path)


def test_truncated_archive(tmp_path):
    archive = tmp_path / "cifar10" / "cifar10-test-images.tar.gz"
    rng = np.random.default_rng(0)
    noise = {
        f"test/cat/{i:04d}.png": rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        for i in range(20)
    }
    members = {}
    for name, a in noise.items():
        buf = io.BytesIO()
        Image.fromarray(a).save(buf, format="PNG")
        members[name] = buf.getvalue()
    _tar_gz(archive, members)
    assert len(load("cifar10", "test", root=tmp_path)) == 20  # intact, it loads
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(CorruptFileError, match="cifar10-test-images.tar.gz.*truncated"):
        load("cifar10", "test", root=tmp_path)


@pytest.mark.parametrize("content", [b"not a png at all", _png_bytes(7)[:60]], ids=["junk", "cut"])
def test_undecodable_image_in_folder_set(tmp_path, monkeypatch, content):
    """A junk or cut photo is skipped and named; with NNLAB_FOLDER_STRICT=1 it is refused."""
    for i in range(3):
        (tmp_path / "cat").mkdir(exist_ok=True)
        (tmp_path / "cat" / f"{i}.png").write_bytes(_png_bytes(i))
    (tmp_path / "cat" / "broken.png").write_bytes(content)
    s = load(f"folder:{tmp_path}")
    assert len(s) == 3 and any("cat/broken.png" in n for n in s.notes)
    monkeypatch.setenv("NNLAB_FOLDER_STRICT", "1")
    with pytest.raises(CorruptFileError, match=r"cat/broken\.png: cannot decode"):
        load(f"folder:{tmp_path}")


def test_folder_without_class_folders(tmp_path):
    (tmp_path / "loose.png").write_bytes(_png_bytes())
    with pytest.raises(NnlabError, match=f"{tmp_path}.*PATH/<class>/<image>"):
        load(f"folder:{tmp_path}")


class _Shell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _Opener:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return builtins.open, (str(self.marker), "w")


@pytest.mark.parametrize("payload", [_Shell, _Opener], ids=["os.system", "builtins.open"])
def test_malicious_pickle_is_refused_and_not_run(tmp_path, payload):
    # the payload is real: plain pickle runs it and the marker file appears
    probe = tmp_path / "plain-pickle-ran"
    pickle.loads(pickle.dumps(payload(probe), protocol=2))
    assert probe.exists()

    marker = tmp_path / "safe-load-ran"
    evil = pickle.dumps({b"data": payload(marker), b"labels": [0]}, protocol=2)
    with pytest.raises(UnsafeFileError, match=r"evil.pkl.*asks for (posix\.system|io\.open)"):
        safe_load(evil, "evil.pkl")
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    (folder / "test_batch").write_bytes(evil)
    with pytest.raises(UnsafeFileError, match="test_batch"):
        load("cifar10", "test", root=tmp_path)
    assert not marker.exists()


class _Rot13:
    def __reduce__(self):
        return codecs.encode, ("abc", "rot13")


def test_codecs_other_than_latin1_are_refused():
    evil = pickle.dumps(_Rot13(), protocol=2)
    assert b"_codecs\nencode" in evil
    with pytest.raises(UnsafeFileError, match="rot13"):
        safe_load(evil, "codec.pkl")


def test_truncated_pickle():
    data = pickle.dumps({b"data": np.zeros((4, 3072), np.uint8)}, protocol=2)
    with pytest.raises(CorruptFileError, match="cut.pkl.*truncated"):
        safe_load(data[:100], "cut.pkl")


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_safe_load_rebuilds_numeric_arrays_exactly(protocol):
    rng = np.random.default_rng(0)
    data = {
        b"u8": rng.integers(0, 256, (3, 5), dtype=np.uint8),
        b"big_endian": np.arange(6, dtype=">i4").reshape(2, 3),
        b"fortran": np.asfortranarray(rng.normal(size=(4, 3))),
        b"flags": np.array([True, False]),
        b"scalar": np.float32(1.5),
        b"labels": [1, 2, 3],
        "text": ("a", b"b", {1, 2}),
    }
    back = safe_load(pickle.dumps(data, protocol=protocol), "ok.pkl")
    for key, value in data.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(back[key], value)
            assert back[key].dtype == value.dtype and back[key].flags.writeable
        else:
            assert back[key] == value


class _ObjectDtype:
    def __reduce__(self):
        return np.dtype, ("O8", False, True), (3, "|", None, None, None, -1, -1, 0)


class _PointerArray:
    """An object array whose 'pointers' are bytes from the file: NumPy's own unpickling would
    follow them (a crash, or worse) as soon as the array is read."""

    def __reduce__(self):
        rebuild, args, _ = np.zeros(1, "u8").__reduce__()
        pointer = (0x4141414141414141).to_bytes(8, "little")
        return rebuild, args, (1, (1,), _ObjectDtype(), False, pointer)


def test_object_arrays_are_refused_before_numpy_sees_them():
    evil = pickle.dumps({b"data": _PointerArray(), b"labels": [0]}, protocol=2)
    with pytest.raises(UnsafeFileError, match=r"numpy\.dtype\('O8'\)"):
        safe_load(evil, "pointer.pkl")


class _ShortArray:
    def __reduce__(self):
        rebuild, args, state = np.zeros(4, "u1").__reduce__()
        return rebuild, args, (*state[:4], b"\x00\x01")  # 2 bytes for 4 elements


class _HugeBytearray:
    def __reduce__(self):
        return bytearray, (10**14,)


def test_inconsistent_or_oversized_payloads_are_errors_not_crashes():
    with pytest.raises(CorruptFileError, match="short.pkl.*2 bytes"):
        safe_load(pickle.dumps(_ShortArray(), protocol=2), "short.pkl")
    with pytest.raises(UnsafeFileError, match="huge.pkl"):
        safe_load(pickle.dumps(_HugeBytearray(), protocol=2), "huge.pkl")
