"""CIFAR-10 (Krizhevsky 2009): 32x32 RGB photos in 10 classes, 50k train / 10k test.

Two publisher formats are read from `<root>/cifar10/`, in this order of preference:

1. the python batches, `cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}`, or the
   `cifar-10-python.tar.gz` they come in (read in memory). Each batch is a pickle (protocol 2,
   Python 2 strings, so read with encoding="bytes") of a dict with b"data", uint8 (10000, 3072):
   per image the 1024 red values, then green, then blue, each a 32x32 plane row by row; and
   b"labels", a list of 10000 ints. They are unpickled with `safe_load` (no code runs).
2. the image-folder release, `train/<class>/NNNN.jpg` and `test/<class>/NNNN.jpg`, loose or as
   tar archives (e.g. cifar10-train-images.tar.gz, cifar10-test-images.tar.gz). These JPEGs are
   lossy re-encodings of the original pixels; the set's notes say so. Images are ordered by class,
   then file name; they are decoded once and cached.
"""

from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import numpy as np
import torch

from nnlab.data.catalog import DatasetInfo, missing, register
from nnlab.data.formats.archive import iter_members
from nnlab.data.formats.files import read_file
from nnlab.data.formats.safepickle import safe_load
from nnlab.data.imageset import ImageSet
from nnlab.data.loaders.folder import Sample, cached_tree, decode_samples, labelled
from nnlab.errors import CorruptFileError

CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
BATCHES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
PY_DIR = "cifar-10-batches-py"
PY_ARCHIVE = "cifar-10-python.tar.gz"
JPEG_NOTE = (
    "cifar10: read from the JPEG image-folder release (lossy re-encoding, IJG quality 75), not "
    "the original batches; accuracies can differ slightly from those published for CIFAR-10."
)
_SIDE = 32


def _load(root: Path, split: str, seed: int, limit: int | None) -> ImageSet:
    folder = root / SPEC.folder
    wanted = (*BATCHES[split], "batches.meta")
    if (folder / PY_DIR / BATCHES[split][0]).exists():
        files = {
            n: read_file(folder / PY_DIR / n) for n in wanted if (folder / PY_DIR / n).exists()
        }
        return _imageset(*read_batches(files, BATCHES[split], str(folder / PY_DIR)), split)
    if (folder / PY_ARCHIVE).exists():
        archive = folder / PY_ARCHIVE

        def keep(p: PurePosixPath) -> bool:
            return p.name in wanted and p.parent.name == PY_DIR

        files = {p.name: data for p, data in iter_members(archive, keep)}
        return _imageset(*read_batches(files, BATCHES[split], f"{archive}:{PY_DIR}"), split)
    jpegs = cached_tree(
        folder,
        split,
        f"cifar10-jpg-{split}",
        lambda samples, src: _jpegs(samples, split, src),
        settings={"classes": CLASSES, "side": _SIDE, "note": JPEG_NOTE},
    )
    if jpegs is not None:
        return jpegs
    raise missing(
        SPEC,
        root,
        f"{PY_DIR}/ (python batches), {PY_ARCHIVE}, or the image folders {split}/<class>/*.jpg "
        f"(loose or in a tar.gz)",
    )


def read_batches(
    files: Mapping[str, bytes], names: tuple[str, ...], source: str
) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 [N, 3, 32, 32] and labels int64 [N] of the named python batches, in order.

    Parameters
    ----------
    files : mapping of file name -> bytes
        The batch files (and optionally "batches.meta", whose label names are checked).
    names : tuple of str
        The batches to read, e.g. ("test_batch",).
    source : str
        The folder or archive they came from, for messages.
    """
    if "batches.meta" in files:
        meta = _batch_dict(files["batches.meta"], f"{source}/batches.meta")
        names_found = tuple(_text(n) for n in meta.get("label_names", ()))
        if names_found != CLASSES:
            raise CorruptFileError(
                f"{source}/batches.meta: label_names are {names_found}, expected CIFAR-10's "
                f"{CLASSES}; this is not the CIFAR-10 python release."
            )
    xs, ys = [], []
    for name in names:
        if name not in files:
            raise CorruptFileError(
                f"{source}: {name} is missing; the CIFAR-10 python release has "
                f"{', '.join(BATCHES['train'] + BATCHES['test'])}. Download it again."
            )
        x, y = _batch(files[name], f"{source}/{name}")
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


def _batch(data: bytes, source: str) -> tuple[np.ndarray, np.ndarray]:
    """One batch's images [n, 3, 32, 32] and labels [n], checked against each other."""
    d = _batch_dict(data, source)
    x, labels = d.get("data"), d.get("labels")
    n = len(labels) if isinstance(labels, list) else -1
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.shape != (n, 3 * _SIDE * _SIDE):
        got = f"{x.dtype} {x.shape}" if isinstance(x, np.ndarray) else type(x).__name__
        raise CorruptFileError(
            f"{source}: expected b'data' uint8 ({n}, 3072) matching {n} b'labels', got {got}; "
            f"this is not a CIFAR-10 batch. Download it again."
        )
    y = np.array(labels, dtype=np.int64)
    if n and not 0 <= y.min() <= y.max() < len(CLASSES):
        raise CorruptFileError(f"{source}: labels outside 0..9; this is not a CIFAR-10 batch.")
    # each row holds 3 planes (R, G, B) of 32 rows x 32 columns: (n, 3072) -> (n, 3, 32, 32)
    return x.reshape(n, 3, _SIDE, _SIDE), y


def _batch_dict(data: bytes, source: str) -> dict:
    """The unpickled dict with str keys (Python 2 pickles give bytes keys under "bytes")."""
    d = safe_load(data, source)
    if not isinstance(d, dict):
        raise CorruptFileError(f"{source}: expected a pickled dict, got {type(d).__name__}.")
    return {_text(k): v for k, v in d.items()}


def _text(value) -> str:
    return value.decode("latin1") if isinstance(value, bytes) else str(value)


def _imageset(x: np.ndarray, y: np.ndarray, split: str, notes: tuple[str, ...] = ()) -> ImageSet:
    return ImageSet(
        torch.from_numpy(np.ascontiguousarray(x)),
        torch.from_numpy(y),
        CLASSES,
        "cifar10",
        split,
        notes,
    )


def _jpegs(samples: list[Sample], split: str, source: str) -> ImageSet:
    """The image-folder release of one split, decoded."""
    if not samples:
        raise CorruptFileError(
            f"{source}: no images under {split}/<class>/; expected CIFAR-10's image folders "
            f"({', '.join(CLASSES)})."
        )
    samples, y = labelled(samples, CLASSES)
    x = decode_samples(samples, channels=3)
    if x.shape[1:] != (3, _SIDE, _SIDE):
        raise CorruptFileError(
            f"{samples[0].source}: CIFAR-10 images are 3x32x32, these decode to {x.shape[1:]}; "
            f"this is not the CIFAR-10 image release."
        )
    return _imageset(x, y, split, (JPEG_NOTE,))


SPEC = register(
    DatasetInfo(
        "cifar10",
        "CIFAR-10 photos, 10 classes, 32x32 RGB, 50k train / 10k test (Krizhevsky 2009)",
        CLASSES,
        (3, _SIDE, _SIDE),
        ("train", "test"),
        _load,
        folder="cifar10",
        patterns=(
            f"cifar10/{PY_DIR}/data_batch_1",
            f"cifar10/{PY_ARCHIVE}",
            "cifar10/train/*",
            "cifar10/*train*.t*",
        ),
        source="https://www.cs.toronto.edu/~kriz/cifar.html",
    )
)
