"""SVHN cropped digits (.mat): files written in Stanford's exact layout, read back."""

import numpy as np
import pytest
import scipy.io

from nnlab.data import load
from nnlab.errors import CorruptFileError, MissingDataError


def _write_svhn(root, split, X, y):
    """Save like {split}_32x32.mat: X uint8 (32, 32, 3, N) [row, col, channel, image], y (N, 1)."""
    (root / "svhn").mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(root / "svhn" / f"{split}_32x32.mat", {"X": X, "y": y})


def _known(n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
    X[..., 0] = 0
    X[0:5, 0:10, 0, 0] = 255  # image 0: a red bar in the top 5 rows, left 10 columns
    y = (np.arange(n) % 10 + 1).astype(np.uint8).reshape(n, 1)  # 1..10, 10 = digit 0
    return X, y


@pytest.mark.parametrize("split", ["train", "test", "extra"])
def test_reads_back_exactly(tmp_path, split):
    X, y = _known(23)
    _write_svhn(tmp_path, split, X, y)
    s = load("svhn", split, root=tmp_path)
    assert s.classes == tuple("0123456789") and s.split == split
    assert s.x.shape == (23, 3, 32, 32)
    # the red bar: channel 0, top rows, left columns, and nothing else red in image 0
    red = s.x[0, 0].numpy()
    assert (red[:5, :10] == 255).all() and red.sum() == 255 * 50
    # every pixel, indexed by MATLAB's [row, col, channel, image]
    for n, c, r, col in [(1, 1, 2, 30), (7, 2, 31, 0), (22, 1, 17, 9)]:
        assert int(s.x[n, c, r, col]) == int(X[r, col, c, n])
    np.testing.assert_array_equal(s.x.numpy(), np.moveaxis(X, (3, 2, 0, 1), (0, 1, 2, 3)))
    # labels 1..9 stay, 10 becomes 0
    assert s.y.tolist() == [(i % 10 + 1) % 10 for i in range(23)]
    assert s.y[9].item() == 0 and s.y[0].item() == 1


def test_float_labels_and_limit(tmp_path):
    X, y = _known(30)
    _write_svhn(tmp_path, "train", X, y.astype(np.float64))  # some copies store y as double
    s = load("svhn", "train", root=tmp_path, limit=12)
    assert len(s) == 12 and s.y.dtype.is_floating_point is False


def test_missing_file(tmp_path):
    with pytest.raises(MissingDataError, match=r"svhn: test_32x32\.mat not found"):
        load("svhn", "test", root=tmp_path)


def test_label_out_of_range(tmp_path):
    X, y = _known(4)
    y[2] = 0  # SVHN labels are 1..10; 0 never occurs
    _write_svhn(tmp_path, "test", X, y)
    with pytest.raises(CorruptFileError, match=r"test_32x32\.mat: y must hold 4 labels in 1\.\.10"):
        load("svhn", "test", root=tmp_path)


def test_wrong_image_layout(tmp_path):
    X, y = _known(4)
    _write_svhn(tmp_path, "test", np.ascontiguousarray(X.transpose(3, 2, 0, 1)), y)  # N,C,H,W
    with pytest.raises(CorruptFileError, match=r"X must be uint8 \(32, 32, 3, N\)"):
        load("svhn", "test", root=tmp_path)


def test_label_count_mismatch(tmp_path):
    X, y = _known(4)
    _write_svhn(tmp_path, "test", X, y[:3])
    with pytest.raises(CorruptFileError, match="y must hold 4 labels"):
        load("svhn", "test", root=tmp_path)


def test_missing_variable(tmp_path):
    X, _ = _known(4)
    (tmp_path / "svhn").mkdir()
    scipy.io.savemat(tmp_path / "svhn" / "test_32x32.mat", {"X": X})
    with pytest.raises(CorruptFileError, match=r"variables y missing; the file holds \[X\]"):
        load("svhn", "test", root=tmp_path)
