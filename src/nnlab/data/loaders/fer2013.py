"""FER-2013 (Goodfellow et al. 2013): 48x48 grey faces in 7 emotion classes.

Read from `<root>/fer2013/`, in this order of preference:

1. `fer2013.csv`, the Kaggle challenge file: columns `emotion` (0 Angry, 1 Disgust, 2 Fear,
   3 Happy, 4 Sad, 5 Surprise, 6 Neutral), `pixels` (2304 space-separated values, row by row)
   and `Usage` (Training, PublicTest, PrivateTest). The emotion ids are mapped to `CLASSES`,
   whose order (alphabetical, as in the image release) differs from the ids': Neutral is 6 in the
   csv but class 4 here.
2. the Kaggle image-folder release, `train/<emotion>/Training_*.jpg` and
   `test/<emotion>/{PublicTest,PrivateTest}_*.jpg`, loose or as tar archives (e.g.
   fer2013_train.tar.gz, fer2013_test.tar.gz); its folder names (disgust, fear, surprise) are
   mapped to `CLASSES`. Images are ordered by class, then file name; decoded once and cached.

Splits: `train` (Training), `public_test` (PublicTest, the challenge's validation set),
`private_test` (PrivateTest, its final test set) and `test` = public_test followed by
private_test.
"""

import csv
import io
import warnings
from pathlib import Path

import numpy as np
import torch

from nnlab.data.cache import cached
from nnlab.data.catalog import DatasetInfo, missing, register
from nnlab.data.imageset import ImageSet
from nnlab.data.loaders.folder import Sample, cached_tree, decode_samples, is_image, labelled
from nnlab.errors import CorruptFileError

CLASSES = ("angry", "disgusted", "fearful", "happy", "neutral", "sad", "surprised")
#: the image release's folder names that differ from `CLASSES`
FOLDER_ALIASES = {"disgust": "disgusted", "fear": "fearful", "surprise": "surprised"}
#: csv emotion id -> class index (ids: 0 Angry, 1 Disgust, 2 Fear, 3 Happy, 4 Sad, 5 Surprise,
#: 6 Neutral)
CSV_EMOTION_TO_CLASS = np.array([0, 1, 2, 3, 5, 6, 4], dtype=np.int64)
#: split -> the csv's Usage value, which is also the image release's file-name prefix
USAGE = {"train": "Training", "public_test": "PublicTest", "private_test": "PrivateTest"}
SPLITS = ("train", "test", "public_test", "private_test")
CSV_NAME = "fer2013.csv"
_SIDE = 48


def _load(root: Path, split: str, seed: int, limit: int | None) -> ImageSet:
    if split == "test":
        public, private = (_load(root, s, seed, limit) for s in ("public_test", "private_test"))
        return ImageSet(
            torch.cat([public.x, private.x]),
            torch.cat([public.y, private.y]),
            CLASSES,
            SPEC.name,
            "test",
        )
    folder = root / SPEC.folder
    # what shapes a decoded split besides the files
    settings = {
        "classes": CLASSES,
        "aliases": FOLDER_ALIASES,
        "csv_ids": tuple(CSV_EMOTION_TO_CLASS.tolist()),
        "usage": USAGE,
        "side": _SIDE,
    }
    if (folder / CSV_NAME).exists():
        path = folder / CSV_NAME
        return cached(
            f"fer2013-csv-{split}",
            [path],
            lambda: _imageset(*read_csv(path, USAGE[split]), split),
            settings,
        )
    tree = "train" if split == "train" else "test"
    jpegs = cached_tree(
        folder,
        tree,
        f"fer2013-jpg-{split}",
        lambda samples, src: _jpegs(samples, split, src),
        keep=lambda name: is_image(name) and _in_split(name, split),
        settings=settings,
    )
    if jpegs is not None:
        return jpegs
    raise missing(
        SPEC,
        root,
        f"{CSV_NAME}, or the image folders {tree}/<emotion>/*.jpg (loose or in a tar.gz)",
    )


def _in_split(file_name: str, split: str) -> bool:
    """Train takes every image of train/; the test folder is split by file-name prefix."""
    return split == "train" or file_name.startswith(USAGE[split] + "_")


def read_csv(path: Path, usage: str) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 [N, 48, 48] and class indices int64 [N] of the csv rows with this Usage.

    Parameters
    ----------
    path : Path
        The Kaggle `fer2013.csv` (header `emotion,pixels,Usage`, in any column order).
    usage : str
        "Training", "PublicTest" or "PrivateTest".
    """
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="ascii", errors="replace"))))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if not {"emotion", "pixels", "usage"} <= set(header):
        raise CorruptFileError(
            f"{path}: expected the header emotion,pixels,Usage, got {','.join(header)!r}; this is "
            f"not the Kaggle fer2013.csv."
        )
    ie, ip, iu = (header.index(k) for k in ("emotion", "pixels", "usage"))
    short = next((i for i, r in enumerate(rows[1:], 2) if r and len(r) < len(header)), None)
    if short is not None:
        raise CorruptFileError(
            f"{path}: line {short} has {len(rows[short - 1])} fields, the header "
            f"{len(header)}; the file is truncated or damaged. Download it again."
        )
    body = [r for r in rows[1:] if r and r[iu].strip() == usage]
    if not body:
        found = sorted({r[iu].strip() for r in rows[1:] if r})
        raise CorruptFileError(
            f"{path}: no rows with Usage {usage!r}; the file's Usage values are "
            f"{', '.join(found) or 'none (no rows)'}. The Kaggle fer2013.csv has Training, "
            f"PublicTest and PrivateTest rows: use the full file, or load a split it holds."
        )
    try:
        emotion = np.array([int(r[ie]) for r in body], dtype=np.int64)
    except ValueError as exc:
        raise CorruptFileError(f"{path}: an emotion is not an integer ({exc}).") from None
    if len(emotion) and not 0 <= emotion.min() <= emotion.max() < len(CLASSES):
        raise CorruptFileError(f"{path}: emotion ids must lie in 0..6; found {emotion.max()}.")
    x = _parse_pixels([r[ip] for r in body], path)
    return x, CSV_EMOTION_TO_CLASS[emotion]


def _parse_pixels(fields: list[str], path: Path) -> np.ndarray:
    """The 'pixels' fields, each 2304 space-separated values, as uint8 [N, 48, 48]."""
    with warnings.catch_warnings():
        # NumPy signals text it cannot parse with a DeprecationWarning; make it an error
        warnings.simplefilter("error", DeprecationWarning)
        try:
            # uint16 so an out-of-range value shows up instead of wrapping
            values = np.fromstring(" ".join(fields), dtype=np.uint16, sep=" ")
        except (ValueError, DeprecationWarning):
            values = np.zeros(0, dtype=np.uint16)
    per_image = _SIDE * _SIDE
    if values.size != len(fields) * per_image or (values.size and values.max() > 255):
        short = [i for i, f in enumerate(fields) if len(f.split()) != per_image]
        where = f"row {short[0]} of this Usage does not" if short else "a value exceeds 255"
        raise CorruptFileError(
            f"{path}: every 'pixels' field must hold {per_image} integers 0..255; {where}. "
            f"The file is damaged; download it again."
        )
    # one row per image, each 48 rows of 48 values: (N * 2304,) -> (N, 48, 48)
    return values.astype(np.uint8).reshape(len(fields), _SIDE, _SIDE)


def _imageset(x: np.ndarray, y: np.ndarray, split: str) -> ImageSet:
    """Wrap grey images [N, 48, 48] and labels as an `ImageSet` [N, 1, 48, 48]."""
    return ImageSet(
        torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y), CLASSES, SPEC.name, split
    )


def _jpegs(samples: list[Sample], split: str, source: str) -> ImageSet:
    """One split of the image-folder release, decoded."""
    if not samples:
        raise CorruptFileError(
            f"{source}: no {USAGE[split]}_*.jpg images under <emotion>/ folders; expected the "
            f"Kaggle FER-2013 image release."
        )
    samples, y = labelled(samples, CLASSES, FOLDER_ALIASES)
    x = decode_samples(samples, channels=1)
    if x.shape[1:] != (1, _SIDE, _SIDE):
        raise CorruptFileError(
            f"{samples[0].source}: FER-2013 images are 48x48 grey, these decode to "
            f"{x.shape[2:]}; this is not the FER-2013 image release."
        )
    return _imageset(x[:, 0], y, split)


SPEC = register(
    DatasetInfo(
        "fer2013",
        "FER-2013 faces, 7 emotions, 48x48 grey, 28,709 train / 7,178 test (Goodfellow 2013)",
        CLASSES,
        (1, _SIDE, _SIDE),
        SPLITS,
        _load,
        folder="fer2013",
        patterns=(f"fer2013/{CSV_NAME}", "fer2013/train/*", "fer2013/*train*.t*"),
        source="https://www.kaggle.com/c/challenges-in-representation-learning-facial-expression-recognition-challenge",
    )
)
