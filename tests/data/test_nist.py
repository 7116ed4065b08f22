"""NIST36 / NIST26 (.mat) loaders: the real nist26_valid.mat, and files written in the layout."""

import hashlib
import string

import numpy as np
import pytest
import scipy.io

from nnlab.data import load
from nnlab.data.formats.mat import read_mat
from nnlab.errors import CorruptFileError, MissingDataError

SIDE = 32


def _ink_corners(mean_ink):
    """(left, right, top, bottom) mean ink of the outer quarter strips of a 32x32 image."""
    q = SIDE // 4
    return (
        mean_ink[:, :q].mean(),
        mean_ink[:, -q:].mean(),
        mean_ink[:q].mean(),
        mean_ink[-q:].mean(),
    )


def _looks_like_upright_L(mean_ink):
    """An upright, unmirrored 'L' has more ink left than right and at the bottom than the top."""
    left, right, top, bottom = _ink_corners(mean_ink)
    return left > 1.5 * right and bottom > 2 * top


@pytest.mark.data
def test_real_nist26_valid(require_data):
    require_data("nist26/nist26_valid.mat")
    s = load("nist26", "valid")
    assert len(s) == 1300 and s.image_shape == (1, 32, 32)
    assert s.classes == tuple(string.ascii_uppercase)
    assert s.class_counts().tolist() == [50] * 26
    # white background: most pixels are 255, strokes reach 0
    assert int(s.x.min()) == 0 and int(s.x.max()) == 255 and float(s.x.float().mean()) > 200
    assert hashlib.sha256(s.x.numpy().tobytes()).hexdigest()[:16] == "7a7aa07268c6421a"
    assert hashlib.sha256(s.y.numpy().tobytes()).hexdigest()[:16] == "9bd9f921813a8d4c"


@pytest.mark.data
def test_real_nist26_is_upright(require_data):
    require_data("nist26/nist26_valid.mat")
    s = load("nist26", "valid")
    mean_ink = (255 - s.x[s.y == s.classes.index("L")].double()).mean(0)[0].numpy()
    assert _looks_like_upright_L(mean_ink)
    # the check has teeth: the transposed (row-by-row reshape) and mirrored images fail it
    assert not _looks_like_upright_L(mean_ink.T)
    assert not _looks_like_upright_L(mean_ink[:, ::-1])


# ---- files written in the published layout


def _write_nist(folder, name, split, images, labels, num_classes, **extra):
    """Save like the course files: float64 rows flattened column-major, uint8 one-hot labels."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = np.stack([im.flatten(order="F") for im in images]).astype(np.float64)  # MATLAB order
    onehot = np.zeros((len(labels), num_classes), np.uint8)
    onehot[np.arange(len(labels)), labels] = 1
    contents = {f"{split}_data": rows, f"{split}_labels": onehot, **extra}
    scipy.io.savemat(folder / f"{name}_{split}.mat", contents)
    return folder / f"{name}_{split}.mat"


def _images(n, seed=0):
    """Known images [n, 32, 32] (row, column), about [0, 1] and a little outside, like real data."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(-0.15, 1.15, (n, SIDE, SIDE))
    images[0] = 1.0  # an 'L' of dark ink on white: left column and bottom row
    images[0, 4:28, 6:10] = 0.0
    images[0, 24:28, 6:24] = 0.0
    return images


def _expected(images):
    return np.rint(np.clip(images, 0, 1) * 255).astype(np.uint8)


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_written_nist36_reads_back_exactly(tmp_path, split):
    images = _images(40)
    labels = np.arange(40) % 36
    _write_nist(tmp_path / "nist36", "nist36", split, images, labels, 36)
    s = load("nist36", split, root=tmp_path)
    assert s.classes[:3] == ("A", "B", "C") and s.classes[26:] == tuple(string.digits)
    assert s.x.shape == (40, 1, 32, 32) and s.split == split
    np.testing.assert_array_equal(s.x[:, 0].numpy(), _expected(images))
    assert s.y.tolist() == labels.tolist()
    assert _looks_like_upright_L(255.0 - s.x[0, 0].numpy())


def test_rounding_and_clipping(tmp_path):
    images = np.full((1, SIDE, SIDE), 0.5)
    images[0, 0, :4] = (-0.14, 1.12, 0.2, 0.998)
    _write_nist(tmp_path / "nist26", "nist26", "test", images, np.array([3]), 26)
    x = load("nist26", "test", root=tmp_path).x[0, 0]
    assert x[0, :4].tolist() == [0, 255, 51, 254] and int(x[5, 5]) == 128


def test_missing_split_file(tmp_path):
    _write_nist(tmp_path / "nist36", "nist36", "valid", _images(2), np.array([0, 1]), 36)
    with pytest.raises(MissingDataError, match=r"nist36_train\.mat not found.*nist36"):
        load("nist36", "train", root=tmp_path)


def test_missing_keys(tmp_path):
    path = tmp_path / "nist36" / "nist36_test.mat"
    path.parent.mkdir()
    scipy.io.savemat(path, {"test_data": np.zeros((2, 1024)), "labels": np.eye(2, 36)})
    with pytest.raises(CorruptFileError) as err:
        load("nist36", "test", root=tmp_path)
    message = str(err.value)
    assert "nist36_test.mat" in message and "test_labels" in message
    assert "[labels, test_data]" in message  # what the file holds


def test_not_one_hot(tmp_path):
    path = _write_nist(tmp_path / "nist36", "nist36", "test", _images(3), np.array([0, 1, 2]), 36)
    mat = scipy.io.loadmat(path)
    mat["test_labels"][1, 5] = 1  # row 1 now has two ones
    scipy.io.savemat(path, {k: v for k, v in mat.items() if not k.startswith("__")})
    with pytest.raises(CorruptFileError, match=r"nist36_test\.mat: label row 1 is not one-hot"):
        load("nist36", "test", root=tmp_path)


def test_wrong_number_of_classes(tmp_path):
    # a nist26 file put where nist36 belongs
    _write_nist(tmp_path / "nist36", "nist36", "test", _images(2), np.array([0, 1]), 26)
    with pytest.raises(CorruptFileError, match=r"one-hot \(N, 36\), got \(2, 26\)"):
        load("nist36", "test", root=tmp_path)


def test_truncated_and_garbage_files(tmp_path):
    path = _write_nist(tmp_path / "nist36", "nist36", "test", _images(20), np.arange(20), 36)
    data = path.read_bytes()
    for cut in (data[: len(data) // 2], data[:100], b"not a mat file" * 20):
        path.write_bytes(cut)
        with pytest.raises(CorruptFileError, match=r"nist36_test\.mat"):
            load("nist36", "test", root=tmp_path)


def test_matlab_v73_file(tmp_path):
    # v7.3 files are HDF5 with a MATLAB text header whose version field (bytes 124-125) is 0x0200
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 .".ljust(116, b" ")
    path = tmp_path / "v73.mat"
    path.write_bytes(header + bytes(8) + b"\x00\x02IM" + bytes(512))
    with pytest.raises(CorruptFileError, match=r"v73\.mat: MATLAB v7\.3 file.*re-save it as v5"):
        read_mat(path, ("X",))


def test_read_mat_absent_file(tmp_path):
    with pytest.raises(MissingDataError, match="nope.mat"):
        read_mat(tmp_path / "nope.mat", ("X",))
