"""`folder:PATH` image-folder trees, made of tiny PNGs in tmp_path, and `fit_square`."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from nnlab.data import load
from nnlab.data.loaders.folder import fit_square
from nnlab.errors import (
    ConfigError,
    CorruptFileError,
    MissingDataError,
    NnlabError,
    UnknownNameError,
)


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def _grey(value, shape=(8, 8)):
    return np.full(shape, value, np.uint8)


def test_flat_tree_order_labels_and_pixels(tmp_path):
    rng = np.random.default_rng(0)
    images = {
        "dog/b.png": rng.integers(0, 256, (6, 5), dtype=np.uint8),
        "dog/a.png": rng.integers(0, 256, (6, 5), dtype=np.uint8),
        "cat/z.png": rng.integers(0, 256, (6, 5), dtype=np.uint8),
        "bird/0.PNG": rng.integers(0, 256, (6, 5), dtype=np.uint8),
    }
    for name, a in images.items():
        _png(tmp_path / name, a)
    (tmp_path / "cat" / "notes.txt").write_text("not an image")
    (tmp_path / "cat" / ".hidden.png").write_bytes(b"ignored")
    s = load(f"folder:{tmp_path}")
    assert s.split == "all" and s.classes == ("bird", "cat", "dog") and s.image_shape == (1, 6, 5)
    assert s.y.tolist() == [0, 1, 2, 2] and s.notes == ()
    order = ["bird/0.PNG", "cat/z.png", "dog/a.png", "dog/b.png"]
    assert np.array_equal(s.x[:, 0].numpy(), np.stack([images[k] for k in order]))


def test_rgb_when_any_image_is_colour(tmp_path):
    _png(tmp_path / "a" / "grey.png", _grey(100))
    _png(tmp_path / "b" / "red.png", np.tile(np.array([255, 0, 0], np.uint8), (8, 8, 1)))
    s = load(f"folder:{tmp_path}")
    assert s.image_shape == (3, 8, 8)
    assert s.x[0, :, 0, 0].tolist() == [100, 100, 100] and s.x[1, :, 0, 0].tolist() == [255, 0, 0]


def test_mixed_sizes_are_resized_and_cropped(tmp_path):
    _png(tmp_path / "a" / "1.png", _grey(10, (12, 20)))
    _png(tmp_path / "b" / "2.png", _grey(200, (30, 9)))
    s = load(f"folder:{tmp_path}")
    assert s.image_shape == (1, 9, 9)  # the smallest shorter side
    assert s.x[0].unique().tolist() == [10] and s.x[1].unique().tolist() == [200]
    assert "centre-cropped to 9x9" in s.notes[0]


def test_split_tree(tmp_path):
    for split, names in {
        "train": ["cat/1.png", "cat/2.png", "dog/1.png", "eel/1.png"],
        "valid": ["dog/5.png"],
        "test": ["cat/3.png", "dog/3.png"],
    }.items():
        for i, name in enumerate(names):
            _png(tmp_path / split / name, _grey(10 * i))
    test = load(f"folder:{tmp_path}", "test")
    assert test.classes == ("cat", "dog", "eel") and test.y.tolist() == [0, 1]
    assert len(load(f"folder:{tmp_path}", "valid")) == 1
    assert load(f"folder:{tmp_path}", "all").class_counts().tolist() == [3, 3, 1]
    with pytest.raises(UnknownNameError, match="splits are all, train, valid, test"):
        load(f"folder:{tmp_path}", "holdout")


def test_flat_tree_fixed_80_20_split(tmp_path):
    for c in ("a", "b"):
        for i in range(10):
            _png(tmp_path / c / f"{i}.png", _grey(i + (100 if c == "b" else 0)))
    whole, train, test = (load(f"folder:{tmp_path}", s) for s in ("all", "train", "test"))
    assert train.class_counts().tolist() == [8, 8] and test.class_counts().tolist() == [2, 2]
    values = sorted(train.x[:, 0, 0, 0].tolist() + test.x[:, 0, 0, 0].tolist())
    assert values == sorted(whole.x[:, 0, 0, 0].tolist())
    again = load(f"folder:{tmp_path}", "test", seed=99)  # fixed: not the load seed
    assert torch.equal(again.x, test.x)
    with pytest.raises(UnknownNameError, match="splits are all, train, test"):
        load(f"folder:{tmp_path}", "valid")


def test_missing_path(tmp_path):
    with pytest.raises(MissingDataError, match="nothing-here.*PATH/<class>/<image>"):
        load(f"folder:{tmp_path / 'nothing-here'}")


def test_class_folders_without_images(tmp_path):
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "readme.txt").write_text("no images")
    with pytest.raises(NnlabError, match="no class sub-folders holding images"):
        load(f"folder:{tmp_path}")


def test_fit_square_matches_an_antialiased_reference():
    """Against torch's antialiased bilinear resize, then the same centre crop."""
    rng = np.random.default_rng(0)
    smooth = rng.integers(0, 256, (6, 9, 3)).astype(np.uint8)
    image = np.array(Image.fromarray(smooth).resize((90, 60), Image.Resampling.BICUBIC))
    got = fit_square(image, 24)  # 60x90 -> 24x36 -> crop columns 6..30
    t = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    ref = F.interpolate(t, size=(24, 36), mode="bilinear", antialias=True, align_corners=False)
    ref = ref[0, :, :, 6:30].permute(1, 2, 0).round().clamp(0, 255).numpy()
    assert got.shape == (24, 24, 3) and got.dtype == np.uint8
    assert np.abs(got.astype(float) - ref).mean() < 1.5
    assert fit_square(image[:24, :24], 24) is not None and fit_square(image, 60).shape == (
        60,
        60,
        3,
    )


def test_empty_path_is_refused_not_the_current_folder(tmp_path, monkeypatch):
    _png(tmp_path / "cat" / "1.png", _grey(10))  # a loadable tree in the current folder
    monkeypatch.chdir(tmp_path)
    for name in ("folder:", "folder:  "):
        with pytest.raises(ConfigError, match=r"folder: needs a path: write folder:PATH"):
            load(name)


def test_tiny_flat_tree_split_names_the_set(tmp_path):
    _png(tmp_path / "cat" / "1.png", _grey(10))
    _png(tmp_path / "cat" / "2.png", _grey(20))
    assert len(load(f"folder:{tmp_path}", "all")) == 2
    with pytest.raises(ConfigError, match=rf"'folder:{tmp_path}' \(all\) has 2 images.*test"):
        load(f"folder:{tmp_path}", "test")


def test_exif_orientation_is_applied_before_sizing(tmp_path):
    """A photo stored sideways with an EXIF tag loads upright, the size of the other image."""
    stored = np.zeros((16, 32), np.uint8)  # 32 wide x 16 high: left half black, right white
    stored[:, 16:] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # the viewer turns it 90 degrees clockwise: 16 wide x 32 high
    path = tmp_path / "a" / "turned.png"
    path.parent.mkdir()
    Image.fromarray(stored).save(path, exif=exif)
    _png(tmp_path / "b" / "upright.png", _grey(100, (32, 16)))
    s = load(f"folder:{tmp_path}")
    assert s.image_shape == (1, 32, 16) and s.notes == ()  # no resize: both are 32 x 16 upright
    turned = s.x[0, 0].numpy()
    assert (turned[:16] == 0).all() and (turned[16:] == 255).all()  # the black half on top


def test_16_bit_grey_keeps_its_top_byte(tmp_path):
    """PIL's own conversion would clip every 16-bit value above 255 to white."""
    values = np.array([[0, 255, 256, 300, 32768, 65535]], np.uint16)
    path = tmp_path / "a" / "wide.png"
    path.parent.mkdir()
    Image.fromarray(values).save(path)
    assert Image.open(path).mode == "I;16"
    s = load(f"folder:{tmp_path}")
    assert s.image_shape == (1, 1, 6)
    assert s.x[0, 0, 0].tolist() == [0, 0, 1, 1, 128, 255]


def test_grey_images_in_an_rgb_tree_become_rgb(tmp_path):
    _png(tmp_path / "a" / "grey.png", _grey(77))
    _png(tmp_path / "b" / "rgba.png", np.full((8, 8, 4), (10, 20, 30, 0), np.uint8))
    s = load(f"folder:{tmp_path}")
    assert s.image_shape == (3, 8, 8)
    # grey replicated; a transparent pixel composited on white
    assert s.x[0, :, 0, 0].tolist() == [77] * 3 and s.x[1, :, 0, 0].tolist() == [255] * 3


def test_split_tree_parts_are_slices_of_the_whole(tmp_path):
    names = {"train": ["b/2.png", "a/1.png", "a/3.png"], "test": ["a/9.png", "b/0.png"]}
    for split, files in names.items():
        for name in files:
            _png(tmp_path / split / name, _grey(int(name[2]) * 10 + (split == "test")))
    whole = load(f"folder:{tmp_path}", "all")
    assert whole.x[:, 0, 0, 0].tolist() == [10, 30, 20, 91, 1]  # train then test, by class, name
    for split, values in (("train", [10, 30, 20]), ("test", [91, 1])):
        s = load(f"folder:{tmp_path}", split)
        assert s.split == split and s.x[:, 0, 0, 0].tolist() == values


def test_unreadable_file_is_named(tmp_path):
    _png(tmp_path / "a" / "1.png", _grey(10))
    (tmp_path / "a" / "folder.png").mkdir()  # a folder with an image's name
    with pytest.raises(CorruptFileError, match=r"folder.png: cannot read it \(Is a directory\)"):
        load(f"folder:{tmp_path}")


def test_undecodable_file_is_named(tmp_path):
    _png(tmp_path / "a" / "1.png", _grey(10))
    (tmp_path / "a" / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(CorruptFileError, match=r"2.png: cannot decode the image"):
        load(f"folder:{tmp_path}")
