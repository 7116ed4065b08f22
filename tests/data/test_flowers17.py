"""Oxford Flowers-17: the real 17flowers.tgz, and a loose jpg/ folder of small stand-ins."""

import hashlib
import io
import tarfile
from pathlib import PurePosixPath

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from nnlab.data import load
from nnlab.data.loaders import flowers17
from nnlab.errors import CorruptFileError

#: per split, the mean of each channel in [0, 1], measured on the real archive: photos are
#: resampled in floating point, so their pixels are compared within tolerances, never hashed
CHANNEL_MEANS = {
    "train": (0.44480, 0.43799, 0.29048),
    "valid": (0.44243, 0.44028, 0.28930),
    "test": (0.43946, 0.43697, 0.28307),
}


@pytest.mark.data
def test_real_archive(require_data):
    root = require_data("flowers17/17flowers.tgz")
    whole = load("flowers17", "all")
    assert len(whole) == 1360 and whole.image_shape == (3, 256, 256)
    assert whole.class_counts().tolist() == [80] * 17
    assert whole.classes[0] == "daffodil" and whole.classes[-1] == "pansy"
    assert whole.y[:81].tolist() == [0] * 80 + [1]  # class = (index - 1) // 80
    with tarfile.open(root / "flowers17" / "17flowers.tgz") as tar:
        members = {PurePosixPath(m.name).name: m for m in tar.getmembers()}
        for i in (1, 500, 1360):  # image_0001.jpg is the first photo, in index order
            data = tar.extractfile(members[f"image_{i:04d}.jpg"]).read()
            _assert_close(whole.x[i - 1], _reference_fit(data, 256))
    rows = {hashlib.sha1(r).digest() for r in whole.x.flatten(1).numpy()}
    seen = set()
    for split, n in [("train", 40), ("valid", 20), ("test", 20)]:
        s = load("flowers17", split)
        assert s.split == split and s.class_counts().tolist() == [n] * 17
        mean = s.x.sum((0, 2, 3), dtype=torch.int64) / (len(s) * 256 * 256 * 255)
        np.testing.assert_allclose(mean.tolist(), CHANNEL_MEANS[split], atol=2e-4)
        seen |= {hashlib.sha1(r).digest() for r in s.x.flatten(1).numpy()}
    assert seen == rows  # the three splits partition the 1360 photos


def _reference_fit(data: bytes, size: int) -> torch.Tensor:
    """The photo resized (shorter side `size`) and centre-cropped by torch's own antialiased
    bilinear resampling: an implementation independent of the loader's (PIL's)."""
    image = np.array(Image.open(io.BytesIO(data)).convert("RGB"))  # [H, W, 3]
    h, w, _ = image.shape
    new_h, new_w = max(size, round(h * size / min(h, w))), max(size, round(w * size / min(h, w)))
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", antialias=True)[0]
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return x[:, top : top + size, left : left + size].round().clamp(0, 255).to(torch.uint8)


def _assert_close(a: torch.Tensor, b: torch.Tensor) -> None:
    """Within 2 grey levels on all but 0.1 % of the values."""
    off = (a.int() - b.int()).abs() > 2
    assert off.float().mean() <= 1e-3, f"{int(off.sum())} values differ by more than 2"


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
