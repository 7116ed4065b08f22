"""A bounded fuzz pass over the readers of untrusted files: IDX, .mat, FER CSV, CIFAR pickles, tar.

Each target starts from a small valid file in its publisher's format and draws a mutation:
cut it short, overwrite bytes, or lie in a length field. Whatever is drawn, reading it must
either succeed or raise an `NnlabError` that names the file: never another exception, a hang
(hypothesis' deadline), or an allocation the file cannot back. Derandomized, so CI always runs
the same cases; a few seconds in all.
"""

import gzip
import io
import pickle
import struct
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnlab.data.formats.archive import iter_members
from nnlab.data.formats.idx import read_idx
from nnlab.data.formats.mat import read_mat
from nnlab.data.loaders import cifar, fer2013
from nnlab.errors import NnlabError

FUZZ = settings(
    max_examples=120,
    deadline=2000,  # ms per case: a hang or a runaway allocation fails here
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def mutated(draw, valid: bytes) -> bytes:
    """`valid` cut at a drawn length, or with up to 8 drawn bytes overwritten."""
    if draw(st.booleans()):
        return valid[: draw(st.integers(0, len(valid) - 1))]
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data)


def _read_or_refuse(read, data: bytes, name: str) -> None:
    """Write `data` as `name` in a fresh folder and read it with `read(path)`."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            read(path)
        except NnlabError as exc:
            assert str(path) in str(exc), f"the error does not name the file: {exc}"


# ---- IDX (MNIST family), plain and gzipped

_IDX = bytes([0, 0, 8, 3]) + struct.pack(">3I", 6, 5, 4) + bytes(range(120))


@FUZZ
@given(st.data())
def test_idx(data):
    _read_or_refuse(read_idx, data.draw(mutated(_IDX)), "train-images-idx3-ubyte")


@FUZZ
@given(st.data())
def test_idx_gz(data):
    blob = gzip.compress(_IDX, mtime=0)
    _read_or_refuse(read_idx, data.draw(mutated(blob)), "train-images-idx3-ubyte.gz")


@FUZZ
@given(dims=st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=4))
def test_idx_sizes_that_lie(dims):
    """A header may claim any size (10**12 images and more): refused from the file's length."""
    blob = bytes([0, 0, 8, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + bytes(64)
    _read_or_refuse(read_idx, blob, "t10k-images-idx3-ubyte")


def test_idx_header_claiming_a_trillion_images(tmp_path):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3]) + struct.pack(">3I", 10**12 % 2**32, 28, 28) + bytes(8))
    with pytest.raises(NnlabError, match="truncated or damaged"):
        read_idx(path)


# ---- MATLAB .mat (NIST36, SVHN)


def _mat() -> bytes:
    out = io.BytesIO()
    images = np.arange(4 * 16, dtype=np.float64).reshape(4, 16) / 64
    scipy.io.savemat(out, {"train_data": images, "train_labels": np.eye(4)[[0, 1, 2, 3]]})
    # the 116-byte text header holds the time of writing: fixed, so every run fuzzes one file
    return b"MATLAB 5.0 MAT-file".ljust(116) + out.getvalue()[116:]


@FUZZ
@given(st.data())
def test_mat(data):
    blob = data.draw(mutated(_mat()))
    _read_or_refuse(lambda p: read_mat(p, ["train_data", "train_labels"]), blob, "nist36_train.mat")


# ---- FER-2013 CSV

_CSV = (
    "emotion,pixels,Usage\n"
    + "".join(
        f"{i % 7},{' '.join(str((i + j) % 256) for j in range(48 * 48))},Training\n"
        for i in range(3)
    )
).encode()


@FUZZ
@given(st.data())
def test_fer_csv(data):
    _read_or_refuse(
        lambda p: fer2013.read_csv(p, "Training"), data.draw(mutated(_CSV)), "fer2013.csv"
    )


# ---- CIFAR-10 python batches (pickles)


def _cifar_batch() -> bytes:
    x = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    return pickle.dumps(
        {b"batch_label": b"training batch 1 of 5", b"labels": [3, 7], b"data": x}, 2
    )


def _read_batch(path: Path) -> None:
    cifar._batch(path.read_bytes(), str(path))


@FUZZ
@given(st.data())
def test_cifar_batch(data):
    _read_or_refuse(_read_batch, data.draw(mutated(_cifar_batch())), "data_batch_1")


# ---- tar archives (gzipped), as CIFAR, FER and Flowers-17 ship


def _tar_gz() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, payload in [("jpg/image_0001.jpg", b"x" * 300), ("jpg/files.txt", b"a\nb\n")]:
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return out.getvalue()


def _read_archive(path: Path) -> None:
    for _ in iter_members(path):
        pass


@FUZZ
@given(st.data())
def test_tar_gz(data):
    _read_or_refuse(_read_archive, data.draw(mutated(_tar_gz())), "17flowers.tgz")


@FUZZ
@given(st.data())
def test_tar_member_sizes_that_lie(data):
    """A plain tar whose header's size field is overwritten with drawn octal digits."""
    raw = bytearray(gzip.decompress(_tar_gz()))
    raw[124:136] = data.draw(st.binary(min_size=12, max_size=12))  # ustar size field
    _read_or_refuse(_read_archive, bytes(raw), "cifar10-train-images.tar")
