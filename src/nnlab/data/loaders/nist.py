"""NIST36 and NIST26: handwritten characters from CMU 16-720 (Computer Vision) homework 5.

Files: `<root>/nist36/nist36_{train,valid,test}.mat` (36 classes, A-Z then 0-9) and the older
letters-only release `<root>/nist26/nist26_{train,valid,test}.mat` (A-Z), MATLAB v5. Each holds
`<split>_data`, float64 (N, 1024), and `<split>_labels`, one-hot (N, classes).

Each data row is a 32x32 image flattened in MATLAB's column-major order (column by column), so a
row-by-row reshape shows every character transposed; checked by eye on the real nist26_valid.mat.
Values are about [0, 1] (real file: -0.14 to 1.12) and are clipped, then scaled to uint8 as
round(v * 255) (half to even). The publisher's polarity is kept: **dark strokes (about 0) on a
white background (255)**, the opposite of MNIST.
"""

import string
from pathlib import Path

import numpy as np
import torch

from nnlab.data.catalog import DatasetInfo, missing, register
from nnlab.data.formats.mat import read_mat
from nnlab.data.imageset import ImageSet
from nnlab.errors import CorruptFileError

NIST36_CLASSES = tuple(string.ascii_uppercase + string.digits)
NIST26_CLASSES = tuple(string.ascii_uppercase)
SIDE = 32


def decode_rows(data: np.ndarray, source: str) -> torch.Tensor:
    """Column-major flattened 32x32 float images -> upright uint8 [N, 1, 32, 32].

    Parameters
    ----------
    data : ndarray, shape (N, 1024)
        Values about [0, 1], each row one image flattened column by column.
    source : str
        The file, for error messages.
    """
    if data.ndim != 2 or data.shape[1] != SIDE * SIDE or not np.issubdtype(data.dtype, np.number):
        raise CorruptFileError(
            f"{source}: image data must be numeric (N, {SIDE * SIDE}), got {data.dtype} "
            f"{data.shape}; this is not a NIST36/NIST26 file."
        )
    if not np.isfinite(data).all():
        raise CorruptFileError(f"{source}: image data holds NaN or inf; get the file again.")
    # (N, 1024) -> (N, col, row): column-major order means the column index varies slowest
    images = data.reshape(-1, SIDE, SIDE).transpose(0, 2, 1)
    x = np.rint(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8)
    return torch.from_numpy(np.ascontiguousarray(x)).unsqueeze(1)


def onehot_to_index(labels: np.ndarray, num_classes: int, source: str) -> torch.Tensor:
    """One-hot rows (N, num_classes) -> int64 class indices [N]; any other row is an error."""
    if labels.ndim != 2 or labels.shape[1] != num_classes:
        raise CorruptFileError(
            f"{source}: labels must be one-hot (N, {num_classes}), got {labels.shape}; the file "
            f"belongs to a dataset with a different number of classes."
        )
    bad = ~(((labels == 0) | (labels == 1)).all(axis=1) & (labels.sum(axis=1) == 1))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise CorruptFileError(
            f"{source}: label row {row} is not one-hot ({np.unique(labels[row]).tolist()} "
            f"summing to {labels[row].sum()}), and {int(bad.sum())} rows in all; the label "
            f"matrix is damaged. Get the file again."
        )
    return torch.from_numpy(labels.argmax(axis=1).astype(np.int64))


def _loader(name: str):
    def load(root: Path, split: str, seed: int, limit: int | None) -> ImageSet:
        spec = _SPECS[name]
        path = root / spec.folder / f"{name}_{split}.mat"
        if not path.exists():
            raise missing(spec, root, path.name)
        mat = read_mat(path, (f"{split}_data", f"{split}_labels"))
        x = decode_rows(mat[f"{split}_data"], str(path))
        y = onehot_to_index(mat[f"{split}_labels"], len(spec.classes), str(path))
        if len(x) != len(y):
            raise CorruptFileError(
                f"{path}: {len(x)} images but {len(y)} labels; get the file again."
            )
        return ImageSet(x, y, spec.classes, name, split)

    return load


_SPECS: dict[str, DatasetInfo] = {}
_SOURCE = "the CMU 16-720 (Computer Vision) homework 5 data, handed out to the course's students"

for _name, _classes, _what in (
    ("nist36", NIST36_CLASSES, "A-Z then 0-9"),
    ("nist26", NIST26_CLASSES, "A-Z, the older letters-only release"),
):
    _SPECS[_name] = register(
        DatasetInfo(
            _name,
            f"Handwritten characters {_what} (NIST SD 19, CMU 16-720), 32x32 dark on white",
            _classes,
            (1, SIDE, SIDE),
            ("train", "valid", "test"),
            _loader(_name),
            folder=_name,
            split_patterns={s: (f"{_name}/{_name}_{s}.mat",) for s in ("train", "valid", "test")},
            source=f"{_SOURCE} ({_name}_train.mat, {_name}_valid.mat, {_name}_test.mat)",
        )
    )
