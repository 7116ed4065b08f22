"""Oxford Flowers-17: the real 17flowers.tgz, and a loose jpg/ folder of small stand-ins."""

import hashlib

import numpy as np
import pytest
from PIL import Image

from nnlab.data import load
from nnlab.data.loaders import flowers17
from nnlab.errors import CorruptFileError


def _pixels_sha(s):
    return hashlib.sha256(s.x.numpy().tobytes()).hexdigest()[:16]


@pytest.mark.data
def test_real_archive(require_data):
    require_data("flowers17/17flowers.tgz")
    whole = load("flowers17", "all")
    assert len(whole) == 1360 and whole.image_shape == (3, 256, 256)
    assert whole.class_counts().tolist() == [80] * 17
    assert whole.classes[0] == "daffodil" and whole.classes[-1] == "pansy"
    assert whole.y[:81].tolist() == [0] * 80 + [1]  # class = (index - 1) // 80
    assert _pixels_sha(whole) == "5f25bb5ab02ea6ba"
    rows = {hashlib.sha1(r).digest() for r in whole.x.flatten(1).numpy()}
    seen = set()
    for split, n, sha in [
        ("train", 40, "40fbb18e6780aec0"),
        ("valid", 20, "a688f7c0368cc3ba"),
        ("test", 20, "c55cec2f76c9721f"),
    ]:
        s = load("flowers17", split)
        assert s.split == split and s.class_counts().tolist() == [n] * 17
        assert _pixels_sha(s) == sha
        seen |= {hashlib.sha1(r).digest() for r in s.x.flatten(1).numpy()}
    assert seen == rows  # the three splits partition the 1360 photos


def _write_jpg_folder(root, sizes=((24, 20), (20, 30))):
    """1360 small JPEGs whose colour encodes their index; alternate sizes (W, H)."""
    folder = root / "flowers17" / "jpg"
    folder.mkdir(parents=True)
    for i in range(1, 1361):
        size = sizes[i % len(sizes)]
        Image.new("RGB", size, (i % 256, i // 256 * 40, 128)).save(folder / f"image_{i:04d}.jpg")
    (folder / "files.txt").write_text("\n".join(f"image_{i:04d}.jpg" for i in range(1, 1361)))
    return folder


def test_loose_jpg_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(flowers17, "SIZE", 16)
    folder = _write_jpg_folder(tmp_path)
    whole = load("flowers17", "all", root=tmp_path)
    assert whole.image_shape == (3, 16, 16) and whole.class_counts().tolist() == [80] * 17
    # index order: the red channel of image i is i % 256 (JPEG is lossy on flat colour by <= 2)
    red = whole.x[:, 0, 8, 8].numpy().astype(int)
    assert np.abs(red - np.arange(1, 1361) % 256).max() <= 2
    assert "centre-cropped to 16x16" in whole.notes[0]
    # SIZE is in the cache key: a new size decodes again instead of serving the 16 px set
    monkeypatch.setattr(flowers17, "SIZE", 8)
    assert load("flowers17", "all", root=tmp_path).image_shape == (3, 8, 8)
    (folder / "image_0500.jpg").unlink()
    with pytest.raises(CorruptFileError, match=r"image_0001.jpg .. image_1360.jpg.*\[500\]"):
        load("flowers17", "all", root=tmp_path)
