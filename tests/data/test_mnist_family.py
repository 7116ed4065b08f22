"""MNIST, Fashion-MNIST, EMNIST letters and NotMNIST (IDX) from the real files."""

import gzip
import hashlib
import os

import numpy as np
import pytest
import torch

from nnlab.data import load
from nnlab.data.formats.idx import read_idx
from nnlab.errors import CorruptFileError, UnknownNameError


def _pixels_sha(s):
    return hashlib.sha256(s.x.numpy().tobytes()).hexdigest()[:16]


#: class names in label order, from the publishers' descriptions (MANIFEST.md for Fashion-MNIST)
DIGITS = tuple("0123456789")
FASHION = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
LETTERS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
NOTMNIST = tuple("ABCDEFGHIJ")

# name, split, required file, classes, per-class counts (MANIFEST.md where it gives them), pixel
# checksum
CASES = [
    (
        "mnist",
        "train",
        "mnist/train-images-idx3-ubyte.gz",
        DIGITS,
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
        "741c988805d008ac",
    ),
    (
        "mnist",
        "test",
        "mnist/t10k-images-idx3-ubyte.gz",
        DIGITS,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009],
        "6d87418db22cc802",
    ),
    (
        "fashion-mnist",
        "train",
        "fashion-mnist/train-images-idx3-ubyte.gz",
        FASHION,
        [6000] * 10,
        "2e487a6c89124f78",
    ),
    (
        "fashion-mnist",
        "test",
        "fashion-mnist/t10k-images-idx3-ubyte.gz",
        FASHION,
        [1000] * 10,
        "c867c93ff9536059",
    ),
    (
        "emnist-letters",
        "train",
        "emnist/emnist-letters-train-images-idx3-ubyte.gz",
        LETTERS,
        [4800] * 26,
        "9d5d0a67fd893cbf",
    ),
    (
        "emnist-letters",
        "test",
        "emnist/emnist-letters-test-images-idx3-ubyte.gz",
        LETTERS,
        [800] * 26,
        "29150cc5b2fb6126",
    ),
    (
        "notmnist",
        "all",
        "notmnist/t10k-images-idx3-ubyte.gz",
        NOTMNIST,
        [1000] * 10,
        "6bda48464effe416",
    ),
    (
        "notmnist",
        "train",
        "notmnist/t10k-images-idx3-ubyte.gz",
        NOTMNIST,
        [800] * 10,
        "88d85e9d05368f9e",
    ),
    (
        "notmnist",
        "test",
        "notmnist/t10k-images-idx3-ubyte.gz",
        NOTMNIST,
        [200] * 10,
        "880eb9a5a2202849",
    ),
]


@pytest.mark.data
@pytest.mark.parametrize(
    "name,split,needed,classes,counts,sha", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_real_split(require_data, name, split, needed, classes, counts, sha):
    require_data(needed)
    s = load(name, split)
    assert s.classes == classes and s.class_counts().tolist() == counts
    assert len(s) == sum(counts) and s.split == split
    assert s.x.dtype == torch.uint8 and s.x.shape[1:] == (1, 28, 28) and s.y.dtype == torch.int64
    assert _pixels_sha(s) == sha


@pytest.mark.data
def test_emnist_is_upright_and_zero_based(require_data):
    require_data("emnist/emnist-letters-test-images-idx3-ubyte.gz")
    s = load("emnist-letters", "test")
    assert s.classes[0] == "A" and int(s.y.min()) == 0 and int(s.y.max()) == 25
    # Upright 'I's are tall and thin: their ink spreads down the rows more than across columns.
    ink = s.x[s.y == s.classes.index("I")].float().mean(0)[0]
    rows, cols = ink.sum(1), ink.sum(0)
    assert (rows > rows.max() * 0.2).sum() > (cols > cols.max() * 0.2).sum()


@pytest.mark.data
def test_notmnist_split_is_a_partition(require_data):
    require_data("notmnist/t10k-images-idx3-ubyte.gz")
    whole, train, test = (load("notmnist", s) for s in ("all", "train", "test"))
    rows = {bytes(r) for r in whole.x.flatten(1).numpy()}
    both = {bytes(r) for r in train.x.flatten(1).numpy()} | {
        bytes(r) for r in test.x.flatten(1).numpy()
    }
    assert rows == both and len(train) + len(test) == len(whole)


def _write_idx(path, array, magic_type=0x08):
    header = bytes([0, 0, magic_type, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    data = header + array.astype(np.uint8).tobytes()
    if path.suffix == ".gz":
        data = gzip.compress(data)
    path.write_bytes(data)


def test_idx_round_trip_plain_and_gzip(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    for name in ("x-idx3-ubyte", "x-idx3-ubyte.gz"):
        _write_idx(tmp_path / name, a)
        np.testing.assert_array_equal(read_idx(tmp_path / name), a)


def test_idx_wrong_magic(tmp_path):
    _write_idx(tmp_path / "bad-idx3-ubyte", np.zeros((2, 2, 2)), magic_type=0x0D)
    with pytest.raises(CorruptFileError, match="bad-idx3-ubyte.*magic"):
        read_idx(tmp_path / "bad-idx3-ubyte")


def test_idx_truncated_gzip(tmp_path):
    _write_idx(
        tmp_path / "t-idx3-ubyte.gz", np.random.default_rng(0).integers(0, 255, (50, 28, 28))
    )
    data = (tmp_path / "t-idx3-ubyte.gz").read_bytes()
    (tmp_path / "t-idx3-ubyte.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="t-idx3-ubyte.gz.*truncated"):
        read_idx(tmp_path / "t-idx3-ubyte.gz")


def test_idx_short_payload(tmp_path):
    p = tmp_path / "s-idx1-ubyte"
    p.write_bytes(bytes([0, 0, 8, 1]) + np.array([10], ">u4").tobytes() + bytes(5))
    with pytest.raises(CorruptFileError, match="truncated"):
        read_idx(p)


def test_unknown_dataset_and_split():
    with pytest.raises(UnknownNameError, match="Did you mean: mnist"):
        load("mnsit")
    with pytest.raises(UnknownNameError, match="splits are train, test"):
        load("mnist", "valid")


def _png(value: int) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((28, 28), value, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _notmnist_small(folder):
    """A notMNIST_small tree: 2 PNGs per letter (pixel value encodes letter and index), and one
    unreadable PNG in D, as the real set has."""
    for k, letter in enumerate("ABCDEFGHIJ"):
        (folder / letter).mkdir(parents=True)
        for i in range(2):
            (folder / letter / f"img{i}.png").write_bytes(_png(10 * k + i))
    (folder / "D" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")


def _check_notmnist_pngs(s):
    assert len(s) == 20 and s.x.shape[1:] == (1, 28, 28)
    assert s.class_counts().tolist() == [2] * 10
    # each image's value says which letter folder and file it came from
    values = s.x[:, 0, 0, 0].long()
    assert torch.equal(values // 10, s.y)
    assert any("skipped 1 unreadable PNG" in n for n in s.notes)


def test_notmnist_png_folders(tmp_path):
    _notmnist_small(tmp_path / "notmnist" / "notMNIST_small")
    _check_notmnist_pngs(load("notmnist", "all", root=tmp_path))
    train, test = load("notmnist", "train", root=tmp_path), load("notmnist", "test", root=tmp_path)
    assert len(train) == 16 and len(test) == 4


def test_notmnist_tar_read_without_extracting(tmp_path):
    import tarfile

    _notmnist_small(tmp_path / "src" / "notMNIST_small")
    (tmp_path / "notmnist").mkdir()
    archive = tmp_path / "notmnist" / "notMNIST_small.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "notMNIST_small", arcname="notMNIST_small")
    before = sorted(p.name for p in (tmp_path / "notmnist").iterdir())
    _check_notmnist_pngs(load("notmnist", "all", root=tmp_path))
    assert sorted(p.name for p in (tmp_path / "notmnist").iterdir()) == before


def test_notmnist_png_edited_in_place_is_decoded_again(tmp_path):
    """The cache is keyed on the PNGs themselves: an edit leaves the letter folder's mtime alone."""
    _notmnist_small(tmp_path / "notmnist" / "notMNIST_small")
    first = load("notmnist", "all", root=tmp_path)
    png = tmp_path / "notmnist" / "notMNIST_small" / "C" / "img1.png"
    folder_times = os.stat(png.parent).st_atime_ns, os.stat(png.parent).st_mtime_ns
    png.write_bytes(_png(222))
    os.utime(png, ns=(png.stat().st_atime_ns, png.stat().st_mtime_ns + 10**9))
    os.utime(png.parent, ns=folder_times)  # as on filesystems where the folder does not change
    again = load("notmnist", "all", root=tmp_path)
    changed = (first.x != again.x).flatten(1).any(1).nonzero().flatten().tolist()
    assert changed == [5] and int(again.x[5, 0, 0, 0]) == 222  # C's second image


@pytest.mark.parametrize("name", ["x-idx3-ubyte", "x-idx3-ubyte.gz"])
def test_idx_path_that_cannot_be_read(tmp_path, monkeypatch, name):
    """A folder where the file should be, or no permission: an error naming it, no traceback."""
    (tmp_path / name).mkdir()
    with pytest.raises(CorruptFileError, match=rf"{name}: cannot read it \(Is a directory\)"):
        read_idx(tmp_path / name)
    (tmp_path / name).rmdir()
    _write_idx(tmp_path / name, np.zeros((1, 2, 2)))

    def refuse(self):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(type(tmp_path), "read_bytes", refuse)  # chmod cannot stop root
    with pytest.raises(CorruptFileError, match=rf"{name}: cannot read it \(Permission denied\)"):
        read_idx(tmp_path / name)
