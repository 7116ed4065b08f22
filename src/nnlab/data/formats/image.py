"""Decode image files (JPEG, PNG, ...) to uint8 arrays, with one clear error per bad file.

Every image is turned upright by its EXIF orientation tag, as image viewers show it (phone photos
are often stored sideways with a tag saying so). 16-bit grey images keep their top 8 bits, so
their full range maps onto 0..255; PIL's own conversion would clip every value above 255.
"""

import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from nnlab.errors import CorruptFileError

#: PIL's mode for each channel count
_MODES = {1: "L", 3: "RGB"}
#: PIL modes of single-channel images
GREY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
#: grey modes holding 16-bit values: PIL opens 16-bit PNGs and TIFFs as "I;16*", or as "I"
_WIDE_GREY_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})
#: what PIL raises on a truncated, garbled or unknown image file
_DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError)
#: PIL's own words for an unknown format name a BytesIO object, not the file
_NOT_AN_IMAGE = "not in an image format Pillow reads: JPEG, PNG, BMP, GIF, TIFF, WebP, ..."


def decode(
    data: bytes, source: str, channels: int | None, max_side: int | None = None
) -> np.ndarray:
    """Decode one image to uint8 (H, W, C), upright as its EXIF orientation tag says.

    Parameters
    ----------
    data : bytes
        The encoded image.
    source : str
        Names the file (or archive member) in the `CorruptFileError` raised when it does not
        decode.
    channels : int or None
        1 (grey) or 3 (RGB); None keeps the image's own: 1 for `GREY_MODES`, else 3.
    max_side : int or None
        Shrink an image whose longer side is above this, keeping its aspect ratio, while it is
        decoded: a JPEG's decoder itself scales by 1/2, 1/4 or 1/8 first (`Image.draft`), so a
        large photo never exists in memory at full size; then an antialiased bilinear resize.

    Returns
    -------
    np.ndarray
        uint8 (H, W, C); transparent pixels are composited on white.
    """
    try:
        with Image.open(io.BytesIO(data)) as im:
            if max_side is not None and max(im.size) > max_side:
                im.draft(im.mode, _bounded(im.size, max_side))  # no-op for all but JPEG
            ImageOps.exif_transpose(im, in_place=True)
            channels = channels or (1 if im.mode in GREY_MODES else 3)
            im = _eight_bit(im).convert(_MODES[channels])
            if max_side is not None and max(im.size) > max_side:
                im = im.resize(_bounded(im.size, max_side), Image.Resampling.BILINEAR)
            arr = np.asarray(im)
    except _DECODE_ERRORS as exc:
        why = _NOT_AN_IMAGE if isinstance(exc, UnidentifiedImageError) else str(exc)
        raise CorruptFileError(
            f"{source}: cannot decode the image ({why}). Replace or delete the file."
        ) from None
    return arr.reshape(arr.shape[0], arr.shape[1], channels)


def _bounded(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(width, height) scaled so the longer side is `max_side`, each side at least 1 px."""
    scale = max_side / max(size)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def decode_many(
    items: Sequence[tuple[bytes | Callable[[], bytes], str]],
    channels: int | None,
    *,
    skip_bad: bool = False,
    max_side: int | None = None,
) -> tuple[list[np.ndarray], list[int], list[str]]:
    """Decode many images with a small thread pool (PIL releases the GIL while decoding).

    Parameters
    ----------
    items : sequence of (bytes, source name)
        The bytes may be a function returning them, called in the worker thread: a file read
        there is held only while it decodes, so memory follows the decoded, not encoded, size.
    channels, max_side : int or None
        As in `decode`.
    skip_bad : bool
        Skip images that cannot be read or decoded instead of raising.

    Returns
    -------
    arrays : list of (H, W, C) uint8 arrays, for the images that decoded
    kept : their indices into `items`
    bad : source names of the skipped images
    """

    def one(item):
        data, source = item
        try:
            return decode(data() if callable(data) else data, source, channels, max_side)
        except CorruptFileError:
            if skip_bad:
                return None
            raise

    with ThreadPoolExecutor(max_workers=4) as pool:
        decoded = list(pool.map(one, items, chunksize=16))
    arrays = [a for a in decoded if a is not None]
    kept = [i for i, a in enumerate(decoded) if a is not None]
    bad = [items[i][1] for i, a in enumerate(decoded) if a is None]
    return arrays, kept, bad


def skipped_note(what: str, bad: Sequence[str], total: int, kind: str = "image") -> str:
    """The set's note on the files it skipped: how many, of how many, and the first few."""
    named = ", ".join(bad[:3]) + (", ..." if len(bad) > 3 else "")
    return f"{what}: skipped {len(bad)} unreadable {kind} file(s) of {total}: {named}."


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


def _eight_bit(im: Image.Image) -> Image.Image:
    """`im` in a mode that converts to "L" or "RGB" without loss of meaning.

    16-bit grey keeps its top 8 bits (value >> 8 maps 0..65535 onto 0..255); transparent images
    are composited on white, so transparent pixels do not become black.
    """
    if im.mode in _WIDE_GREY_MODES:
        # (H, W) uint16 or int32 -> (H, W) uint8; "I" may hold values outside 16 bits
        wide = np.clip(np.asarray(im).astype(np.int64), 0, 65535)
        return Image.fromarray((wide >> 8).astype(np.uint8))
    if im.mode not in ("RGBA", "LA", "P"):
        return im
    rgba = im.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba)
