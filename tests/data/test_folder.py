"""`folder:PATH` image-folder trees, made of tiny PNGs in tmp_path, and `fit_square`."""

import os
import subprocess
import sys

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

#: the note every folder:PATH set carries, at the default bound
BOUND_NOTE = "folder:{}: photos decoded at most 512 px on their longer side."


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
    assert s.y.tolist() == [0, 1, 2, 2] and s.notes == (BOUND_NOTE.format(tmp_path),)
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
    assert "centre-cropped to 9x9" in s.notes[-1]


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
    assert s.image_shape == (1, 32, 16) and len(s.notes) == 1  # no resize: both are 32 x 16 upright
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


def test_unreadable_file_is_named_when_strict(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_FOLDER_STRICT", "1")
    _png(tmp_path / "a" / "1.png", _grey(10))
    (tmp_path / "a" / "folder.png").mkdir()  # a folder with an image's name
    with pytest.raises(CorruptFileError, match=r"folder.png: cannot read it \(Is a directory\)"):
        load(f"folder:{tmp_path}")


def test_undecodable_file_is_named_when_strict(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_FOLDER_STRICT", "1")
    _png(tmp_path / "a" / "1.png", _grey(10))
    (tmp_path / "a" / "2.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(CorruptFileError, match=r"2.png: cannot decode the image"):
        load(f"folder:{tmp_path}")


def test_bad_files_are_skipped_counted_and_named(tmp_path):
    for i in range(4):
        _png(tmp_path / "a" / f"{i}.png", _grey(10 + i))
        _png(tmp_path / "b" / f"{i}.png", _grey(100 + i))
    good = (tmp_path / "a" / "0.png").read_bytes()
    (tmp_path / "a" / "1.png").write_bytes(good[: len(good) // 2])  # truncated
    (tmp_path / "b" / "9.jpg").write_bytes(bytes(range(256)) * 4)  # random bytes
    (tmp_path / "b" / "folder.png").mkdir()
    s = load(f"folder:{tmp_path}")
    assert len(s) == 7 and s.y.tolist() == [0, 0, 0, 1, 1, 1, 1]
    assert s.x[:, 0, 0, 0].tolist() == [10, 12, 13, 100, 101, 102, 103]  # the right ones kept
    (note,) = [n for n in s.notes if "unreadable" in n]
    assert "skipped 3 unreadable image file(s) of 10" in note
    assert "1.png" in note and "9.jpg" in note and "folder.png" in note
    # a split tree's splits are counted separately: a skipped train file shifts no test image
    for split, value in [("train", 1), ("test", 2)]:
        for i in range(3):
            _png(tmp_path / "split" / split / "c" / f"{i}.png", _grey(value * 50 + i))
    (tmp_path / "split" / "train" / "c" / "0.png").write_bytes(b"broken")
    train, test = (
        load(f"folder:{tmp_path / 'split'}", "train"),
        load(f"folder:{tmp_path / 'split'}", "test"),
    )
    assert train.x[:, 0, 0, 0].tolist() == [51, 52]
    assert test.x[:, 0, 0, 0].tolist() == [100, 101, 102]


def test_no_readable_file_is_an_error(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "1.png").write_bytes(b"broken")
    (tmp_path / "a" / "2.jpg").write_bytes(b"")
    with pytest.raises(CorruptFileError, match=r"none of its 2 images could be read.*1.png"):
        load(f"folder:{tmp_path}")


def _photo(path, width, height, seed):
    """A smooth colour photo stand-in (gradients and a blob), saved as a high-quality JPEG."""
    yy, xx = np.mgrid[:height, :width] / max(width, height)
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.2, 0.8, 2)
    rgb = np.stack([xx, yy, np.exp(-((xx - a) ** 2 + (yy - b) ** 2) * 20)], axis=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((rgb * 255).astype(np.uint8)).save(path, quality=95)


def test_large_photos_are_decoded_at_a_bounded_size(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_FOLDER_MAX_SIDE", "200")
    for i in range(6):
        _photo(tmp_path / "c" / f"{i}.jpg", 3000, 2000, i)
    s = load(f"folder:{tmp_path}")
    assert s.image_shape == (3, 133, 200)
    assert "photos decoded at most 200 px on their longer side" in s.notes[0]
    # reference, independently: full decode, then torch's antialiased bilinear resize
    for i in (0, 5):
        full = np.array(Image.open(tmp_path / "c" / f"{i}.jpg").convert("RGB"))
        ref = F.interpolate(
            torch.from_numpy(full).permute(2, 0, 1)[None].float(),
            size=(133, 200),
            mode="bilinear",
            antialias=True,
        )[0]
        off = (ref.round() - s.x[i].float()).abs() > 3
        assert off.float().mean() < 0.01
    # the bound is part of the cache key: another bound gives another size, not the cached one
    monkeypatch.setenv("NNLAB_FOLDER_MAX_SIDE", "100")
    assert load(f"folder:{tmp_path}").image_shape == (3, 67, 100)


def test_peak_memory_follows_the_decoded_size(tmp_path):
    """8 photos of 4000 x 3000 (288 MB decoded in full) load in far less memory."""
    for i in range(8):
        _photo(tmp_path / "c" / f"{i}.jpg", 4000, 3000, i)
    script = (
        "import resource, sys; from nnlab.data import load; "
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
        f"s = load('folder:{tmp_path}'); "
        "print(s.image_shape, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)"
    )
    env = {**os.environ, "NNLAB_CACHE": "off"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    shape, grown_kib = done.stdout.rsplit(" ", 1)
    assert shape == "(3, 384, 512)"
    full = 8 * 4000 * 3000 * 3
    assert int(grown_kib) * 1024 < 0.25 * full, (int(grown_kib) / 1024, full / 2**20)


def test_max_side_setting_is_checked(tmp_path, monkeypatch):
    _png(tmp_path / "a" / "1.png", _grey(10))
    monkeypatch.setenv("NNLAB_FOLDER_MAX_SIDE", "big")
    with pytest.raises(ConfigError, match="NNLAB_FOLDER_MAX_SIDE must be a whole number"):
        load(f"folder:{tmp_path}")
