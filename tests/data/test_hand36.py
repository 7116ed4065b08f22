"""hand36: EMNIST letters + MNIST digits put through one normalisation into NIST36's look."""

import json
import string
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from nnlab.data import load
from nnlab.data.formats.idx import find_idx, read_idx
from nnlab.data.loaders import hand36
from nnlab.errors import MissingDataError

SOURCES = (
    "emnist/emnist-letters-test-images-idx3-ubyte.gz",
    "emnist/emnist-letters-test-labels-idx1-ubyte.gz",
    "mnist/t10k-images-idx3-ubyte.gz",
    "mnist/t10k-labels-idx1-ubyte.gz",
)
TRAIN_SOURCES = (
    "emnist/emnist-letters-train-images-idx3-ubyte.gz",
    "emnist/emnist-letters-train-labels-idx1-ubyte.gz",
    "mnist/train-images-idx3-ubyte.gz",
    "mnist/train-labels-idx1-ubyte.gz",
)

# ---- style statistics, written here independently of the loader (NumPy, ink = 1)

#: how far the letter and digit halves may differ: box fill fraction and centre of mass (as
#: fractions of the image side) absolutely, mean ink relatively, and the mean longest side of
#: the ink box by one pixel of 32
TOLERANCE = {"fill": 0.03, "com_y": 0.025, "com_x": 0.025, "mean_ink": 0.10, "box": 1 / 32}


def style(ink: np.ndarray) -> dict[str, float]:
    """Style statistics of images `ink` [N, H, W] in [0, 1] (1 = ink)."""
    n, h, w = ink.shape
    mask = ink > 0.5
    rows, cols = mask.any(2), mask.any(1)
    top, bottom = rows.argmax(1), h - 1 - rows[:, ::-1].argmax(1)
    left, right = cols.argmax(1), w - 1 - cols[:, ::-1].argmax(1)
    height, width = bottom - top + 1, right - left + 1
    mass = ink.sum((1, 2))
    return {
        "fill": float((mask.sum((1, 2)) / (height * width)).mean()),
        "com_y": float(((ink.sum(2) * (np.arange(h) + 0.5)).sum(1) / mass).mean() / h),
        "com_x": float(((ink.sum(1) * (np.arange(w) + 0.5)).sum(1) / mass).mean() / w),
        "mean_ink": float(ink.mean()),
        "box": float(np.maximum(height, width).mean()) / h,
    }


def differences(a: dict, b: dict) -> dict[str, float]:
    """|a - b| per statistic, mean ink relative to the pair's mean."""
    d = {k: abs(a[k] - b[k]) for k in a}
    d["mean_ink"] /= (a["mean_ink"] + b["mean_ink"]) / 2
    return d


def outside(d: dict) -> list[str]:
    return [k for k, v in d.items() if v > TOLERANCE[k]]


def _dark_on_light(x: torch.Tensor) -> np.ndarray:
    return 1 - x[:, 0].double().numpy() / 255


# ---- the real build


@pytest.fixture
def built(require_data):
    """(data root, hand36 test split); built once per session, then read from the tensor cache."""
    root = require_data(*SOURCES)
    return root, load("hand36", "test")


@pytest.mark.data
def test_classes_counts_shape(built):
    _, s = built
    assert s.classes == tuple(string.ascii_uppercase + string.digits)
    assert len(s) == 36 * 800 and s.class_counts().tolist() == [800] * 36
    assert s.x.dtype == torch.uint8 and s.image_shape == (1, 32, 32)
    # NIST36's polarity: white background (every corner pixel 255), dark ink
    assert (s.x[:, 0, [0, 0, -1, -1], [0, -1, 0, -1]] == 255).all()
    assert int(s.x.min()) == 0


# ---- the built splits against references made on one machine (tests/data/reference)
#
# hand36 is computed in floating point (resampling, blur, thresholds): another CPU, or another
# BLAS code path on this one, may move a pixel by a grey level. So the splits are compared with
# reference images and a per-class style table within tolerances, never with a hash.

REFERENCE = Path(__file__).parent / "reference"
#: the splits whose per-class style is in the reference table (train's 144k images would take a
#: gigabyte of float64 to measure; its reference images and counts cover it)
PER_CLASS_STATS_SPLITS = ("valid", "test")
#: per-class statistics may move this much from the reference (same units as TOLERANCE); a
#: change of BOX by one pixel moves `box` by 1/32, of STROKE by 0.2 px mean ink by about 6 %
REFERENCE_TOLERANCE = {"fill": 0.005, "com_y": 0.002, "com_x": 0.002, "mean_ink": 0.01, "box": 0.01}
SPLITS = [("train", 144_000), ("valid", 28_800), ("test", 28_800)]


def reference_indices(split: str) -> list[int]:
    """The images of a split kept as references: the first and the middle one of each class."""
    per = hand36.PER_CLASS[split]
    return [c * per + k for c in range(36) for k in (0, per // 2)]


def split_style(s) -> dict[str, dict[str, float]]:
    """`style` of each class of a split, class name -> statistics, rounded to 6 digits."""
    return {
        name: {k: round(v, 6) for k, v in style(_dark_on_light(s.x[s.y == c])).items()}
        for c, name in enumerate(s.classes)
    }


@pytest.mark.data
@pytest.mark.parametrize("split,n", SPLITS, ids=[s[0] for s in SPLITS])
def test_split_matches_reference(require_data, split, n):
    """Counts exactly; reference images within one grey level on nearly all pixels; style."""
    require_data(*(SOURCES if split == "test" else TRAIN_SOURCES))
    s = load("hand36", split)
    assert len(s) == n and s.class_counts().tolist() == [n // 36] * 36
    picks = reference_indices(split)
    expected = np.asarray(Image.open(REFERENCE / f"hand36-{split}.png")).reshape(-1, 32, 32)
    got = s.x[picks, 0].numpy()
    off = np.abs(got.astype(int) - expected) > 1
    assert off.mean() <= 1e-3, f"{off.sum()} of {off.size} pixels differ by more than 1"
    # every reference image still shows its character: no image is more than 2 % changed
    assert off.reshape(len(picks), -1).mean(1).max() <= 0.02
    if split in PER_CLASS_STATS_SPLITS:
        table = json.loads((REFERENCE / "hand36-style.json").read_text())[split]
        ours = split_style(s)
        far = {
            c: [k for k, v in differences(table[c], ours[c]).items() if v > REFERENCE_TOLERANCE[k]]
            for c in s.classes
        }
        assert not any(far.values()), {c: (table[c], ours[c]) for c, k in far.items() if k}


@pytest.mark.data
def test_images_belong_to_their_labels(built):
    """Image k is the normalised source image its label came from (letters first, then digits)."""
    root, s = built
    letters, digits = load("emnist-letters", "test", root=root), load("mnist", "test", root=root)
    keep_l = hand36.select(letters.y, 26, 800, 0)
    keep_d = hand36.select(digits.y, 10, 800, 0)
    # normalised alone rather than in a batch of 1024: BLAS may block the products otherwise,
    # so a pixel may move by a grey level
    for k in (0, 5000, 20799):
        assert s.y[k] == letters.y[keep_l[k]]
        _assert_close_images(s.x[k], hand36.normalise(letters.x[keep_l[k]][None])[0])
    for k in (0, 3333, 7999):
        assert s.y[20800 + k] == digits.y[keep_d[k]] + 26
        _assert_close_images(s.x[20800 + k], hand36.normalise(digits.x[keep_d[k]][None])[0])


def _assert_close_images(a: torch.Tensor, b: torch.Tensor) -> None:
    """Within one grey level on all but 1 % of the pixels."""
    off = (a.int() - b.int()).abs() > 1
    assert off.float().mean() <= 0.01, f"{int(off.sum())} pixels differ by more than 1"


@pytest.mark.data
def test_deterministic(built, monkeypatch):
    root, s = built
    monkeypatch.setenv("NNLAB_CACHE", "off")
    again = load("hand36", "test", root=root)
    assert torch.equal(again.x, s.x) and torch.equal(again.y, s.y)


@pytest.mark.data
def test_letters_and_digits_share_one_style(built):
    root, s = built
    ink = _dark_on_light(s.x)
    normalised = differences(style(ink[s.y < 26]), style(ink[s.y >= 26]))
    assert outside(normalised) == [], normalised
    # Without the normalisation the two publishers' styles differ beyond the same tolerance:
    # MNIST's digits are smaller (20 px box) and thinner, so they carry a quarter less ink.
    raw_letters = load("emnist-letters", "test", root=root).x[:, 0].double().numpy() / 255
    raw_digits = load("mnist", "test", root=root).x[:, 0].double().numpy() / 255
    raw = differences(style(raw_letters), style(raw_digits))
    assert {"mean_ink", "box"} <= set(outside(raw)), raw


@pytest.mark.data
def test_letters_look_like_nist26(built, require_data):
    require_data("nist26/nist26_valid.mat")
    _, s = built
    nist = style(_dark_on_light(load("nist26", "valid").x))
    ours = style(_dark_on_light(s.x[s.y < 26]))
    assert outside(differences(nist, ours)) == [], (nist, ours)


@pytest.mark.data
def test_train_and_valid_do_not_overlap(require_data):
    root = require_data("emnist/emnist-letters-train-labels-idx1-ubyte.gz")
    require_data("mnist/train-labels-idx1-ubyte.gz")
    for labels, k in [
        (read_idx(find_idx(root / "emnist", "emnist-letters-train-labels-idx1-ubyte")) - 1, 26),
        (read_idx(find_idx(root / "mnist", "train-labels-idx1-ubyte")), 10),
    ]:
        y = torch.from_numpy(labels.astype(np.int64))
        train = hand36.select(y, k, hand36.PER_CLASS["train"], 0)
        valid = hand36.select(y, k, hand36.PER_CLASS["valid"], hand36.PER_CLASS["train"])
        assert torch.bincount(y[train]).tolist() == [4000] * k
        assert torch.bincount(y[valid]).tolist() == [800] * k
        assert len(np.intersect1d(train.numpy(), valid.numpy())) == 0


# ---- the normalisation on drawn characters (no data needed)


def _draw_e(box: float, stroke: float, top: float, left: float) -> torch.Tensor:
    """An 'E' `box` px tall with `stroke` px bars at (top, left), white on black, uint8 [28, 28].

    Drawn at 8x resolution and averaged down, so edges are anti-aliased like scanned ink.
    """
    k = 8
    yy, xx = np.mgrid[: 28 * k, : 28 * k] / k
    y, x = yy - top, xx - left
    inside = (y >= 0) & (y < box) & (x >= 0) & (x < 0.7 * box)
    bars = (x < stroke) | (y < stroke) | (y >= box - stroke) | (abs(y - box / 2) < stroke / 2)
    fine = (inside & bars).astype(np.float64)
    coarse = fine.reshape(28, k, 28, k).mean((1, 3))
    return torch.from_numpy(np.rint(coarse * 255).astype(np.uint8))


def test_one_normalisation_removes_size_position_and_weight():
    # the same 'E' in MNIST's style (20 px box, light) and EMNIST's (24 px box, heavy), each at
    # four sub-pixel positions: the integer ink box jitters by up to a source pixel
    shifts = (0.0, 0.3, 0.5, 0.8)
    light = torch.stack([_draw_e(20, 2.2, 4 + d, 6 + d) for d in shifts])
    heavy = torch.stack([_draw_e(24, 3.6, 1 + d, 3 + d) for d in shifts])
    raw = torch.cat([light, heavy]).double().numpy() / 255
    out = _dark_on_light(hand36.normalise(torch.cat([light, heavy])[:, None]))
    assert outside(differences(style(out[:4]), style(out[4:]))) == []
    assert {"box", "mean_ink"} <= set(outside(differences(style(raw[:4]), style(raw[4:]))))
    # the same picture: ink masks overlap almost entirely
    a, b = out[0] > 0.5, out[4] > 0.5
    assert (a & b).sum() / (a | b).sum() > 0.8
    # NIST's geometry: ink box longest side 25 +- 1.5 px, centred within a pixel
    for img in out:
        rows, cols = np.nonzero(img > 0.5)
        assert 23.5 <= rows.max() - rows.min() + 1 <= 26.5
        assert abs((rows.min() + rows.max() + 1) / 2 - 16) <= 1
        assert abs((cols.min() + cols.max() + 1) / 2 - 16) <= 1


def test_blank_image_stays_blank():
    out = hand36.normalise(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    assert out.shape == (2, 1, 32, 32) and (out == 255).all()


def test_missing_sources(tmp_path):
    (tmp_path / "mnist").mkdir()
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte").write_bytes(b"")
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte").write_bytes(b"")
    with pytest.raises(MissingDataError, match=r"emnist/emnist-letters-test-images.*fetch hand36"):
        load("hand36", "test", root=tmp_path)


#: one change to each constant in hand36's cache key
CHANGES = [
    ("SIDE", 28),
    ("BOX", 25),
    ("STROKE", 3.0),
    ("BLUR_SIGMA", 0.9),
    ("EDGE", 0.4),
    ("INK", 0.4),
    ("PER_CLASS", {"train": 4000, "valid": 800, "test": 700}),
    ("SPLIT_SEED", 1),
    ("_NEWTON_STEPS", 2),
    ("_LEVEL_RANGE", (0.1, 0.8)),
    ("_SOURCE_SPLIT", {"train": ("train", 0), "valid": ("train", 4000), "test": ("test", 1)}),
    ("NIST36_CLASSES", tuple(string.digits + string.ascii_uppercase)),
]


@pytest.mark.parametrize("attribute,value", CHANGES, ids=[c[0] for c in CHANGES])
def test_every_setting_is_in_the_cache_key(tmp_path, monkeypatch, attribute, value):
    """Changing a constant that shapes the images rebuilds the split, not the cached bytes."""
    assert len(CHANGES) == len(hand36._settings())  # every setting has its case here
    for name in SOURCES:  # stand-ins: the cache reads only their path, size and mtime
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    builds = []

    def build(root, split):
        builds.append(split)
        x, y = torch.zeros(1, 1, 32, 32, dtype=torch.uint8), torch.zeros(1, dtype=torch.int64)
        return hand36.ImageSet(x, y, hand36.NIST36_CLASSES, "hand36", split)

    monkeypatch.setattr(hand36, "_build", build)
    load("hand36", "test", root=tmp_path)
    load("hand36", "test", root=tmp_path)
    assert builds == ["test"]
    monkeypatch.setattr(hand36, attribute, value)
    load("hand36", "test", root=tmp_path)
    assert builds == ["test", "test"]
