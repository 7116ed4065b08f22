"""Decode image files (JPEG, PNG, ...) to uint8 arrays, with one clear error per bad file."""

import io
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image, UnidentifiedImageError

from nnlab.errors import CorruptFileError

#: PIL's mode for each channel count
_MODES = {1: "L", 3: "RGB"}


def decode(data: bytes, source: str, channels: int) -> np.ndarray:
    """Decode one image to uint8 (H, W, C) with C = `channels` (1 grey or 3 RGB).

    `source` names the file (or archive member) in the error raised when it does not decode.
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            im = _flatten_alpha(im) if im.mode in ("RGBA", "LA", "P") else im
            arr = np.asarray(im.convert(_MODES[channels]))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise CorruptFileError(
            f"{source}: cannot decode the image ({exc}). Replace or delete the file."
        ) from None
    return arr.reshape(arr.shape[0], arr.shape[1], channels)


def decode_many(
    items: Sequence[tuple[bytes, str]], channels: int, *, skip_bad: bool = False
) -> tuple[list[np.ndarray], list[int], list[str]]:
    """Decode many images with a small thread pool (PIL releases the GIL while decoding).

    Parameters
    ----------
    items : sequence of (bytes, source name)
    channels : int
    skip_bad : bool
        Skip undecodable images instead of raising.

    Returns
    -------
    arrays : list of (H, W, C) uint8 arrays, for the images that decoded
    kept : their indices into `items`
    bad : source names of the skipped images
    """

    def one(item):
        try:
            return decode(item[0], item[1], channels)
        except CorruptFileError:
            if skip_bad:
                return None
            raise

    with ThreadPoolExecutor(max_workers=4) as pool:
        decoded = list(pool.map(one, items, chunksize=256))
    arrays = [a for a in decoded if a is not None]
    kept = [i for i, a in enumerate(decoded) if a is not None]
    bad = [items[i][1] for i, a in enumerate(decoded) if a is None]
    return arrays, kept, bad


def stack_hwc(arrays: Sequence[np.ndarray], source: str) -> np.ndarray:
    """Stack equally sized (H, W, C) images into (N, C, H, W); a size mismatch is an error."""
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        raise CorruptFileError(
            f"{source}: images have different sizes {sorted(shapes)[:3]}...; this dataset must "
            f"have one image size (resize them, or load them as a folder set)."
        )
    if not arrays:
        return np.zeros((0, 1, 1, 1), dtype=np.uint8)
    return np.ascontiguousarray(np.stack(arrays).transpose(0, 3, 1, 2))


def _flatten_alpha(im: Image.Image) -> Image.Image:
    """Composite transparent images on white, so transparent pixels do not become black."""
    rgba = im.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba)
