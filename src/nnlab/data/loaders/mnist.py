"""The IDX-format family: MNIST, Fashion-MNIST, EMNIST and NotMNIST.

NotMNIST also comes as its original `notMNIST_small` folders of PNGs (loose or as the tar.gz);
the real set has a few PNGs that do not decode, which are skipped and counted in the set's notes.
NotMNIST has no official split: `all` is every image, and `train`/`test` are a fixed stratified
80/20 split of it (seed `NOTMNIST_SPLIT_SEED`, independent of the load seed).
"""

import string
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from nnlab.data.cache import cached
from nnlab.data.catalog import DatasetInfo, missing, register
from nnlab.data.formats.archive import first_dir, iter_members
from nnlab.data.formats.files import read_file
from nnlab.data.formats.idx import find_idx, read_idx
from nnlab.data.formats.image import decode_many, skipped_note, stack_hwc
from nnlab.data.imageset import ImageSet, fixed_split
from nnlab.errors import CorruptFileError

DIGITS = tuple(string.digits)
LETTERS = tuple(string.ascii_uppercase)
FASHION = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
NOTMNIST_CLASSES = tuple("ABCDEFGHIJ")
NOTMNIST_SPLIT = {"train": 0.8, "test": 0.2}
NOTMNIST_SPLIT_SEED = 2011
_IDX_STEMS = {"train": "train", "test": "t10k"}


def _pair(
    folder: Path, prefix: str, split: str, spec: DatasetInfo, first_label: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, H, W) and labels (N,) of one IDX split, checked against each other.

    Labels must lie in `first_label` .. `first_label` + classes - 1 (EMNIST letters count from 1).
    """
    images = find_idx(folder, f"{prefix}-images-idx3-ubyte")
    labels = find_idx(folder, f"{prefix}-labels-idx1-ubyte")
    if images is None or labels is None:
        raise missing(
            spec, folder.parent, f"{prefix}-images-idx3-ubyte[.gz] and its labels ({split} split)"
        )
    x, y = read_idx(images), read_idx(labels)
    if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
        raise CorruptFileError(
            f"{images} and {labels}: {x.shape} images but {y.shape} labels; "
            f"the pair does not belong together."
        )
    last = first_label + len(spec.classes) - 1
    if len(y) and not first_label <= int(y.min()) <= int(y.max()) <= last:
        raise CorruptFileError(
            f"{labels}: labels must lie in {first_label}..{last} for {spec.name}'s "
            f"{len(spec.classes)} classes, found {int(y.min())}..{int(y.max())}; the label file "
            f"is damaged or not this dataset's. Get it again with `nnlab data fetch {spec.name}`."
        )
    return x, y


def _imageset(x: np.ndarray, y: np.ndarray, spec: DatasetInfo, split: str) -> ImageSet:
    """Wrap (N, H, W) uint8 images and integer labels (checked by `_pair`) as an `ImageSet`."""
    return ImageSet(
        torch.from_numpy(np.ascontiguousarray(x)).unsqueeze(1),
        torch.from_numpy(y.astype(np.int64)),
        spec.classes,
        spec.name,
        split,
    )


def _idx_loader(name: str):
    def load(root: Path, split: str, seed: int, limit: int | None) -> ImageSet:
        spec = _SPECS[name]
        x, y = _pair(root / spec.folder, _IDX_STEMS[split], split, spec)
        return _imageset(x, y, spec, split)

    return load


def _emnist_loader(variant: str):
    def load(root: Path, split: str, seed: int, limit: int | None) -> ImageSet:
        spec = _SPECS[f"emnist-{variant}"]
        first = 1 if variant == "letters" else 0  # letters are labelled 1..26
        x, y = _pair(root / spec.folder, f"emnist-{variant}-{split}", split, spec, first)
        x = x.transpose(0, 2, 1)  # EMNIST stores every image transposed; make it upright
        if variant == "letters":
            y = y.astype(np.int64) - 1
        return _imageset(x, y, spec, split)

    return load


# ---- NotMNIST: IDX redistribution, or the original folders of PNGs


def _notmnist_all(root: Path) -> ImageSet:
    spec = _SPECS["notmnist"]
    folder = root / spec.folder
    settings = {"classes": NOTMNIST_CLASSES}
    trees = (folder / "notMNIST_small", folder)
    src = next((t for t in trees if all((t / c).is_dir() for c in NOTMNIST_CLASSES)), None)
    if src is not None:
        # keyed on the PNGs themselves, not their folders: editing a PNG in place leaves its
        # folder's mtime alone
        files = sorted(p for c in NOTMNIST_CLASSES for p in (src / c).glob("*.png"))
        return cached("notmnist-folders", files, lambda: _notmnist_folders(files, src), settings)
    archives = sorted(folder.glob("notMNIST_small.t*gz")) + sorted(
        folder.glob("notMNIST_small.tar")
    )
    if archives:
        return cached("notmnist-tar", archives[:1], lambda: _notmnist_tar(archives[0]), settings)
    parts = [
        _pair(folder, stem, stem, spec)
        for stem in ("train", "t10k")
        if find_idx(folder, f"{stem}-images-idx3-ubyte")
    ]
    if not parts:
        raise missing(
            spec,
            root,
            "notMNIST_small/ (A..J folders of PNGs), notMNIST_small.tar.gz "
            "or the MNIST-format IDX files",
        )
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return _imageset(x, y, spec, "all")


def _notmnist_folders(files: list[Path], src: Path) -> ImageSet:
    items = [(read_file(p), str(p)) for p in files]
    return _notmnist_pngs(items, [p.parent.name for p in files], str(src))


def _notmnist_tar(tgz: Path) -> ImageSet:
    def keep(p: PurePosixPath) -> bool:
        return p.suffix == ".png" and len(p.parts) >= 2 and p.parts[-2] in NOTMNIST_CLASSES

    members = [(data, f"{tgz}:{path}", first_dir(path)) for path, data in iter_members(tgz, keep)]
    members.sort(key=lambda m: m[1])
    return _notmnist_pngs([(d, s) for d, s, _ in members], [c for _, _, c in members], str(tgz))


def _notmnist_pngs(items: list[tuple[bytes, str]], letters: list[str], source: str) -> ImageSet:
    arrays, kept, bad = decode_many(items, channels=1, skip_bad=True)
    x = stack_hwc(arrays, source)
    y = torch.tensor([NOTMNIST_CLASSES.index(letters[i]) for i in kept], dtype=torch.int64)
    notes = (skipped_note("notmnist", bad, len(items), "PNG"),) if bad else ()
    return ImageSet(torch.from_numpy(x), y, NOTMNIST_CLASSES, "notmnist", "all", notes)


def _load_notmnist(root: Path, split: str, seed: int, limit: int | None) -> ImageSet:
    return fixed_split(_notmnist_all(root), split, NOTMNIST_SPLIT, seed=NOTMNIST_SPLIT_SEED)


# ---- registration

_EMNIST_CLASSES = {
    "letters": LETTERS,
    "digits": DIGITS,
    "mnist": DIGITS,
    "balanced": DIGITS + LETTERS + tuple("abdefghnqrt"),
    "bymerge": DIGITS + LETTERS + tuple("abdefghnqrt"),
    "byclass": DIGITS + LETTERS + tuple(string.ascii_lowercase),
}

_SPECS: dict[str, DatasetInfo] = {}


def _idx_split_patterns(folder: str) -> dict[str, tuple[str, ...]]:
    """Each split's image file, for `DatasetInfo.present_splits`."""
    return {s: (f"{folder}/{stem}-images*idx3-ubyte*",) for s, stem in _IDX_STEMS.items()}


def _add(info: DatasetInfo) -> None:
    _SPECS[info.name] = register(info)


def _add_mnist_like(name: str, description: str, classes: tuple[str, ...], source: str) -> None:
    """Register an MNIST-layout set: the four IDX files, 28x28 grey, train and test."""
    _add(
        DatasetInfo(
            name,
            description,
            classes,
            (1, 28, 28),
            ("train", "test"),
            _idx_loader(name),
            folder=name,
            split_patterns=_idx_split_patterns(name),
            source=source,
        )
    )


_add_mnist_like(
    "mnist",
    "Handwritten digits 0-9 (LeCun et al.), 60k train / 10k test",
    DIGITS,
    "https://yann.lecun.com/exdb/mnist/",
)
_add_mnist_like(
    "fashion-mnist",
    "Zalando clothing images, 10 classes, 60k train / 10k test",
    FASHION,
    "https://github.com/zalandoresearch/fashion-mnist",
)
_add(
    DatasetInfo(
        "notmnist",
        "Letters A-J in many fonts (Bulatov), notMNIST_small or its IDX redistribution",
        NOTMNIST_CLASSES,
        (1, 28, 28),
        ("all", "train", "test"),
        _load_notmnist,
        folder="notmnist",
        patterns=("notmnist/*idx3-ubyte*", "notmnist/notMNIST_small*", "notmnist/A"),
        source="http://yaroslavvb.blogspot.com/2011/09/notmnist-dataset.html",
    )
)
for _variant, _classes in _EMNIST_CLASSES.items():
    _add(
        DatasetInfo(
            f"emnist-{_variant}",
            f"EMNIST {_variant} (NIST SD 19 handwriting, Cohen et al. 2017)",
            _classes,
            (1, 28, 28),
            ("train", "test"),
            _emnist_loader(_variant),
            folder="emnist",
            split_patterns={
                s: (f"emnist/emnist-{_variant}-{s}-images*",) for s in ("train", "test")
            },
            source="https://www.nist.gov/itl/products-and-services/emnist-dataset",
        )
    )
