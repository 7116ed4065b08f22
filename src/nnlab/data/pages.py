"""Embedded test pages for OCR: known text drawn in the glyph fonts, with its ground truth.

The real photos of `ocr-photos/` are few and need the data folder; a rendered page needs
nothing, is any size, and its truth is exact, so smoke runs and tests read these. Each character
is drawn on its own, with a random font (one of `nnlab.data.glyphs.fonts_for`'s), size jitter
and a gap to its neighbours of at least `min_gap` of the character height, so a clean page has
exactly one connected blob of ink per character (the letters' own parts aside: none of A-Z,
0-9 has a detached part in these fonts). Then the page gets the troubles of a photo, each
optional: slant (a horizontal shear), Gaussian blur, uneven lighting (a smooth gradient that
darkens one corner) and Gaussian pixel noise.
"""

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from nnlab.data.glyphs import fonts_for, generator
from nnlab.data.loaders.embedded import GLYPH36_CHARS
from nnlab.errors import ConfigError

#: a typical page to read: lines of different lengths, letters and digits, short and long words
SAMPLE_TEXT = "HELLO WORLD\nREAD 42 LINES\nQUICK BROWN FOX 7"


@dataclass(frozen=True)
class Page:
    """A rendered page and what is written on it.

    Parameters
    ----------
    image : np.ndarray
        uint8 (H, W), dark ink on light paper.
    text : str
        The text, one line per written line, words separated by one space.
    boxes : list of tuple of int
        Each character's ink box (top, left, bottom, right) before slant and blur, in reading
        order (spaces have none).
    """

    image: np.ndarray
    text: str
    boxes: list[tuple[int, int, int, int]]


def render_page(
    text: str = SAMPLE_TEXT,
    *,
    seed: int = 0,
    height: int = 40,
    min_gap: float = 0.25,
    slant: float = 0.0,
    blur: float = 0.0,
    lighting: float = 0.0,
    noise: float = 0.0,
) -> Page:
    """Draw `text` as a page: one line per line of `text`, dark ink on white paper.

    Parameters
    ----------
    text : str
        Upper-case letters, digits, spaces and newlines.
    seed : int
        Fixes the fonts, size jitter and spacing, and the noise.
    height : int
        Character height in px (cap height; each character is drawn 0.9-1.1 times it).
    min_gap : float
        Smallest gap between neighbouring characters, as a fraction of `height`; word gaps are
        1.5-2 heights.
    slant : float
        Horizontal shear: x moves by `slant` * (distance above the page's middle), e.g. 0.15.
    blur : float
        Gaussian blur radius, px (0 = none).
    lighting : float
        How much darker the darkest corner's paper is than the brightest's (0-0.8).
    noise : float
        Standard deviation of Gaussian pixel noise, in units of full white (e.g. 0.05).

    Returns
    -------
    Page
    """
    bad = sorted({c for c in text if c not in GLYPH36_CHARS + " \n"})
    if bad:
        raise ConfigError(
            f"render_page draws A-Z, 0-9, spaces and newlines only; the text holds {bad}. "
            f"Write it in capitals and leave out punctuation."
        )
    if height < 8 or not 0 <= lighting <= 0.8 or min(blur, noise, min_gap) < 0:
        raise ConfigError(
            f"render_page needs height >= 8 px, lighting in [0, 0.8] and non-negative blur, "
            f"noise and min_gap; got height={height}, lighting={lighting}, blur={blur}, "
            f"noise={noise}, min_gap={min_gap}."
        )
    rng = np.random.default_rng(generator(seed, "pages").initial_seed())
    fonts = fonts_for(GLYPH36_CHARS)
    lines = text.split("\n")
    margin, pitch = 2 * height, 2 * height  # line pitch: a character height of space between
    width = margin * 2 + max(1, max(len(line) for line in lines)) * 2 * height
    page = Image.new("L", (width, margin * 2 + len(lines) * pitch), 255)
    boxes = []
    for row, line in enumerate(lines):
        x, baseline = margin, margin + row * pitch + height
        for char in line:
            if char == " ":
                x += round(height * rng.uniform(1.5, 2.0))
                continue
            glyph = _glyph(char, fonts[rng.integers(len(fonts))], height * rng.uniform(0.9, 1.1))
            top = baseline - glyph.height
            page.paste(0, (x, top), glyph)  # the glyph's ink as a mask: black ink on the paper
            boxes.append((top, x, baseline, x + glyph.width))
            x += glyph.width + round(height * rng.uniform(min_gap, min_gap + 0.2))
    return Page(_photo_troubles(page, rng, slant, blur, lighting, noise), text, boxes)


def _glyph(char: str, font_path, size: float) -> Image.Image:
    """One character's ink, cropped to its box, scaled so its height is `size` px (mode "L")."""
    font = ImageFont.truetype(str(font_path), 96)
    canvas = Image.new("L", (256, 256))
    ImageDraw.Draw(canvas).text((128, 128), char, fill=255, font=font, anchor="mm")
    ink = canvas.crop(canvas.getbbox())
    scale = size / ink.height
    return ink.resize((max(1, round(ink.width * scale)), max(1, round(size))), Image.LANCZOS)


def _photo_troubles(
    page: Image.Image,
    rng: np.random.Generator,
    slant: float,
    blur: float,
    lighting: float,
    noise: float,
) -> np.ndarray:
    """Shear, blur, uneven lighting and noise, in that order: uint8 (H, W)."""
    w, h = page.size
    if slant:
        # output (x, y) samples input (x + slant * (y - h/2), y): the upper part leans right
        page = page.transform(
            (w, h),
            Image.AFFINE,
            (1, slant, -slant * h / 2, 0, 1, 0),
            Image.BILINEAR,
            fillcolor=255,
        )
    if blur:
        page = page.filter(ImageFilter.GaussianBlur(blur))
    grey = np.asarray(page, np.float32) / 255
    if lighting:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        angle = rng.uniform(0, 2 * np.pi)
        ramp = np.cos(angle) * xx / w + np.sin(angle) * yy / h
        ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)  # 0..1 across the page
        grey = grey * (1 - lighting * ramp)
    if noise:
        grey = grey + rng.normal(0, noise, grey.shape).astype(np.float32)
    return (grey.clip(0, 1) * 255).round().astype(np.uint8)
