"""Oxford Flowers-17 (Nilsback & Zisserman 2006): 1360 photos of 17 flowers, 80 per class.

Read from `<root>/flowers17/`: the publisher's `17flowers.tgz` (members `jpg/image_0001.jpg` ...
`jpg/image_1360.jpg`) or its extracted `jpg/` folder. No label file ships with it: image i
(1-based) is of class (i - 1) // 80, in the order of `CLASSES` (the VGG page's order).

The photos differ in size (shorter side about 500 px), and an `ImageSet` holds one size: each is
resized so its shorter side is `SIZE` (antialiased bilinear) and centre-cropped to SIZE x SIZE.
Decoded once and cached.

Splits: `all` (1360 images, in index order) and a fixed stratified `train`/`valid`/`test` of
40/20/20 images per class, as in the publisher's `datasplits.mat` (whose own three random
splits are not reproduced): drawn with seed `SPLIT_SEED`, independent of the load seed.
"""

import re
from pathlib import Path, PurePosixPath

import torch

from nnlab.data.cache import cached
from nnlab.data.catalog import DatasetInfo, missing, register
from nnlab.data.formats.archive import iter_members
from nnlab.data.formats.files import read_file
from nnlab.data.imageset import ImageSet, fixed_split
from nnlab.data.loaders.folder import Sample, decode_samples
from nnlab.errors import CorruptFileError

CLASSES = (
    "daffodil",
    "snowdrop",
    "lily_valley",
    "bluebell",
    "crocus",
    "iris",
    "tigerlily",
    "tulip",
    "fritillary",
    "sunflower",
    "daisy",
    "colts_foot",
    "dandelion",
    "cowslip",
    "buttercup",
    "windflower",
    "pansy",
)
PER_CLASS = 80
#: side of the square every photo is resized and centre-cropped to
SIZE = 256
SPLIT_SEED = 17
#: train / valid / test fractions: 40 / 20 / 20 of each class's 80 images
SPLIT = {"train": 0.5, "valid": 0.25, "test": 0.25}  # 40 / 20 / 20 of each class's 80
ARCHIVE = "17flowers.tgz"
_NAME = re.compile(r"image_(\d{4})\.jpg")


def _load(root: Path, split_name: str, seed: int, limit: int | None) -> ImageSet:
    folder = root / SPEC.folder
    # what shapes the decoded set besides the files; the split is cut after the cache
    settings = {"size": SIZE, "classes": CLASSES, "per_class": PER_CLASS}
    if (folder / "jpg").is_dir():
        files = sorted(p for p in (folder / "jpg").iterdir() if _NAME.fullmatch(p.name))
        whole = cached(
            "flowers17",
            files,
            lambda: _decode([Sample("", p.name, str(p), read_file(p)) for p in files]),
            settings,
        )
    elif (folder / ARCHIVE).exists():
        archive = folder / ARCHIVE

        def keep(p: PurePosixPath) -> bool:
            return _NAME.fullmatch(p.name) is not None

        whole = cached(
            "flowers17",
            [archive],
            lambda: _decode(
                [Sample("", p.name, f"{archive}:{p}", d) for p, d in iter_members(archive, keep)]
            ),
            settings,
        )
    else:
        raise missing(SPEC, root, f"{ARCHIVE} or its jpg/ folder")
    return fixed_split(whole, split_name, SPLIT, seed=SPLIT_SEED)


def _decode(samples: list[Sample]) -> ImageSet:
    """All 1360 photos, in index order, as uint8 [1360, 3, SIZE, SIZE] with labels."""
    samples = sorted(samples, key=lambda s: s.name)
    index = [int(_NAME.fullmatch(s.name).group(1)) for s in samples]
    if index != list(range(1, len(CLASSES) * PER_CLASS + 1)):
        missing_ = sorted(set(range(1, len(CLASSES) * PER_CLASS + 1)) - set(index))
        raise CorruptFileError(
            f"{samples[0].source if samples else SPEC.folder}: expected image_0001.jpg .. "
            f"image_1360.jpg; {len(missing_)} missing (e.g. {missing_[:3]}). Download "
            f"{ARCHIVE} again."
        )
    x = decode_samples(samples, channels=3, size=SIZE)
    y = (torch.tensor(index, dtype=torch.int64) - 1) // PER_CLASS
    note = (
        f"flowers17: each photo resized (shorter side {SIZE} px, antialiased bilinear) and "
        f"centre-cropped to {SIZE}x{SIZE}."
    )
    return ImageSet(torch.from_numpy(x), y, CLASSES, SPEC.name, "all", (note,))


SPEC = register(
    DatasetInfo(
        "flowers17",
        "Oxford Flowers-17, 17 classes x 80 photos, resized and cropped to 256x256 RGB",
        CLASSES,
        (3, SIZE, SIZE),
        ("train", "valid", "test", "all"),
        _load,
        folder="flowers17",
        patterns=(f"flowers17/{ARCHIVE}", "flowers17/jpg/image_*.jpg"),
        source="https://www.robots.ox.ac.uk/~vgg/data/flowers/17/",
    )
)
