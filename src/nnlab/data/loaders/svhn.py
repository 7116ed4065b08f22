"""SVHN cropped digits (Netzer et al. 2011): 32x32 RGB house-number digits, classes 0-9.

Files: `<root>/svhn/{train,test,extra}_32x32.mat` (73,257 / 26,032 / 531,131 images), MATLAB v5,
each with `X`, uint8 (32, 32, 3, N) indexed [row, column, channel, image], and `y`, (N, 1)
labels 1..10 where 10 stands for the digit 0. Labels become 0..9 (10 -> 0).
"""

import string
from pathlib import Path

import numpy as np
import torch

from nnlab.data.catalog import DatasetInfo, missing, register
from nnlab.data.formats.mat import read_mat
from nnlab.data.imageset import ImageSet
from nnlab.errors import CorruptFileError

CLASSES = tuple(string.digits)
SIDE = 32


def decode_svhn(X: np.ndarray, y: np.ndarray, source: str) -> tuple[torch.Tensor, torch.Tensor]:
    """SVHN's arrays -> images uint8 [N, 3, 32, 32] and labels int64 [N] in 0..9.

    Parameters
    ----------
    X : ndarray, uint8 (32, 32, 3, N)
        Indexed [row, column, channel, image], as MATLAB stores it.
    y : ndarray, (N, 1) or (N,)
        Labels 1..10, 10 meaning the digit 0.
    source : str
        The file, for error messages.
    """
    if X.dtype != np.uint8 or X.ndim != 4 or X.shape[:3] != (SIDE, SIDE, 3):
        raise CorruptFileError(
            f"{source}: X must be uint8 ({SIDE}, {SIDE}, 3, N), got {X.dtype} {X.shape}; this is "
            f"not an SVHN cropped-digits file (the full-numbers format has no X)."
        )
    labels = y.reshape(-1).astype(np.int64)
    if y.size != X.shape[3] or (labels.size and (labels.min() < 1 or labels.max() > 10)):
        lo, hi = (int(labels.min()), int(labels.max())) if labels.size else (None, None)
        raise CorruptFileError(
            f"{source}: y must hold {X.shape[3]} labels in 1..10, got {y.size} in [{lo}, {hi}]; "
            f"the file is damaged. Get it again."
        )
    # (row, col, channel, N) -> (N, channel, row, col)
    x = np.ascontiguousarray(X.transpose(3, 2, 0, 1))
    return torch.from_numpy(x), torch.from_numpy(labels % 10)


def _load(root: Path, split: str, seed: int, limit: int | None) -> ImageSet:
    path = root / SPEC.folder / f"{split}_32x32.mat"
    if not path.exists():
        raise missing(SPEC, root, path.name)
    mat = read_mat(path, ("X", "y"))
    x, y = decode_svhn(mat["X"], mat["y"], str(path))
    return ImageSet(x, y, CLASSES, SPEC.name, split)


SPEC = register(
    DatasetInfo(
        "svhn",
        "Street View House Numbers, cropped digits 0-9 (Netzer et al. 2011), 32x32 RGB",
        CLASSES,
        (3, SIDE, SIDE),
        ("train", "test", "extra"),
        _load,
        folder="svhn",
        split_patterns={s: (f"svhn/{s}_32x32.mat",) for s in ("train", "test", "extra")},
        source="http://ufldl.stanford.edu/housenumbers/",
    )
)
