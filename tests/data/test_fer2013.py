"""FER-2013: the real Kaggle image release, a csv in the exact Kaggle layout, loose folders."""

import hashlib

import numpy as np
import pytest
import torch
from PIL import Image

from nnlab.data import load
from nnlab.data.loaders.fer2013 import CLASSES
from nnlab.errors import CorruptFileError

#: the Kaggle csv's emotion ids, by the challenge's own description
KAGGLE_IDS = ("angry", "disgusted", "fearful", "happy", "sad", "surprised", "neutral")


def _pixels_sha(s):
    return hashlib.sha256(s.x.numpy().tobytes()).hexdigest()[:16]


# split, archive, N, per-class counts (MANIFEST.md for train and test), pixel checksum
REAL = [
    (
        "train",
        "fer2013/fer2013_train.tar.gz",
        28709,
        [3995, 436, 4097, 7215, 4965, 4830, 3171],
        "5b826ef655cc8ecd",
    ),
    (
        "test",
        "fer2013/fer2013_test.tar.gz",
        7178,
        [958, 111, 1024, 1774, 1233, 1247, 831],
        "a3facd55f9b7a9ac",
    ),
    ("public_test", "fer2013/fer2013_test.tar.gz", 3589, None, "03a4dd67e5fc4d34"),
    ("private_test", "fer2013/fer2013_test.tar.gz", 3589, None, "80e433f33ffcba66"),
]


@pytest.mark.data
@pytest.mark.parametrize("split,needed,n,counts,sha", REAL, ids=[r[0] for r in REAL])
def test_real_image_release(require_data, split, needed, n, counts, sha):
    require_data(needed)
    s = load("fer2013", split)
    assert s.classes == CLASSES and len(s) == n and s.image_shape == (1, 48, 48)
    if counts:
        assert s.class_counts().tolist() == counts
    assert _pixels_sha(s) == sha


@pytest.mark.data
def test_real_test_is_public_then_private(require_data):
    require_data("fer2013/fer2013_test.tar.gz")
    test, public, private = (load("fer2013", s) for s in ("test", "public_test", "private_test"))
    assert torch.equal(test.x, torch.cat([public.x, private.x]))
    assert torch.equal(test.y, torch.cat([public.y, private.y]))


def _write_csv(path, rows):
    """The Kaggle fer2013.csv layout: header, then emotion,pixels,Usage per line."""
    lines = ["emotion,pixels,Usage"]
    lines += [f"{e},{' '.join(map(str, img.ravel()))},{usage}" for e, img, usage in rows]
    path.write_text("\n".join(lines) + "\n")


def test_csv_round_trip_and_emotion_ids(tmp_path):
    rng = np.random.default_rng(0)
    rows = [
        (e, rng.integers(0, 256, (48, 48), dtype=np.uint8), usage)
        for usage in ("Training", "PublicTest", "PrivateTest")
        for e in (6, 4, 0, 1, 2, 3, 5, 6)
    ]
    (tmp_path / "fer2013").mkdir()
    _write_csv(tmp_path / "fer2013" / "fer2013.csv", rows)
    by_usage = {"train": "Training", "public_test": "PublicTest", "private_test": "PrivateTest"}
    for split, usage in by_usage.items():
        s = load("fer2013", split, root=tmp_path)
        mine = [r for r in rows if r[2] == usage]
        assert np.array_equal(s.x[:, 0].numpy(), np.stack([img for _, img, _ in mine]))
        assert [s.classes[i] for i in s.y] == [KAGGLE_IDS[e] for e, _, _ in mine]
    test = load("fer2013", "test", root=tmp_path)
    assert len(test) == 16 and test.classes[int(test.y[0])] == "neutral"


def test_csv_short_row(tmp_path):
    img = np.zeros((48, 48), np.uint8)
    (tmp_path / "fer2013").mkdir()
    _write_csv(
        tmp_path / "fer2013" / "fer2013.csv", [(0, img, "Training"), (1, img[1:], "Training")]
    )
    with pytest.raises(CorruptFileError, match="fer2013.csv.*2304 integers.*row 1"):
        load("fer2013", "train", root=tmp_path)


def test_loose_folders_with_kaggle_names(tmp_path):
    """train/<emotion>/ and test/<emotion>/ as extracted from the Kaggle zip, as PNGs."""
    files = {
        "train/disgust/Training_2.png": 10,
        "train/disgust/Training_1.png": 20,
        "train/surprise/Training_3.png": 30,
        "test/fear/PublicTest_9.png": 40,
        "test/fear/PrivateTest_8.png": 50,
        "test/angry/PrivateTest_7.png": 60,
    }
    for name, value in files.items():
        path = tmp_path / "fer2013" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((48, 48), value, np.uint8)).save(path)
    train = load("fer2013", "train", root=tmp_path)
    assert train.x[:, 0, 0, 0].tolist() == [20, 10, 30]  # class order, then file name
    assert [train.classes[i] for i in train.y] == ["disgusted", "disgusted", "surprised"]
    private = load("fer2013", "private_test", root=tmp_path)
    assert private.x[:, 0, 0, 0].tolist() == [60, 50]
    assert load("fer2013", "test", root=tmp_path).x[:, 0, 0, 0].tolist() == [40, 60, 50]


def test_csv_without_the_wanted_usage(tmp_path):
    """A csv of Training rows only has no test split: say so instead of an empty set."""
    img = np.zeros((48, 48), np.uint8)
    (tmp_path / "fer2013").mkdir()
    _write_csv(tmp_path / "fer2013" / "fer2013.csv", [(0, img, "Training"), (3, img, "Training")])
    assert len(load("fer2013", "train", root=tmp_path)) == 2
    with pytest.raises(
        CorruptFileError, match=r"fer2013.csv: no rows with Usage 'PublicTest'.*values are Training"
    ):
        load("fer2013", "test", root=tmp_path)


def test_csv_cut_off_mid_row(tmp_path):
    img = np.zeros((48, 48), np.uint8)
    (tmp_path / "fer2013").mkdir()
    path = tmp_path / "fer2013" / "fer2013.csv"
    _write_csv(path, [(0, img, "Training"), (3, img, "Training")])
    path.write_text(path.read_text()[:-200])  # the download stopped inside the last pixels
    with pytest.raises(CorruptFileError, match=r"fer2013.csv: line 3 has 2 fields, the header 3"):
        load("fer2013", "train", root=tmp_path)


def test_csv_cache_follows_the_emotion_map(tmp_path, monkeypatch):
    """The cache key holds the loader's constants: a changed id -> class map rebuilds."""
    from nnlab.data.loaders import fer2013

    img = np.zeros((48, 48), np.uint8)
    (tmp_path / "fer2013").mkdir()
    _write_csv(tmp_path / "fer2013" / "fer2013.csv", [(e, img, "Training") for e in range(7)])
    assert load("fer2013", "train", root=tmp_path).y.tolist() == [0, 1, 2, 3, 5, 6, 4]
    monkeypatch.setattr(fer2013, "CSV_EMOTION_TO_CLASS", np.arange(7)[::-1].copy())
    assert load("fer2013", "train", root=tmp_path).y.tolist() == [6, 5, 4, 3, 2, 1, 0]
