"""CIFAR-10: the real JPEG image-folder release, and python batches written in the exact format."""

import hashlib
import io
import pickle
import struct
import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

from nnlab.data import load
from nnlab.data.loaders.cifar import CLASSES, JPEG_NOTE
from nnlab.errors import CorruptFileError

ARCHIVES = {"train": "cifar10-train-images.tar.gz", "test": "cifar10-test-images.tar.gz"}


def _pixels_sha(s):
    return hashlib.sha256(s.x.numpy().tobytes()).hexdigest()[:16]


# split, N, per class, pixel checksum, per-channel mean from MANIFEST.md
REAL = [
    ("train", 50000, 5000, "f12bc101717acd0d", (0.4913, 0.4821, 0.4465)),
    ("test", 10000, 1000, "2fb7dfcd1893f37e", (0.4941, 0.4851, 0.4504)),
]


@pytest.mark.data
@pytest.mark.parametrize("split,n,per_class,sha,mean", REAL, ids=[r[0] for r in REAL])
def test_real_jpeg_release(require_data, split, n, per_class, sha, mean):
    root = require_data(f"cifar10/{ARCHIVES[split]}")
    s = load("cifar10", split)
    assert s.classes == CLASSES and s.notes == (JPEG_NOTE,)
    assert len(s) == n and s.image_shape == (3, 32, 32)
    assert s.class_counts().tolist() == [per_class] * 10
    assert _pixels_sha(s) == sha
    # red > green > blue on average: a BGR mix-up or wrong transpose would not match
    got = s.x.sum((0, 2, 3), dtype=torch.int64) / (n * 32 * 32 * 255)
    np.testing.assert_allclose(got.tolist(), mean, atol=6e-4)
    # classes in CIFAR order, files by name within a class: the first cat is <split>/cat/0000.jpg
    with tarfile.open(root / "cifar10" / ARCHIVES[split]) as tar:
        data = tar.extractfile(f"{split}/cat/0000.jpg").read()
    first_cat = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).transpose(2, 0, 1)
    assert np.array_equal(s.x[s.y == CLASSES.index("cat")][0].numpy(), first_cat)
    assert int(s.y[0]) == 0 and int(s.y[-1]) == 9


# ---- python batches, written as the publisher did: Python 2 cPickle, protocol 2


class _Py2Pickler(pickle._Pickler):
    """Writes protocol 2 as Python 2 did for CIFAR: str as BINSTRING, numpy.core globals."""

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_str(self, obj):
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[str] = _save_py2_str
    dispatch[bytes] = _save_py2_str

    def save_global(self, obj, name=None):
        if getattr(obj, "__name__", "") == "_reconstruct":
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
        else:
            super().save_global(obj, name)


def _py2_pickle(obj) -> bytes:
    f = io.BytesIO()
    _Py2Pickler(f, protocol=2).dump(obj)
    return f.getvalue()


def _batch(images: np.ndarray, labels: list[int], label: str) -> bytes:
    """A batch file from HWC images: each row is the R plane, G plane, B plane, row by row."""
    rows = np.stack([np.concatenate([im[:, :, c].ravel() for c in range(3)]) for im in images])
    return _py2_pickle(
        {
            "batch_label": label,
            "labels": labels,
            "data": rows,
            "filenames": [f"img_{i:05d}.png" for i in range(len(labels))],
        }
    )


def _release(seed=0, per_batch=3):
    """{file name: bytes} of a small python release, and its images (HWC) and labels per split."""
    rng = np.random.default_rng(seed)
    files, truth = {}, {"train": ([], []), "test": ([], [])}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        images = rng.integers(0, 256, (per_batch, 32, 32, 3), dtype=np.uint8)
        labels = rng.integers(0, 10, per_batch).tolist()
        files[name] = _batch(images, labels, f"batch {name}")
        split = "test" if name == "test_batch" else "train"
        truth[split][0].extend(images)
        truth[split][1].extend(labels)
    meta = {"num_cases_per_batch": per_batch, "label_names": list(CLASSES), "num_vis": 3072}
    files["batches.meta"] = _py2_pickle(meta)
    return files, truth


def test_py2_pickles_look_like_cifar():
    files, _ = _release()
    d = pickle.loads(files["data_batch_1"], encoding="bytes")
    assert set(d) == {b"batch_label", b"labels", b"data", b"filenames"}
    assert d[b"data"].dtype == np.uint8 and d[b"data"].shape == (3, 3072)
    assert b"numpy.core.multiarray\n_reconstruct" in files["data_batch_1"]


def _check(root, truth):
    for split in ("train", "test"):
        s = load("cifar10", split, root=root)
        images, labels = truth[split]
        assert s.notes == () and s.y.tolist() == labels
        assert np.array_equal(s.x.numpy(), np.stack(images).transpose(0, 3, 1, 2))


def test_python_batches_folder(tmp_path):
    files, truth = _release()
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    _check(tmp_path, truth)


def test_python_batches_orientation_and_channels(tmp_path):
    """A lone red pixel at row 0, column 1 and a blue one at row 2, column 0."""
    files, _ = _release()
    im = np.zeros((1, 32, 32, 3), np.uint8)
    im[0, 0, 1, 0] = 255
    im[0, 2, 0, 2] = 200
    files["test_batch"] = _batch(im, [7], "testing batch 1 of 1")
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    s = load("cifar10", "test", root=tmp_path)
    assert s.x.shape == (1, 3, 32, 32) and int(s.x.sum()) == 455
    assert int(s.x[0, 0, 0, 1]) == 255 and int(s.x[0, 2, 2, 0]) == 200 and s.y.tolist() == [7]


def test_python_batches_tar_gz(tmp_path):
    files, truth = _release(seed=1)
    (tmp_path / "cifar10").mkdir()
    with tarfile.open(tmp_path / "cifar10" / "cifar-10-python.tar.gz", "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    _check(tmp_path, truth)


def test_wrong_meta_and_missing_batch(tmp_path):
    files, _ = _release()
    folder = tmp_path / "cifar10" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "batches.meta").write_bytes(_py2_pickle({"label_names": ["apple"] * 10}))
    with pytest.raises(CorruptFileError, match="batches.meta.*label_names"):
        load("cifar10", "test", root=tmp_path)
    (folder / "batches.meta").unlink()
    (folder / "data_batch_3").unlink()
    with pytest.raises(CorruptFileError, match="data_batch_3 is missing"):
        load("cifar10", "train", root=tmp_path)


def test_jpeg_folder_cache_follows_the_class_order(tmp_path, monkeypatch):
    """The image-folder release goes through the cache, whose key holds the class names."""
    from nnlab.data.loaders import cifar

    for k, name in enumerate(CLASSES):
        path = tmp_path / "cifar10" / "test" / name / "0000.png"
        path.parent.mkdir(parents=True)
        Image.fromarray(np.full((32, 32, 3), k, np.uint8)).save(path)
    assert load("cifar10", "test", root=tmp_path).y.tolist() == list(range(10))
    monkeypatch.setattr(cifar, "CLASSES", CLASSES[::-1])
    s = load("cifar10", "test", root=tmp_path)
    assert s.classes == CLASSES[::-1] and s.y.tolist() == list(range(10))
    assert s.x[:, 0, 0, 0].tolist() == list(range(9, -1, -1))  # "truck" (9) comes first now
