"""Characters rendered from the fonts that ship with matplotlib, jittered into a dataset.

Each (font, character) is drawn once at high resolution with PIL ("master", kept in memory);
a dataset of any size is then made in a few batched torch operations: a random affine map per
image (rotation, scale, shear, aspect, translation) plus a smooth random warp, sampled with
`grid_sample` at twice the output resolution; a random stroke weight (erosion / dilation by a
3x3 maximum filter); 2x2 averaging down to the output size (anti-aliasing); random contrast and
Gaussian noise. A `GlyphStyle` holds the ranges; `NOTMNIST_STYLE` and `NIST_STYLE` imitate
NotMNIST and CMU's NIST36.

Output is deterministic for a given (seed, stream) on a given device, torch and matplotlib
version (the font files are matplotlib's).
"""

import functools
import zlib
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.ft2font import FT2Font
from PIL import Image, ImageDraw, ImageFont

from nnlab.errors import ConfigError, NnlabError

FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"

#: side of a master image; output is sampled at 2x its side (56 or 64), so 64 keeps detail
MASTER_RES = 64
#: font size in pixels for drawing masters, on a canvas of `_CANVAS` pixels
_FONT_PX = 96
_CANVAS = 256
#: images processed per batch, bounding memory to ~100 MB whatever the set's size
_CHUNK = 2048

#: control points per side of the random warp: 3x3 bends whole strokes, finer grids wobble them
_WARP_GRID = 3
_DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclass(frozen=True)
class GlyphStyle:
    """Look of a rendered set: output size, polarity, and the ranges of the random jitter.

    Ranges are (low, high) of a uniform draw per image; single floats are symmetric maxima.

    Parameters
    ----------
    size : int
        Output height = width, pixels.
    dark_ink : bool
        True: dark ink on light paper (NIST); False: white ink on black (NotMNIST).
    fill : float
        Longer side of the glyph's ink box as a fraction of the frame, before `scale`.
    scale : tuple of float
        Random overall scale factor.
    stretch : tuple of float
        0 keeps the glyph's aspect ratio; 1 stretches its ink box to a square (NotMNIST does).
    aspect : float
        Maximum |log| of an extra random width/height factor.
    rotate : float
        Maximum rotation, degrees.
    shear : float
        Maximum horizontal shear factor.
    shift : float
        Maximum translation, as a fraction of half the frame.
    warp : float
        Standard deviation of a smooth random displacement (elastic warp) on a 3x3 control
        grid, as a fraction of half the frame; it varies letter shapes beyond the few fonts.
    stroke : tuple of float
        Stroke weight in 3x3 maximum-filter steps at 2x resolution: -1 thinner, 0 as drawn,
        2 bolder.
    ink : tuple of float
        Ink intensity in [0, 1] (1 = full contrast).
    background : tuple of float
        Paper intensity in [0, 1] (0 = clean paper).
    noise : float
        Maximum standard deviation of the additive Gaussian noise, in [0, 1] units.
    """

    size: int
    dark_ink: bool
    fill: float
    scale: tuple[float, float]
    stretch: tuple[float, float]
    aspect: float
    rotate: float
    shear: float
    shift: float
    warp: float
    stroke: tuple[float, float]
    ink: tuple[float, float]
    background: tuple[float, float]
    noise: float


#: NotMNIST: white on black, 28x28, the glyph's ink box stretched to fill the frame.
NOTMNIST_STYLE = GlyphStyle(
    size=28,
    dark_ink=False,
    fill=1.0,
    scale=(0.72, 1.08),
    stretch=(0.6, 1.0),
    aspect=0.3,
    rotate=15.0,
    shear=0.3,
    shift=0.15,
    warp=0.1,
    stroke=(-0.5, 2.0),
    ink=(0.9, 1.0),
    background=(0.0, 0.03),
    noise=0.04,
)

#: NIST36 (CMU 16-720): dark pen strokes on white, 32x32, letter about 3/4 of the frame.
NIST_STYLE = GlyphStyle(
    size=32,
    dark_ink=True,
    fill=0.72,
    scale=(0.75, 1.1),
    stretch=(0.0, 0.3),
    aspect=0.3,
    rotate=15.0,
    shear=0.3,
    shift=0.15,
    warp=0.1,
    stroke=(0.3, 2.0),
    ink=(0.8, 1.0),
    background=(0.0, 0.03),
    noise=0.03,
)


def _draws(font: FT2Font, char: str) -> bool:
    """True when the font maps `char` to its own glyph (Adobe name), not a symbol or a box."""
    index = font.get_charmap().get(ord(char))
    if index is None:
        return False
    want = _DIGIT_NAMES[int(char)] if char.isdigit() else char
    return font.get_glyph_name(index) in (want, want + "oldstyle")


@functools.lru_cache(maxsize=8)
def fonts_for(chars: str) -> tuple[Path, ...]:
    """matplotlib's TrueType fonts that draw every character of `chars`, sorted by file name.

    A font qualifies when each character maps to the glyph of that name: this keeps DejaVu,
    STIX and Computer Modern faces and drops symbol fonts (cmex10, STIXSize*), empty display
    fonts and LastResort, whose Latin glyphs are all one placeholder.

    Parameters
    ----------
    chars : str
        Upper-case letters and digits.

    Returns
    -------
    tuple of Path
    """
    found = tuple(
        p
        for p in sorted(FONT_DIR.glob("*.ttf"), key=lambda p: p.name)
        if all(_draws(FT2Font(str(p)), c) for c in chars)
    )
    if not found:
        raise NnlabError(
            f"No font under {FONT_DIR} draws all of {chars!r}; expected matplotlib's bundled "
            f"DejaVu/STIX/cm fonts. Reinstall matplotlib (`pip install --force-reinstall "
            f"matplotlib`)."
        )
    return found


def _master(font: ImageFont.FreeTypeFont, char: str) -> tuple[np.ndarray, float]:
    """One character's ink box drawn at high resolution and resized to `MASTER_RES` square.

    Returns
    -------
    image : np.ndarray
        float32 (MASTER_RES, MASTER_RES) in [0, 1], the ink box stretched to fill it.
    aspect : float
        Width / height of the ink box as drawn.
    """
    canvas = Image.new("L", (_CANVAS, _CANVAS))
    ImageDraw.Draw(canvas).text(
        (_CANVAS // 2, _CANVAS // 2), char, fill=255, font=font, anchor="mm"
    )
    left, top, right, bottom = canvas.getbbox()
    box = canvas.crop((left, top, right, bottom)).resize(
        (MASTER_RES, MASTER_RES), Image.Resampling.LANCZOS
    )
    return np.asarray(box, np.float32) / 255.0, (right - left) / (bottom - top)


@functools.lru_cache(maxsize=4)
def masters(chars: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (font, character) of `fonts_for(chars)` drawn once; cached in memory.

    Parameters
    ----------
    chars : str

    Returns
    -------
    images : torch.Tensor
        float32 [F * K, 1, MASTER_RES, MASTER_RES], row f * K + k = font f, character k.
    aspect : torch.Tensor
        float32 [F * K], width / height of each ink box.
    """
    images, aspects = [], []
    for path in fonts_for(chars):
        font = ImageFont.truetype(str(path), _FONT_PX)
        for char in chars:
            image, aspect = _master(font, char)
            images.append(image)
            aspects.append(aspect)
    return torch.from_numpy(np.stack(images)).unsqueeze(1), torch.tensor(aspects)


def generator(seed: int, stream: str) -> torch.Generator:
    """A CPU generator for one (seed, stream) pair; streams such as "glyphs/train" never overlap.

    Parameters
    ----------
    seed : int
        Any integer (taken modulo 2**64).
    stream : str
        Names the sequence (dataset and split), hashed with CRC-32 into the seed.
    """
    state = np.random.SeedSequence([seed % 2**64, zlib.crc32(stream.encode())])
    return torch.Generator().manual_seed(int(state.generate_state(1, np.uint64)[0]))


def _uniform(gen: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return torch.rand(n, generator=gen) * (high - low) + low


def _thetas(aspect: torch.Tensor, style: GlyphStyle, gen: torch.Generator) -> torch.Tensor:
    """Per-image affine maps from output to master coordinates, [N, 2, 3] for `affine_grid`.

    The forward map sends the master's square [-1, 1]^2 onto the glyph's box in the frame:
    out = R(angle) @ Shear @ diag(half_w, half_h) @ master + shift; `affine_grid` wants its
    inverse.
    """
    n = len(aspect)
    scale = style.fill * _uniform(gen, n, *style.scale)
    # aspect ** (1 - stretch): stretch 1 makes the ink box square, like NotMNIST's resize
    shape = aspect ** (1 - _uniform(gen, n, *style.stretch))
    shape = shape * torch.exp(_uniform(gen, n, -style.aspect, style.aspect))
    half_w = scale * torch.clamp(shape, max=1.0)
    half_h = scale / torch.clamp(shape, min=1.0)
    angle = torch.deg2rad(_uniform(gen, n, -style.rotate, style.rotate))
    shear = _uniform(gen, n, -style.shear, style.shear)
    shift = _uniform(gen, 2 * n, -style.shift, style.shift).view(n, 2, 1)
    cos, sin = torch.cos(angle), torch.sin(angle)
    rotation = torch.stack([cos, -sin, sin, cos], 1).view(n, 2, 2)
    shearing = torch.eye(2).repeat(n, 1, 1)
    shearing[:, 0, 1] = shear
    forward = rotation @ shearing @ torch.diag_embed(torch.stack([half_w, half_h], 1))
    inverse = torch.linalg.inv(forward)
    return torch.cat([inverse, -inverse @ shift], 2)  # [N, 2, 3]


def _grids(thetas: torch.Tensor, warps: torch.Tensor, side: int) -> torch.Tensor:
    """Sampling grids for `grid_sample`: each image's affine map plus its smooth warp.

    The map is evaluated at the warp's G x G control points and interpolated bilinearly to every
    output pixel centre; bilinear interpolation reproduces an affine map exactly, so this equals
    `affine_grid` plus an upsampled warp, in two small matmuls instead of both (3x faster).

    Parameters
    ----------
    thetas : torch.Tensor
        float [B, 2, 3], output -> master coordinates.
    warps : torch.Tensor
        float [B, 2, G, G], (x, y) offsets at the control points.
    side : int
        Grid height = width.

    Returns
    -------
    torch.Tensor
        float [B, side, side, 2], (x, y) per pixel, align_corners=False convention.
    """
    centres = (torch.arange(side, device=thetas.device) * 2 + 1) / side - 1  # [S]
    control = torch.linspace(-1 + 1 / side, 1 - 1 / side, warps.shape[-1], device=thetas.device)
    spacing = control[1] - control[0]
    hat = (1 - (centres[:, None] - control[None, :]).abs() / spacing).clamp(min=0)  # [S, G]
    # points[b, c, i, j] = theta[b, c] @ (x_j, y_i, 1) + warp[b, c, i, j]
    points = (
        thetas[:, :, 0, None, None] * control[None, None, None, :]
        + thetas[:, :, 1, None, None] * control[None, None, :, None]
        + thetas[:, :, 2, None, None]
        + warps
    )  # [B, 2, G, G]
    grid = hat @ (points @ hat.T)  # [B, 2, S, S]
    return grid.permute(0, 2, 3, 1)  # [B, S, S, 2]


def _max3(x: torch.Tensor) -> torch.Tensor:
    """3x3 maximum filter, same size, as two separable passes (6x faster than max_pool2d on CPU).

    Parameters
    ----------
    x : torch.Tensor
        float [B, C, H, W].
    """
    p = F.pad(x, (1, 1, 1, 1), value=float("-inf"))  # [B, C, H + 2, W + 2]
    rows = torch.maximum(torch.maximum(p[..., :-2], p[..., 1:-1]), p[..., 2:])
    return torch.maximum(torch.maximum(rows[..., :-2, :], rows[..., 1:-1, :]), rows[..., 2:, :])


def _restroke(hi: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Thin or thicken strokes: piecewise-linear between eroded, drawn, dilated, twice dilated.

    Parameters
    ----------
    hi : torch.Tensor
        float [B, 1, H, W], ink = 1.
    weight : torch.Tensor
        float [B] in [-1, 2], the number of 3x3 dilation steps (negative = erosion).
    """
    w = weight.view(-1, 1, 1, 1)
    once = _max3(hi)
    out = torch.lerp(hi, once, w.clamp(0, 1))
    # the other two terms are exactly zero for weights in [0, 1]; skip them when none needs them
    if (w > 1).any():
        out += (w - 1).clamp(0, 1) * (_max3(once) - once)
    if (w < 0).any():
        out += (-w).clamp(0, 1) * (-_max3(-hi) - hi)
    return out


def render_glyphs(
    chars: str,
    n: int,
    style: GlyphStyle,
    *,
    seed: int,
    stream: str = "",
    device: str | torch.device = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Make `n` jittered images of `chars`, classes balanced (counts differ by at most 1).

    Parameters
    ----------
    chars : str
        One character per class, in label order, e.g. "ABCDEFGHIJ".
    n : int
        Number of images.
    style : GlyphStyle
    seed : int
    stream : str
        Independent random sequence per stream (e.g. "glyphs/test"), so splits share no image.
    device : str or torch.device
        Where the images are computed and returned; random draws stay on the CPU generator.

    Returns
    -------
    x : torch.Tensor
        uint8 [n, 1, size, size].
    y : torch.Tensor
        int64 [n], index into `chars`.
    """
    if n < 0 or not chars:
        raise ConfigError(
            f"render_glyphs needs n >= 0 and at least one character, got n={n}, chars={chars!r}"
        )
    gen = generator(seed, stream)
    images, aspects = masters(chars)
    k = len(chars)
    num_fonts = len(images) // k
    # balanced labels: 0..k-1 repeated, in random order
    y = (torch.arange(n) % k)[torch.randperm(n, generator=gen)]
    which = torch.randint(num_fonts, (n,), generator=gen) * k + y
    thetas = _thetas(aspects[which], style, gen)
    # smooth displacement: a coarse grid of random offsets per image, interpolated per chunk
    warps = torch.randn((n, 2, _WARP_GRID, _WARP_GRID), generator=gen) * style.warp
    stroke = _uniform(gen, n, *style.stroke)
    ink = _uniform(gen, n, *style.ink)
    paper = _uniform(gen, n, *style.background)
    sigma = _uniform(gen, n, 0.0, style.noise)
    images = images.to(device)
    x = torch.empty((n, 1, style.size, style.size), dtype=torch.uint8, device=device)
    for start in range(0, n, _CHUNK):
        part = slice(start, start + _CHUNK)
        b = len(which[part])
        grid = _grids(thetas[part].to(device), warps[part].to(device), 2 * style.size)
        hi = F.grid_sample(images[which[part].to(device)], grid, align_corners=False)
        hi = _restroke(hi, stroke[part].to(device))
        v = F.avg_pool2d(hi, 2)  # [b, 1, size, size], anti-aliased
        low, high = paper[part].view(-1, 1, 1, 1), ink[part].view(-1, 1, 1, 1)
        noise = torch.randn((b, 1, style.size, style.size), generator=gen)
        v = v * (high - low).to(device) + low.to(device)
        v = v + (noise * sigma[part].view(-1, 1, 1, 1)).to(device)
        if style.dark_ink:
            v = 1 - v
        x[part] = (v.clamp(0, 1) * 255).round().to(torch.uint8)
    return x, y.to(device)
