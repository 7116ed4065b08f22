"""Embedded sets, made by the package itself: no files, no network.

- `digits`: scikit-learn's 8x8 handwritten digits (1797 images, UCI optdigits). Pixel values 0..16
  are scaled to uint8 as round-half-up(v * 255 / 16), i.e. (255 v + 8) // 16, so 16 -> 255.
  `all` is every image in scikit-learn's order; `train`/`test` are a fixed stratified 80/20 split
  of it (seed `DIGITS_SPLIT_SEED`, independent of the load seed).
- `glyphs`: letters A-J rendered from matplotlib's fonts in NotMNIST's look (28x28, white on
  black); `glyphs36`: A-Z then 0-9 in NIST36's look (32x32, dark on white) and class order.
  Each makes exactly `limit` images (default `GLYPH_SIZES`), classes balanced, from a random
  stream per (seed, dataset, split), so the same seed gives the same bytes and splits share no
  image. See `nnlab.data.glyphs`.
"""

import string
from pathlib import Path

import numpy as np
import torch

from nnlab.data.catalog import DatasetInfo, register
from nnlab.data.glyphs import NIST_STYLE, NOTMNIST_STYLE, GlyphStyle, render_glyphs
from nnlab.data.imageset import ImageSet, fixed_split

DIGITS_SPLIT = {"train": 0.8, "test": 0.2}
DIGITS_SPLIT_SEED = 1797
GLYPH_CHARS = "ABCDEFGHIJ"
GLYPH36_CHARS = string.ascii_uppercase + string.digits
#: images made per split when no `limit` is given; glyphs36 matches NIST36's split sizes
GLYPH_SIZES = {
    "glyphs": {"train": 10_000, "test": 2_000},
    "glyphs36": {"train": 10_800, "valid": 3_600, "test": 1_800},
}


def digits_all() -> ImageSet:
    """scikit-learn's digits as uint8 [1797, 1, 8, 8] in its own order, values 0..255."""
    from sklearn.datasets import load_digits  # bundled with scikit-learn; imported when used

    bunch = load_digits()
    x = (bunch.images.astype(np.int64) * 255 + 8) // 16  # 0..16 -> 0..255, half rounds up
    return ImageSet(
        torch.from_numpy(x.astype(np.uint8)).unsqueeze(1),
        torch.from_numpy(bunch.target.astype(np.int64)),
        tuple(string.digits),
        "digits",
        "all",
    )


def _load_digits(root: Path, split_name: str, seed: int, limit: int | None) -> ImageSet:
    return fixed_split(digits_all(), split_name, DIGITS_SPLIT, seed=DIGITS_SPLIT_SEED)


def _glyph_loader(name: str, chars: str, style: GlyphStyle):
    def load(root: Path, split_name: str, seed: int, limit: int | None) -> ImageSet:
        n = limit or GLYPH_SIZES[name][split_name]
        x, y = render_glyphs(chars, n, style, seed=seed, stream=f"{name}/{split_name}")
        return ImageSet(x, y, tuple(chars), name, split_name)

    return load


register(
    DatasetInfo(
        "digits",
        "scikit-learn's 8x8 handwritten digits 0-9 (1797 images), embedded; 80/20 split",
        tuple(string.digits),
        (1, 8, 8),
        ("train", "test", "all"),
        _load_digits,
        source="scikit-learn (sklearn.datasets.load_digits, UCI optdigits)",
    )
)


def _register_glyphs(name: str, chars: str, style: GlyphStyle, look: str) -> None:
    """Register a rendered-font set: one class per character, sized by `style`."""
    register(
        DatasetInfo(
            name,
            f"{look}; embedded, any size",
            tuple(chars),
            (1, style.size, style.size),
            tuple(GLYPH_SIZES[name]),
            _glyph_loader(name, chars, style),
            source="rendered by nnlab (nnlab.data.glyphs)",
        )
    )


_register_glyphs(
    "glyphs",
    GLYPH_CHARS,
    NOTMNIST_STYLE,
    "Letters A-J rendered from matplotlib's fonts with jitter, a NotMNIST look-alike",
)
_register_glyphs(
    "glyphs36",
    GLYPH36_CHARS,
    NIST_STYLE,
    "A-Z and 0-9 rendered from matplotlib's fonts with jitter, a NIST36 look-alike",
)
