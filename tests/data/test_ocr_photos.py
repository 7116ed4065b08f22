"""The OCR photos with their ground truth: the four real HW5 photos, and EXIF orientation."""

import numpy as np
import pytest
from PIL import Image

from nnlab.data.loaders.ocr_photos import load_ocr_photos
from nnlab.errors import CorruptFileError, MissingDataError

# name, (height, width) from MANIFEST.md's width x height, first line of the ground truth
REAL = [
    ("01_list", (1631, 2270), "TO DO LIST", 8),
    ("02_letters", (1712, 2743), "ABCDEFG", 5),
    ("03_haiku", (880, 3753), "HAIKUS ARE EASY", 3),
    ("04_deep", (3024, 4032), "DEEP LEARNING", 3),
]


@pytest.mark.data
def test_real_photos(require_data):
    root = require_data(*(f"ocr-photos/{name}.jpg" for name, *_ in REAL))
    photos = load_ocr_photos(root)
    assert [p.name for p in photos] == [name for name, *_ in REAL]
    for photo, (_, hw, first, n_lines) in zip(photos, REAL, strict=True):
        assert photo.image.shape == (*hw, 3) and photo.image.dtype == np.uint8
        assert photo.text.split("\n")[0] == first and len(photo.text.split("\n")) == n_lines
    # paper is light, ink is dark: a photo that decoded to noise or black would not be
    assert all(100 < p.image.mean() < 250 for p in photos)


def test_exif_orientation_and_text(tmp_path):
    folder = tmp_path / "ocr-photos"
    folder.mkdir()
    # stored 32 wide x 16 high: left half black, right half white
    stored = np.zeros((16, 32, 3), np.uint8)
    stored[:, 16:] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation 6: the viewer turns it 90 degrees clockwise
    Image.fromarray(stored).save(folder / "a_turned.jpg", exif=exif, quality=95)
    Image.fromarray(stored).save(folder / "b_plain.png")
    (folder / "a_turned.txt").write_text("HELLO  \nWORLD\n\n")
    turned, plain = load_ocr_photos(tmp_path)
    assert turned.image.shape == (32, 16, 3) and plain.image.shape == (16, 32, 3)
    # turned clockwise, the black left half is now on top
    assert turned.image[:12].mean() < 30 and turned.image[-12:].mean() > 225
    assert turned.text == "HELLO\nWORLD" and plain.text is None


def test_missing_folder(tmp_path):
    with pytest.raises(MissingDataError, match="ocr-photos"):
        load_ocr_photos(tmp_path)


def test_undecodable_photo_is_named(tmp_path):
    folder = tmp_path / "ocr-photos"
    folder.mkdir()
    (folder / "bad.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(CorruptFileError, match=r"bad.jpg: cannot decode the image"):
        load_ocr_photos(tmp_path)
