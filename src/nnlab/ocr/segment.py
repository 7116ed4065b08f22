"""Find the characters on a page: one box per character, from a photo or a scan.

The steps, each for a reason a real photo gives:

1. grey-scale, any input (RGB, RGBA composited on white, 16-bit, float; light text on a dark
   page is inverted), and shrink a large photo to `max_side` px (speed; text stays legible);
2. divide by the paper's own brightness, estimated by a wide median, so uneven lighting and
   shadows become flat "how much darker than the paper here" (`ink`, 0 = paper);
3. denoise with a small Gaussian (JPEG blocks, paper grain), then threshold with Otsu's method,
   never below a floor well above the paper's noise, so a blank page stays blank;
4. close small breaks in the strokes (a disc of half the stroke width) and take 8-connected
   components;
5. merge components that overlap horizontally and nearly touch vertically (a broken stroke, the
   bar of an I drawn apart) and drop specks (dots, dust) by their size relative to the page's
   typical character.

All sizes are relative to what the page shows (stroke width, typical character height), so the
same settings work on a 300-px rendered page and a 12-megapixel photo.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image
from scipy import ndimage as ndi
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from skimage import filters, measure, morphology

from nnlab.errors import ConfigError

#: longest side the page is shrunk to before segmenting (characters stay tens of px tall)
MAX_SIDE = 2000
#: the paper's brightness is the median over this fraction of the page's shorter side
BACKGROUND_WINDOW = 0.09
#: Gaussian denoising, px at the working resolution
DENOISE_SIGMA = 1.0
#: the threshold is at least this many robust standard deviations of the paper above it ...
NOISE_FLOOR = 8.0
#: ... and at least this contrast (ink 10 % darker than the paper)
MIN_CONTRAST = 0.1
#: a component smaller than this fraction of the typical character's area is a speck
SPECK_AREA = 0.15
#: ... and so is one whose box is within this fraction of the typical height both ways (a dot)
DOT_SIZE = 0.3
#: components overlapping by this fraction of the narrower one's width are one character ...
MERGE_OVERLAP = 0.5
#: ... when the vertical gap between them is below this fraction of the typical height
MERGE_GAP = 0.4
#: smaller than this (px, at the working resolution) is never a character
MIN_SIDE = 3


class Box(NamedTuple):
    """A character's bounding box in image pixels: rows [top, bottom), columns [left, right)."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        """Rows covered."""
        return self.bottom - self.top

    @property
    def width(self) -> int:
        """Columns covered."""
        return self.right - self.left

    @property
    def centre_y(self) -> float:
        """Vertical centre, px."""
        return (self.top + self.bottom) / 2


@dataclass(frozen=True)
class Segmentation:
    """What `segment` found on a page.

    Parameters
    ----------
    boxes : list of Box
        One per character, in the input image's pixel coordinates, sorted by (top, left).
    working_boxes : list of Box
        The same boxes at the working resolution (the pixels of `labels` they cover).
    labels : np.ndarray
        int32 (h, w) at the working resolution: 0 = paper, i + 1 = the ink of `boxes[i]`
        (thresholded, before closing: the strokes as written).
    scale : float
        Working resolution / input resolution (1.0 unless the page was shrunk).
    stroke : float
        Typical stroke width, px at the working resolution (0 when nothing was found).
    """

    boxes: list[Box]
    working_boxes: list[Box]
    labels: np.ndarray
    scale: float
    stroke: float


def to_grey(image) -> np.ndarray:
    """Any page image as grey float32 (H, W) in [0, 1], 1 = white.

    Parameters
    ----------
    image : np.ndarray or torch.Tensor
        NumPy (H, W) or (H, W, C); torch [H, W] or [C, H, W] (each library's own layout). C is
        1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA); transparency is composited on white.
        uint8, uint16 and other integer types use their full range; floats are taken as [0, 1];
        bool as black/white.

    Returns
    -------
    np.ndarray
        float32 (H, W).
    """
    if isinstance(image, torch.Tensor):
        array = image.detach().cpu().numpy()
        if array.ndim == 3:
            array = np.moveaxis(array, 0, -1)  # [C, H, W] -> (H, W, C)
    else:
        array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 2, 3, 4):
        raise ConfigError(
            f"an OCR page must be a grey (H, W) or colour (H, W, 1-4) image (torch: [C, H, W]), "
            f"got shape {array.shape}; pass one image, not a batch."
        )
    values = _unit_range(array)
    channels = values.shape[2]
    colour, alpha = (values[:, :, :-1], values[:, :, -1:]) if channels in (2, 4) else (values, 1)
    grey = colour.mean(2, keepdims=True) * alpha + (1 - alpha)  # transparent -> white paper
    return np.ascontiguousarray(grey[:, :, 0], dtype=np.float32)


def _unit_range(array: np.ndarray) -> np.ndarray:
    """Pixel values as float32 in [0, 1] by their dtype's range."""
    if array.dtype == bool:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        info = np.iinfo(array.dtype)
        return ((array.astype(np.float64) - info.min) / (info.max - info.min)).astype(np.float32)
    if np.issubdtype(array.dtype, np.floating):
        return np.nan_to_num(array.astype(np.float32), nan=1.0).clip(0, 1)
    raise ConfigError(f"an OCR page must hold numbers, got dtype {array.dtype}.")


def ink_map(grey: np.ndarray) -> np.ndarray:
    """How much darker than the local paper each pixel is: float32 (H, W), 0 = paper, 1 = black.

    The paper's brightness is the median of block maxima over `BACKGROUND_WINDOW` of the
    shorter side: strokes are thin, so they fill a small part of any such window and the median
    is the paper, lit as it is there. Dividing by it flattens uneven lighting and shadows. A page
    that is mostly dark (light writing on a board) is inverted first.

    Parameters
    ----------
    grey : np.ndarray
        float32 (H, W) in [0, 1], from `to_grey`.
    """
    if np.median(grey) < 0.5:
        grey = 1 - grey
    h, w = grey.shape
    block = max(1, min(h, w) // 100)
    # (H, W) -> (H/b, b, W/b, b) -> the brightest pixel of each b x b block: paper, not ink
    hb, wb = max(1, h // block), max(1, w // block)
    blocks = grey[: hb * block, : wb * block].reshape(hb, block, wb, block).max((1, 3))
    size = max(3, round(BACKGROUND_WINDOW * min(h, w) / block)) | 1
    paper = ndi.median_filter(blocks, size=size, mode="nearest")
    paper = ndi.zoom(paper, (h / hb, w / wb), order=1, mode="nearest", grid_mode=True)[:h, :w]
    ink = 1 - grey / np.maximum(paper, 1e-3)
    return ndi.gaussian_filter(ink.clip(0, 1), DENOISE_SIGMA).astype(np.float32)


def threshold(ink: np.ndarray) -> float:
    """Ink level above which a pixel is writing: Otsu's, floored above the paper's noise.

    Parameters
    ----------
    ink : np.ndarray
        float32 (H, W) from `ink_map`.
    """
    centre = float(np.median(ink))
    spread = 1.4826 * float(np.median(np.abs(ink - centre)))  # robust sigma of the paper
    floor = max(centre + NOISE_FLOOR * spread, MIN_CONTRAST)
    if ink.max() <= floor:
        return floor
    return max(float(filters.threshold_otsu(ink)), floor)


def segment(image, *, max_side: int = MAX_SIDE) -> Segmentation:
    """Find the characters on a page (see the module's steps).

    Parameters
    ----------
    image : np.ndarray or torch.Tensor
        A page: see `to_grey` for the layouts and dtypes accepted.
    max_side : int
        A page larger than this (px) is shrunk to it first.

    Returns
    -------
    Segmentation
        Boxes (in `image`'s coordinates), the labelled ink and the working scale. A page with
        nothing on it, or too small to hold a character, gives no boxes.
    """
    if max_side < 32:
        raise ConfigError(f"max_side must be at least 32 px, got {max_side}.")
    grey = to_grey(image)
    h, w = grey.shape
    scale = min(1.0, max_side / max(h, w, 1))
    if scale < 1:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        grey = np.asarray(Image.fromarray(grey).resize(size, Image.Resampling.BOX))
    empty = Segmentation([], [], np.zeros(grey.shape, np.int32), scale, 0.0)
    if min(grey.shape) < MIN_SIDE:
        return empty
    ink = ink_map(grey)
    mask = ink > threshold(ink)
    if not mask.any():
        return empty
    stroke = _stroke_width(mask)
    closed = morphology.closing(mask, morphology.disk(max(1, round(stroke / 2))))
    components, count = ndi.label(closed, structure=np.ones((3, 3)))  # 8-connected
    group = _characters(
        _boxes_array(ndi.find_objects(components)),
        np.bincount(components[mask], minlength=count + 1)[1:],  # ink px per component
    )
    # each character's own strokes: the thresholded ink of its (closed) components, with
    # characters numbered in (top, left) order
    labels = np.where(mask, np.concatenate([[0], group])[components], 0).astype(np.int32)
    working = [Box(r.start, c.start, r.stop, c.stop) for r, c in ndi.find_objects(labels)]
    order = sorted(range(len(working)), key=lambda i: (working[i].top, working[i].left))
    relabel = np.zeros(len(working) + 1, np.int32)
    relabel[[i + 1 for i in order]] = np.arange(1, len(working) + 1)
    working = [working[i] for i in order]
    return Segmentation(
        [_to_input(b, scale, h, w) for b in working], working, relabel[labels], scale, stroke
    )


def find_letters(image, *, max_side: int = MAX_SIDE) -> list[Box]:
    """The characters' boxes on a page, sorted by (top, left): `segment(image).boxes`.

    Parameters
    ----------
    image : np.ndarray or torch.Tensor
        See `to_grey`.
    max_side : int
        See `segment`.

    Returns
    -------
    list of Box
        In the image's pixel coordinates; empty for a blank page.
    """
    return segment(image, max_side=max_side).boxes


def _stroke_width(mask: np.ndarray) -> float:
    """Typical stroke width, px: 2 * ink area / ink perimeter (a stroke is long and thin)."""
    return 2 * float(mask.sum()) / max(float(measure.perimeter(mask)), 1.0)


def _boxes_array(slices: list) -> np.ndarray:
    """float [n, 4] of (top, left, bottom, right) from `find_objects` slices."""
    return np.array([[r.start, c.start, r.stop, c.stop] for r, c in slices], float).reshape(-1, 4)


def _characters(boxes: np.ndarray, areas: np.ndarray) -> np.ndarray:
    """Which character each component belongs to: merged parts share one, specks get 0.

    Parameters
    ----------
    boxes : np.ndarray
        float [n, 4], each component's (top, left, bottom, right).
    areas : np.ndarray
        int [n], each component's ink pixels.

    Returns
    -------
    np.ndarray
        int [n]: 1.. for characters (in no particular order), 0 for specks.
    """
    n = len(boxes)
    sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    keep = sides >= MIN_SIDE  # pixel noise never takes part
    group = np.where(keep, np.arange(n), -1)
    typical = _typical(boxes[keep, 2] - boxes[keep, 0], areas[keep]) if keep.any() else 0.0
    # merge until no two groups' boxes qualify (a merged box may reach a third component)
    while True:
        ids = np.unique(group[group >= 0])
        merged = np.array([_union(boxes[group == g]) for g in ids]).reshape(-1, 4)
        link = _one_character(merged, typical)
        count, which = connected_components(csr_matrix(link), directed=False)
        if count == len(ids):
            break
        group[group >= 0] = which[np.searchsorted(ids, group[group >= 0])]
    ids = np.unique(group[group >= 0])
    out = np.zeros(n, np.int64)
    final = np.array([_union(boxes[group == g]) for g in ids]).reshape(-1, 4)
    ink = np.array([areas[group == g].sum() for g in ids])
    typical_area = _typical(ink, ink) if len(ids) else 0.0
    for k, g in enumerate(ids):
        box_sides = final[k, 2:] - final[k, :2]
        dot = box_sides.max() < DOT_SIZE * typical
        if not dot and ink[k] >= SPECK_AREA * typical_area:
            out[group == g] = k + 1
    # characters numbered 1.. without gaps
    _, dense = np.unique(out, return_inverse=True)
    return dense if (out == 0).any() else dense + 1


def _typical(values: np.ndarray, weights: np.ndarray) -> float:
    """The median of `values` weighted by `weights`: dust and dots, however many, count little."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order], dtype=float)
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def _union(boxes: np.ndarray) -> np.ndarray:
    """The box around boxes [k, 4]."""
    return np.concatenate([boxes[:, :2].min(0), boxes[:, 2:].max(0)])


def _one_character(boxes: np.ndarray, typical: float) -> np.ndarray:
    """bool [n, n]: whether boxes i and j ([top, left, bottom, right]) are parts of one character.

    They are when they overlap horizontally by `MERGE_OVERLAP` of the narrower one, lie less
    than `MERGE_GAP` typical heights apart vertically, and together are not taller than a
    character and a half (so characters of two lines stay apart).
    """
    top, left, bottom, right = (boxes[:, k] for k in range(4))
    overlap = np.minimum(right[:, None], right) - np.maximum(left[:, None], left)
    narrower = np.minimum((right - left)[:, None], right - left)
    gap = np.maximum(top[:, None], top) - np.minimum(bottom[:, None], bottom)
    height = np.maximum(bottom[:, None], bottom) - np.minimum(top[:, None], top)
    return (
        (overlap >= MERGE_OVERLAP * narrower)
        & (gap < MERGE_GAP * typical)
        & (height < 1.5 * typical)
    )


def _to_input(box: Box, scale: float, h: int, w: int) -> Box:
    """A working-resolution box in the input image's coordinates (outward rounding)."""
    if scale == 1:
        return box
    return Box(
        int(box.top / scale),
        int(box.left / scale),
        min(h, int(np.ceil(box.bottom / scale))),
        min(w, int(np.ceil(box.right / scale))),
    )
