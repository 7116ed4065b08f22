"""Image-folder trees: `folder:PATH` datasets, and the tree readers CIFAR-10 and FER-2013 share.

Layout of a `folder:PATH` set: one sub-folder per class, `PATH/<class>/<image>`; the sorted
folder names are the classes, and images in a class are taken in file-name order. When PATH
holds `train/` and `test/` (and optionally `valid/`) sub-trees, each with class folders, those
are the splits, and `all` is all of them together, split after split. Otherwise the whole tree is
the split `all`, and `train`/`test` are a fixed stratified 80/20 split of it (seed
`FOLDER_SPLIT_SEED`, independent of the load seed).

The whole tree is decoded once (and cached); its splits are slices of it, so they share one
format. Photos are decoded at a bounded size, so memory follows the output, not the camera:
one whose longer side exceeds `max_side` (default `DEFAULT_MAX_SIDE`, environment variable
`NNLAB_FOLDER_MAX_SIDE`) is shrunk while it is decoded (`formats.image.decode`), and each file
is read only while it decodes. A file that cannot be read or decoded is skipped, counted and
named in the set's notes; the load fails only when none can be read, or on the first bad file
with `NNLAB_FOLDER_STRICT=1`. A set is grey when every image is single-channel, RGB otherwise.
Images are turned upright by their EXIF orientation first. When they then differ in size, each
is resized so its shorter side equals the smallest shorter side in the tree (antialiased
bilinear) and centre-cropped to a square of that side; the set's notes say so.
"""

import functools
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from PIL import Image

from nnlab.data.cache import cached
from nnlab.data.catalog import SCHEMES
from nnlab.data.formats.archive import first_dir, iter_members
from nnlab.data.formats.files import read_file
from nnlab.data.formats.image import decode_many, skipped_note, stack_hwc
from nnlab.data.imageset import ImageSet, fixed_split
from nnlab.errors import (
    ConfigError,
    CorruptFileError,
    MissingDataError,
    NnlabError,
    UnknownNameError,
)

#: file suffixes read as images (compared in lower case)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
#: sub-folders that make a tree a split tree, in split order
SPLIT_DIRS = ("train", "valid", "test")
FOLDER_SPLIT_SEED = 4242
FOLDER_SPLIT = {"train": 0.8, "test": 0.2}
#: longest side, in px, a folder:PATH photo is decoded at: four times the 112-128 px the
#: transfer experiments train on at quick scale and above the 256 px they crop from at full
#: scale, yet a 12-megapixel photo shrinks from 36 MB to 0.6 MB
DEFAULT_MAX_SIDE = 512
_LAYOUT = "PATH/<class>/<image> (or PATH/train/<class>/<image> and PATH/test/<class>/<image>)"


@dataclass(frozen=True)
class Sample:
    """One image file of a class tree, read into memory.

    Parameters
    ----------
    label : str
        The class folder's name, as on disk.
    name : str
        The file name; images of a class are ordered by it.
    source : str
        The file or archive member, for messages.
    data : bytes
        The encoded image.
    """

    label: str
    name: str
    source: str
    data: bytes


def is_image(name: str) -> bool:
    """True for a visible file name with one of `IMAGE_SUFFIXES`."""
    return not name.startswith(".") and PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES


def class_files(split_root: Path) -> list[tuple[str, Path]]:
    """(class folder name, image path) for every image in `split_root/<class>/`, sorted."""
    classes = sorted(d for d in split_root.iterdir() if d.is_dir() and not d.name.startswith("."))
    return [(d.name, f) for d in classes for f in sorted(d.iterdir()) if is_image(f.name)]


def read_files(files: Sequence[tuple[str, Path]]) -> list[Sample]:
    """The `Sample`s of (class folder name, path) pairs, read from disk.

    A file that cannot be read (no permission, I/O error) raises `CorruptFileError` naming it.
    """
    return [Sample(label, p.name, str(p), read_file(p)) for label, p in files]


def read_archive(archive: Path, split_dir: str) -> list[Sample]:
    """The `Sample`s of the images under `<split_dir>/<class>/` in a tar archive.

    The split folder may sit at any depth in the archive (with or without a top folder).
    """

    def keep(path: PurePosixPath) -> bool:
        return is_image(path.name) and first_dir(path, split_dir) is not None

    return [
        Sample(first_dir(path, split_dir), path.name, f"{archive}:{path}", data)
        for path, data in iter_members(archive, keep)
    ]


def split_archives(folder: Path, split_name: str) -> list[Path]:
    """Tar archives in `folder` for one split: those whose name holds the split name, else all."""
    if not folder.is_dir():
        return []
    archives = sorted(p for p in folder.iterdir() if p.name.endswith((".tar.gz", ".tgz", ".tar")))
    named = [p for p in archives if split_name in p.name]
    return named or archives


def cached_tree(
    folder: Path,
    tree: str,
    tag: str,
    build: Callable[[list[Sample], str], ImageSet],
    keep: Callable[[str], bool] = is_image,
    settings: Mapping[str, object] | None = None,
) -> ImageSet | None:
    """The set `build` makes from the images of `folder/tree/<class>/`, through the cache.

    The images are read from the loose folder when there is one, else from the tar archives in
    `folder` that hold `tree/<class>/` members (see `split_archives`). None when neither exists.

    Parameters
    ----------
    folder : Path
        The dataset's folder, e.g. <root>/cifar10.
    tree : str
        The split folder, e.g. "train".
    tag : str
        Cache tag, e.g. "cifar10-jpg-train".
    build : callable
        build(samples, source) -> ImageSet, where source names the folder or archives.
    keep : callable
        Keeps the image files whose name it accepts.
    settings : mapping, optional
        The loader's constants that shape `build`'s result, for the cache key (see `cached`).
    """
    if (folder / tree).is_dir():
        files = [(c, p) for c, p in class_files(folder / tree) if keep(p.name)]
        return cached(
            tag,
            [p for _, p in files],
            lambda: build(read_files(files), str(folder / tree)),
            settings,
        )
    archives = split_archives(folder, tree)
    if not archives:
        return None
    return cached(
        tag,
        archives,
        lambda: build(
            [s for a in archives for s in read_archive(a, tree) if keep(s.name)],
            ", ".join(map(str, archives)),
        ),
        settings,
    )


def labelled(
    samples: Sequence[Sample], classes: Sequence[str], aliases: Mapping[str, str] | None = None
) -> tuple[list[Sample], np.ndarray]:
    """Samples ordered by (class, file name) and their int64 labels [N].

    A folder name is looked up in `aliases` first (e.g. "disgust" -> "disgusted"); one that
    names no class is a `CorruptFileError`.
    """
    index = {c: i for i, c in enumerate(classes)}
    index.update({k: index[v] for k, v in (aliases or {}).items()})
    for s in samples:
        if s.label not in index:
            raise CorruptFileError(
                f"{s.source}: class folder {s.label!r} is not a class of this dataset "
                f"({', '.join(classes)}); move or delete it."
            )
    ordered = sorted(samples, key=lambda s: (index[s.label], s.name))
    return ordered, np.array([index[s.label] for s in ordered], dtype=np.int64)


def decode_samples(samples: Sequence[Sample], channels: int, size: int | None = None) -> np.ndarray:
    """Decode samples to uint8 [N, C, H, W]; with `size`, each is `fit_square`d to size x size.

    An image that does not decode raises `CorruptFileError` naming it; images of different
    sizes without `size` raise one naming the first source.
    """
    arrays, _, _ = decode_many([(s.data, s.source) for s in samples], channels)
    if size is not None:
        arrays = _fit_all(arrays, size)
    if not arrays:
        return np.zeros((0, channels, size or 1, size or 1), dtype=np.uint8)
    return stack_hwc(arrays, samples[0].source)


def _fit_all(arrays: Sequence[np.ndarray], size: int) -> list[np.ndarray]:
    """`fit_square` every (H, W, C) array, in a small thread pool (PIL releases the GIL)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda a: fit_square(a, size), arrays))


def fit_square(image: np.ndarray, size: int) -> np.ndarray:
    """Resize (H, W, C) uint8 so the shorter side is `size`, then centre-crop size x size.

    Bilinear resampling in PIL, which widens its filter when shrinking (antialiased) and is
    deterministic. Returns (size, size, C) uint8.
    """
    h, w, c = image.shape
    if (h, w) == (size, size):
        return image
    scale = size / min(h, w)
    new_w, new_h = max(size, round(w * scale)), max(size, round(h * scale))
    im = Image.fromarray(image[:, :, 0] if c == 1 else image)
    im = im.resize((new_w, new_h), Image.Resampling.BILINEAR)
    left, top = (new_w - size) // 2, (new_h - size) // 2
    out = np.asarray(im.crop((left, top, left + size, top + size)))
    return out.reshape(size, size, c)


# ---- folder:PATH


def load_folder(path: Path, split_name: str) -> ImageSet:
    """Load one split of an image-folder tree (layout in the module docstring).

    Parameters
    ----------
    path : Path
        The tree's root folder.
    split_name : str
        "all", or one of the tree's split folders ("train", "valid", "test"); a tree without
        split folders also has "train"/"test" (its fixed stratified 80/20 split).

    Returns
    -------
    ImageSet named "folder:<path>", x uint8 [N, C, S, S] or [N, C, H, W] when all images share
    one size, classes = the sorted class folder names.
    """
    path = Path(path)
    if not path.is_dir():
        raise MissingDataError(
            f"folder dataset {path} does not exist or is not a folder; "
            f"expected the layout {_LAYOUT}."
        )
    trees = _split_trees(path)
    files = {name: class_files(root) for name, root in trees.items()}
    everything = [p for fs in files.values() for _, p in fs]
    if not everything:
        raise NnlabError(
            f"folder dataset {path}: found no class sub-folders holding images "
            f"({', '.join(sorted(IMAGE_SUFFIXES))}); expected the layout {_LAYOUT}."
        )
    split_tree = list(trees) != ["all"]
    valid = ("all", *trees) if split_tree else ("all", "train", "test")
    if split_name not in valid:
        raise UnknownNameError(
            f"folder dataset {path} has no split {split_name!r}; its splits are {', '.join(valid)}."
        )
    options = folder_options()
    tree = tuple((name, tuple(fs)) for name, fs in files.items())
    part = "all" if split_name == "all" or not split_tree else split_name
    whole = cached(
        f"folder-{part}", everything, lambda: _split_of(path, tree, part, **options), options
    )
    if not split_tree:
        return fixed_split(whole, split_name, FOLDER_SPLIT, seed=FOLDER_SPLIT_SEED)
    return whole


def folder_options() -> dict[str, object]:
    """The folder:PATH settings from the environment: max_side (px) and strict, checked."""
    text = os.environ.get("NNLAB_FOLDER_MAX_SIDE", str(DEFAULT_MAX_SIDE))
    if not text.isdigit() or int(text) < 8:
        raise ConfigError(
            f"NNLAB_FOLDER_MAX_SIDE must be a whole number of pixels, at least 8; got {text!r}. "
            f"Unset it for the default {DEFAULT_MAX_SIDE}."
        )
    strict = os.environ.get("NNLAB_FOLDER_STRICT", "").lower() in {"1", "yes", "true", "on"}
    return {"max_side": int(text), "strict": strict}


def _split_of(path: Path, tree: tuple, split_name: str, max_side: int, strict: bool) -> ImageSet:
    """One split of the decoded tree: `all`, or the images of one split folder."""
    whole, counts = _decode_tree(path, tree, max_side, strict)
    if split_name == "all":
        return whole
    # `whole` holds the splits one after another, in the tree's order
    names = [name for name, _ in tree]
    start = sum(counts[: names.index(split_name)])
    part = whole.subset(torch.arange(start, start + counts[names.index(split_name)]))
    return replace(part, split=split_name)


@functools.lru_cache(maxsize=1)
def _decode_tree(
    path: Path, tree: tuple, max_side: int, strict: bool
) -> tuple[ImageSet, list[int]]:
    """The whole tree decoded (kept for the process: each split is cached from it) and the
    number of images kept per split."""
    return _build_folder(path, dict(tree), max_side=max_side, strict=strict)


def _split_trees(path: Path) -> dict[str, Path]:
    """{split: folder} for a split tree, else {"all": path}."""
    trees = {s: path / s for s in SPLIT_DIRS if (path / s).is_dir()}
    if "train" in trees and any(d.is_dir() for d in trees["train"].iterdir()):
        return trees
    return {"all": path}


def _build_folder(
    path: Path, files: Mapping[str, Sequence[tuple[str, Path]]], *, max_side: int, strict: bool
) -> tuple[ImageSet, list[int]]:
    """Decode the whole tree, split after split, in one format (grey or RGB, one size).

    The format comes from the decoded images themselves (after EXIF orientation), so every file
    is read once. Returns the set and the number of images kept from each split.
    """
    classes = sorted({label for fs in files.values() for label, _ in fs})
    index = {c: i for i, c in enumerate(classes)}
    # (class, file) order within each split, as `labelled` orders them
    ordered = [sorted(fs, key=lambda f: (index[f[0]], f[1].name)) for fs in files.values()]
    items = [(functools.partial(read_file, p), str(p)) for fs in ordered for _, p in fs]
    arrays, kept, bad = decode_many(items, channels=None, skip_bad=not strict, max_side=max_side)
    if not arrays:
        raise CorruptFileError(
            f"folder dataset {path}: none of its {len(items)} images could be read or decoded "
            f"(e.g. {bad[0]}). Check that they are image files, or replace them."
        )
    labels = np.array([index[label] for fs in ordered for label, _ in fs], dtype=np.int64)[kept]
    bounds = np.cumsum([0, *(len(fs) for fs in ordered)])
    counts = np.diff(np.searchsorted(kept, bounds)).tolist()  # kept images per split
    notes = [f"folder:{path}: photos decoded at most {max_side} px on their longer side."]
    if bad:
        notes.append(skipped_note(f"folder:{path}", bad, len(items)))
    channels = 1 if all(a.shape[2] == 1 for a in arrays) else 3
    # a grey image in an RGB tree: (H, W, 1) -> (H, W, 3), as PIL's "L" -> "RGB" does
    arrays = [a if a.shape[2] == channels else np.repeat(a, 3, axis=2) for a in arrays]
    sizes = {a.shape[:2] for a in arrays}
    if len(sizes) > 1:
        side = min(min(hw) for hw in sizes)
        arrays = _fit_all(arrays, side)
        notes.append(
            f"folder:{path}: images had {len(sizes)} different sizes; each was resized (shorter "
            f"side to {side} px, antialiased bilinear) and centre-cropped to {side}x{side}."
        )
    x = torch.from_numpy(stack_hwc(arrays, str(path)))
    imageset = ImageSet(
        x, torch.from_numpy(labels), tuple(classes), f"folder:{path}", "all", tuple(notes)
    )
    return imageset, counts


def _folder_scheme(argument: str, split_name: str | None) -> ImageSet:
    """`load("folder:PATH", split)`: an empty PATH is an error, not the current folder."""
    if not argument.strip():
        raise ConfigError(
            "folder: needs a path: write folder:PATH (e.g. folder:~/photos), where PATH holds "
            f"one sub-folder of images per class, {_LAYOUT}."
        )
    return load_folder(Path(argument).expanduser(), split_name or "all")


SCHEMES["folder"] = _folder_scheme
