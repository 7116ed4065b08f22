"""hand36: real handwritten A-Z and 0-9 in NIST36's look, the stand-in where NIST36 is missing.

Made from EMNIST letters (A-Z; upper and lower case share a class, as EMNIST publishes them) and
MNIST digits (0-9): both are NIST handwriting, like NIST36 itself. Classes are in NIST36's order,
A-Z then 0-9; images are uint8 [N, 1, 32, 32], **dark ink on a white background** like the
`nist36`/`nist26` loaders' output.

The two publishers preprocess differently: MNIST digits sit in a 20x20 box centred by mass in
28x28, with thin strokes; EMNIST letters fill about 22x22, centred by box, with heavier strokes.
Left alone, a classifier could tell letters from digits by that style. So every image goes
through one normalisation, vectorised over the batch (`normalise`):

1. find the ink's bounding box (ink > 0.5, edges refined to a fraction of a pixel by the partly
   inked rows and columns around them) and scale it, keeping the aspect ratio, so that its
   longest side will be `BOX` px once the strokes are `STROKE` wide, centred in 32x32 (one
   `affine_grid` + `grid_sample` call, bilinear);
2. blur with a Gaussian (sigma `BLUR_SIGMA` px) and soft-threshold each image at the level,
   found by a few Newton steps, that makes its strokes `STROKE` px wide (width = 2 * ink area /
   ink perimeter, the perimeter being the summed gradient magnitude); the soft threshold leaves
   a grey edge about one pixel wide, like NIST's. Very heavy strokes are thinned only so far
   (the level is clamped), so that thin parts of the same character do not vanish.

Measured with ink > 0.5 on the real NIST26 validation letters (1300, nist26 loader's output):
ink box longest side 25.3 px on average (median 25, 5-95 %: 19-31), margins median 4 px top and
bottom, 5 px left and right (box-centred), box fill fraction 0.347, centre of mass at (0.510,
0.490) of the height and width, mean ink 0.171, stroke width 2.9 px by the estimate above, grey
edge pixels (ink 0.1-0.9) 45 % of the inked ones. hand36's test split, letters / digits: box
25.4 / 25.5 px, fill 0.365 / 0.383, centre of mass (0.509, 0.483) / (0.495, 0.503), mean ink
0.171 / 0.166, grey 46 % / 42 %. `BOX` and `STROKE` were set to match NIST26's box and mean ink:
the width estimate reads NIST26's near-binary edges, whose pixel staircase lengthens the
perimeter, as thinner than they are. The raw sources differ by a quarter in mean ink (EMNIST
0.172, MNIST 0.133) and by 2.3 px in box size.

Splits, with balanced classes and a fixed internal seed (`SPLIT_SEED`, independent of the load
seed, so every run gets the same bytes): `train` 4000 and `valid` 800 images per class, drawn
without overlap from the publishers' training files; `test` 800 per class from their test files
(EMNIST letters' test file has exactly 800 per class). So 144,000 / 28,800 / 28,800 images,
letters first, each part in the source files' order. Each split is built once and cached
(`nnlab.data.cache`); building all three takes about 8 s on one CPU thread.
"""

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from nnlab.data.cache import cached
from nnlab.data.catalog import DatasetInfo, load, register
from nnlab.data.formats.idx import find_idx
from nnlab.data.imageset import ImageSet
from nnlab.data.loaders.nist import NIST36_CLASSES
from nnlab.errors import CorruptFileError, MissingDataError

SIDE = 32
BOX = 26  # px, longest side of the ink box, edge to edge (ink > 0.5 covers 25.4 px on average)
STROKE = 3.2  # px, stroke width by the 2 * area / perimeter estimate
BLUR_SIGMA = 1.0  # px
EDGE = 0.3  # soft-threshold ramp, in blurred-ink units: a grey edge of about one pixel
INK = 0.5  # ink level that counts as ink for the bounding box
PER_CLASS = {"train": 4000, "valid": 800, "test": 800}
SPLIT_SEED = 3636
_NEWTON_STEPS = 3
#: the range the stroke level is kept in: higher levels make thin strokes vanish, lower ones
#: run strokes together into blobs
_LEVEL_RANGE = (0.15, 0.75)
_CHUNK = 1024  # images per vectorised step: bounds memory, and a chunk stays in cache
#: (publisher's split, images per class to skip) for each hand36 split; valid follows train
_SOURCE_SPLIT = {"train": ("train", 0), "valid": ("train", PER_CLASS["train"]), "test": ("test", 0)}


def normalise(x: torch.Tensor) -> torch.Tensor:
    """Put white-on-black character images into hand36's (NIST36's) look.

    Parameters
    ----------
    x : torch.Tensor
        uint8 [N, 1, H, W], white ink on black (MNIST, EMNIST), upright.

    Returns
    -------
    torch.Tensor
        uint8 [N, 1, 32, 32], dark ink on white, ink box `BOX` px centred, strokes `STROKE` px.
        Chunks of `_CHUNK` images are processed at a time, each fully vectorised.
    """
    out = torch.empty((len(x), 1, SIDE, SIDE), dtype=torch.uint8)
    for start in range(0, len(x), _CHUNK):
        ink = x[start : start + _CHUNK].float() / 255
        ink = _set_stroke(_fit_box(ink))
        out[start : start + _CHUNK] = torch.round((1 - ink) * 255).to(torch.uint8)
    return out


def ink_box(ink: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Edges of each image's ink box to a fraction of a pixel: (top, bottom, left, right), [N].

    Edges are in pixel units, row r spanning [r, r + 1). The rows and columns with ink above
    `INK` bound the box; the partly inked rows and columns just inside and outside it move each
    edge by their coverage, so the box does not jump by a whole pixel as a character moves by
    less than one. An image with no ink gets the whole frame.
    """
    top, bottom = _edges(ink[:, 0].amax(2))  # a row's coverage: its most inked pixel
    left, right = _edges(ink[:, 0].amax(1))
    return top, bottom, left, right


def _edges(coverage: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """First and last edge along one axis from coverages [N, L] in [0, 1]."""
    length = coverage.shape[1]
    inked = coverage > INK
    # argmax gives the first maximum: the first inked row, and (on the flipped mask) the last
    first = inked.byte().argmax(1)
    last = length - 1 - inked.flip(1).byte().argmax(1)
    empty = ~inked.any(1)
    first, last = torch.where(empty, 0, first), torch.where(empty, length - 1, last)
    padded = F.pad(coverage.clamp(0, 1), (1, 1))  # [N, L + 2]: index i + 1 is pixel i

    def at(i):
        return padded.gather(1, (i + 1)[:, None])[:, 0]

    start = first + 1 - at(first) - at(first - 1)
    end = last + at(last) + at(last + 1)
    return torch.where(empty, 0, start), torch.where(empty, length, end)


def _fit_box(ink: torch.Tensor) -> torch.Tensor:
    """Scale and centre each image's ink box in SIDE x SIDE (float ink in, float ink out).

    The stroke step then moves every outer edge by half the change in stroke width, so what is
    scaled to a fixed size is the box through the stroke centres (the ink box less one stroke
    width), to BOX - STROKE: after the stroke step the ink box is BOX whatever the source's
    stroke weight.
    """
    n, _, h, w = ink.shape
    top, bottom, left, right = ink_box(ink)
    longest = torch.maximum(bottom - top, right - left)
    scale = (BOX - STROKE) / (longest - stroke_width(ink)).clamp_min(1)  # output px per input px
    # affine_grid maps output coordinates in [-1, 1] to input ones (align_corners=False: -1 and
    # 1 are the outer pixel edges): the output's SIDE px cover SIDE / scale input px, and its
    # centre maps to the box centre.
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = SIDE / (w * scale)
    theta[:, 1, 1] = SIDE / (h * scale)
    theta[:, 0, 2] = (left + right) / w - 1
    theta[:, 1, 2] = (top + bottom) / h - 1
    grid = F.affine_grid(theta, [n, 1, SIDE, SIDE], align_corners=False)
    return F.grid_sample(ink, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _set_stroke(ink: torch.Tensor) -> torch.Tensor:
    """Blur, then soft-threshold each image at the level that makes its strokes `STROKE` wide."""
    blurred = _blur(ink)
    level = torch.full((len(ink), 1, 1, 1), 0.5)
    # Near a blurred edge, raising the level by dt moves each side of a stroke inward by
    # dt / slope, the slope of a blurred unit step being 1 / (sigma * sqrt(2 pi)).
    width_per_level = 2 * BLUR_SIGMA * math.sqrt(2 * math.pi)
    for _ in range(_NEWTON_STEPS):
        width = stroke_width(_soft_threshold(blurred, level)).view(-1, 1, 1, 1)
        level = (level + (width - STROKE) / width_per_level).clamp(*_LEVEL_RANGE)
    return _soft_threshold(blurred, level)


def _soft_threshold(blurred: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
    return ((blurred - level) / EDGE + 0.5).clamp(0, 1)


def stroke_width(ink: torch.Tensor) -> torch.Tensor:
    """Mean stroke width in px of each image, [N]: 2 * ink area / perimeter.

    A stroke of width w and length L has area w L and perimeter about 2 L; the perimeter is the
    summed gradient magnitude, which counts one per unit of edge length at any sharpness.
    """
    # forward differences; the last row and column, blank in these padded images, are left out
    core = ink[..., :-1, :-1]  # [N, 1, H-1, W-1]
    dx = ink[..., :-1, 1:] - core
    dy = ink[..., 1:, :-1] - core
    perimeter = torch.sqrt(dx * dx + dy * dy).sum((1, 2, 3))
    return 2 * ink.sum((1, 2, 3)) / perimeter.clamp_min(1e-6)


def _blur(ink: torch.Tensor) -> torch.Tensor:
    """Gaussian blur with zero padding as K @ image @ K^T, K a banded SIDE x SIDE matrix.

    Two small matrix products are much faster on CPU than a one-channel conv2d.
    """
    i = torch.arange(SIDE, dtype=torch.float32)
    offset = i[:, None] - i[None, :]
    k = torch.exp(-(offset**2) / (2 * BLUR_SIGMA**2))
    k = torch.where(offset.abs() <= math.ceil(3 * BLUR_SIGMA), k, 0)
    k = k / k[SIDE // 2].sum()  # interior rows sum to 1; border rows lose what falls outside
    return k @ ink @ k.T


# ---- sampling and loading


def select(y: torch.Tensor, num_classes: int, per_class: int, skip: int) -> torch.Tensor:
    """Indices of `per_class` images of each class, after skipping `skip` of each, sorted.

    Each class's images are shuffled with `SPLIT_SEED`, so two calls with the same labels and
    disjoint [skip, skip + per_class) ranges pick disjoint images.

    Parameters
    ----------
    y : torch.Tensor
        int64 labels [N] in [0, num_classes).
    """
    gen = torch.Generator().manual_seed(SPLIT_SEED)
    picks = []
    for c in range(num_classes):
        members = torch.nonzero(y == c).flatten()
        if len(members) < skip + per_class:
            raise CorruptFileError(
                f"hand36 needs {skip + per_class} images of class {c} from its source, found "
                f"{len(members)}; the source file is incomplete. Get it again."
            )
        picks.append(members[torch.randperm(len(members), generator=gen)][skip : skip + per_class])
    return torch.sort(torch.cat(picks)).values


def _source_files(root: Path, source_split: str) -> list[Path]:
    """The EMNIST letters and MNIST files a split is made from; absent ones are an error."""
    stem = {"train": "train", "test": "t10k"}[source_split]
    wanted = [
        ("emnist", f"emnist-letters-{source_split}-images-idx3-ubyte"),
        ("emnist", f"emnist-letters-{source_split}-labels-idx1-ubyte"),
        ("mnist", f"{stem}-images-idx3-ubyte"),
        ("mnist", f"{stem}-labels-idx1-ubyte"),
    ]
    found = [find_idx(root / folder, name) for folder, name in wanted]
    absent = [f"{f}/{n}[.gz]" for (f, n), p in zip(wanted, found, strict=True) if p is None]
    if absent:
        raise MissingDataError(
            f"hand36 is made from EMNIST letters and MNIST, and {', '.join(absent)} is not under "
            f"{root}. Get them with `nnlab data fetch hand36` (or fetch emnist-letters and "
            f"mnist), or point NNLAB_DATA at a folder that holds emnist/ and mnist/."
        )
    return found


def _build(root: Path, split: str) -> ImageSet:
    source_split, skip = _SOURCE_SPLIT[split]
    letters = load("emnist-letters", source_split, root=root)
    digits = load("mnist", source_split, root=root)
    keep_l = select(letters.y, 26, PER_CLASS[split], skip)
    keep_d = select(digits.y, 10, PER_CLASS[split], skip)
    x = normalise(torch.cat([letters.x[keep_l], digits.x[keep_d]]))
    y = torch.cat([letters.y[keep_l], digits.y[keep_d] + 26])  # digits after A-Z, as in NIST36
    return ImageSet(x, y, NIST36_CLASSES, SPEC.name, split)


def _load(root: Path, split: str, seed: int, limit: int | None) -> ImageSet:
    sources = _source_files(root, _SOURCE_SPLIT[split][0])
    return cached(f"hand36-{split}", sources, lambda: _build(root, split), _settings())


def _settings() -> dict[str, object]:
    """The constants that shape hand36's bytes, read now: a changed one rebuilds the cache."""
    return {
        "side": SIDE,
        "box": BOX,
        "stroke": STROKE,
        "blur_sigma": BLUR_SIGMA,
        "edge": EDGE,
        "ink": INK,
        "per_class": PER_CLASS,
        "split_seed": SPLIT_SEED,
        "newton_steps": _NEWTON_STEPS,
        "level_range": _LEVEL_RANGE,
        "source_split": _SOURCE_SPLIT,
        "classes": NIST36_CLASSES,
    }


SPEC = register(
    DatasetInfo(
        "hand36",
        "Handwritten A-Z + 0-9 in NIST36's look: EMNIST letters + MNIST digits, 32x32",
        NIST36_CLASSES,
        (1, SIDE, SIDE),
        ("train", "valid", "test"),
        _load,
        derived_from=("emnist-letters", "mnist"),
        source="EMNIST letters + MNIST (`nnlab data fetch hand36` gets both)",
    )
)
