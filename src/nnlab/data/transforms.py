"""Transforms of a whole batch: functions from images [B, C, H, W] to a tensor, no per-image loop.

Each works on the tensor's device. Random transforms take a `torch.Generator` (default: torch's
global CPU generator); their random numbers are drawn on the generator's device and then moved to
the images, so a CPU generator gives the same crops and flips whether the images are on the CPU
or a GPU. Parametrised ones go into a pipeline through `functools.partial`, e.g.
`Compose(partial(random_crop, size=32, padding=4, generator=g), to_signed)`.
"""

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from nnlab.errors import ConfigError

# ---- scaling


def to_float(x: torch.Tensor) -> torch.Tensor:
    """Scale raw images to [0, 1].

    Parameters
    ----------
    x : torch.Tensor
        uint8, any shape (typically [B, C, H, W]).

    Returns
    -------
    torch.Tensor
        float32, same shape, x / 255.
    """
    _check_dtype(x, torch.uint8, "to_float")
    return x.to(torch.float32).div_(255)


def to_signed(x: torch.Tensor) -> torch.Tensor:
    """Scale raw images to [-1, 1]: 0 -> -1 and 255 -> 1 exactly.

    Parameters
    ----------
    x : torch.Tensor
        uint8, any shape (typically [B, C, H, W]).

    Returns
    -------
    torch.Tensor
        float32, same shape, x / 127.5 - 1.
    """
    _check_dtype(x, torch.uint8, "to_signed")
    return x.to(torch.float32).div_(127.5).sub_(1)


def normalize(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Standardise each channel: (x[:, c] - mean[c]) / std[c].

    Parameters
    ----------
    x : torch.Tensor
        Floating point [B, C, H, W] (e.g. from `to_float`).
    mean, std : sequence of float
        C values each; std all positive.

    Returns
    -------
    torch.Tensor
        Same dtype and shape as x.
    """
    _check_images(x, "normalize")
    if not x.is_floating_point():
        raise ConfigError(
            f"normalize expects floating-point images, got {x.dtype}; apply to_float first."
        )
    channels = x.shape[1]
    mean, std = _floats(mean, "mean"), _floats(std, "std")
    if len(mean) != channels or len(std) != channels:
        raise ConfigError(
            f"normalize: images have {channels} channel(s) but mean has {len(mean)} and std "
            f"{len(std)} values; give one per channel (grey_to_rgb first for 3-channel stats)."
        )
    if min(std) <= 0:
        raise ConfigError(f"normalize: std must be positive, got {std}.")
    # [C] -> [C, 1, 1], broadcast over batch, height and width
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    return (x - m) / s


# ---- geometry


def resize(x: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """Resize bilinearly (antialiased when shrinking, as PIL does).

    Parameters
    ----------
    x : torch.Tensor
        [B, C, H, W], uint8 or floating point.
    size : int or (int, int)
        Output (h, w); an int means square.

    Returns
    -------
    torch.Tensor
        [B, C, h, w], x's dtype (uint8 results are rounded and clipped); x itself when the size
        is already (h, w).
    """
    _check_images(x, "resize")
    h, w = _size_pair(size, "resize size")
    if (h, w) == tuple(x.shape[-2:]):
        return x
    # antialias only changes the axes that shrink, so one shrinking axis is enough to turn it on
    shrink = h < x.shape[-2] or w < x.shape[-1]
    xf = x if x.is_floating_point() else x.to(torch.float32)
    out = F.interpolate(xf, size=(h, w), mode="bilinear", align_corners=False, antialias=shrink)
    if x.dtype == torch.uint8:
        return out.round_().clamp_(0, 255).to(torch.uint8)
    return out


def grey_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """Repeat a grey channel three times, for models made for RGB.

    Parameters
    ----------
    x : torch.Tensor
        [B, 1, H, W] or [B, 3, H, W], any dtype.

    Returns
    -------
    torch.Tensor
        [B, 3, H, W]; x itself when it already has 3 channels, else a broadcast view of x
        (no copy: call `.contiguous()` before writing into it in place).
    """
    _check_images(x, "grey_to_rgb")
    channels = x.shape[1]
    if channels == 3:
        return x
    if channels != 1:
        raise ConfigError(
            f"grey_to_rgb expects 1 (grey) or 3 (RGB) channels, got {channels}; "
            f"shape {tuple(x.shape)}."
        )
    return x.expand(-1, 3, -1, -1)


# ---- pixel permutation (the "permuted MNIST" control: same pixels, no spatial structure)


def pixel_permutation(
    num_pixels: int, seed: int, *, device: str | torch.device | None = None
) -> torch.Tensor:
    """A fixed random bijection of pixel positions, the same for the same seed.

    Parameters
    ----------
    num_pixels : int
        H * W of the images it will permute.
    seed : int
        Drawn from its own generator: torch's global RNG is neither read nor advanced.
    device : str or torch.device, optional
        Where the result lives (drawn on the CPU, so identical on every device).

    Returns
    -------
    torch.Tensor
        int64 [num_pixels], a permutation of 0 .. num_pixels - 1.
    """
    if isinstance(num_pixels, bool) or not isinstance(num_pixels, int) or num_pixels < 1:
        raise ConfigError(
            f"pixel_permutation: num_pixels must be a positive int, got {num_pixels!r}."
        )
    gen = torch.Generator().manual_seed(seed)
    return torch.randperm(num_pixels, generator=gen).to(device)


def permute_pixels(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Shuffle every image's pixel positions by one permutation, all channels alike.

    Parameters
    ----------
    x : torch.Tensor
        [B, C, H, W], any dtype.
    perm : torch.Tensor
        int64 [H * W] from `pixel_permutation`.

    Returns
    -------
    torch.Tensor
        [B, C, H, W], x's dtype: out[b, c].flatten()[i] = x[b, c].flatten()[perm[i]].
    """
    _check_images(x, "permute_pixels")
    b, c, h, w = x.shape
    if perm.shape != (h * w,):
        raise ConfigError(
            f"permute_pixels: images are {h}x{w} = {h * w} pixels but the permutation has shape "
            f"{tuple(perm.shape)}; make it with pixel_permutation({h * w}, seed)."
        )
    # [B, C, H, W] -> [B, C, H*W], reorder the pixel axis, -> [B, C, H, W]
    return x.reshape(b, c, h * w)[:, :, perm.to(x.device)].reshape(b, c, h, w)


def unpermute_pixels(x: torch.Tensor, perm: torch.Tensor) -> torch.Tensor:
    """Undo `permute_pixels(x, perm)` (to show permuted images as they were).

    Parameters
    ----------
    x : torch.Tensor
        [B, C, H, W], permuted by `perm`.
    perm : torch.Tensor
        int64 [H * W], the permutation that was applied.

    Returns
    -------
    torch.Tensor
        [B, C, H, W], the original images.
    """
    return permute_pixels(x, torch.argsort(perm))


# ---- augmentation


def center_crop(x: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """The central window of each image, placed as torchvision's `center_crop` places it.

    Parameters
    ----------
    x : torch.Tensor
        [B, C, H, W], any dtype.
    size : int or (int, int)
        Crop (h, w), at most (H, W).

    Returns
    -------
    torch.Tensor
        [B, C, h, w], a view of x.
    """
    _check_images(x, "center_crop")
    h, w = _size_pair(size, "center_crop size")
    if h > x.shape[-2] or w > x.shape[-1]:
        raise ConfigError(
            f"center_crop: a {h}x{w} crop does not fit {tuple(x.shape[-2:])} images; resize "
            f"them first or crop smaller."
        )
    top, left = round((x.shape[-2] - h) / 2), round((x.shape[-1] - w) / 2)
    return x[..., top : top + h, left : left + w]


def random_crop(
    x: torch.Tensor,
    size: int | tuple[int, int],
    padding: int = 0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Crop each image at its own random offset, after zero-padding every side.

    Parameters
    ----------
    x : torch.Tensor
        [B, C, H, W], any dtype.
    size : int or (int, int)
        Crop (h, w), at most (H + 2 * padding, W + 2 * padding).
    padding : int
        Zeros added on each side first (e.g. 4 for the classic CIFAR 32x32 crop).
    generator : torch.Generator, optional
        Source of the offsets, uniform over every window that fits.

    Returns
    -------
    torch.Tensor
        [B, C, h, w], x's dtype.
    """
    _check_images(x, "random_crop")
    h, w = _size_pair(size, "random_crop size")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ConfigError(f"random_crop: padding must be an int >= 0, got {padding!r}.")
    b, _, hp, wp = x.shape
    hp, wp = hp + 2 * padding, wp + 2 * padding
    if h > hp or w > wp:
        raise ConfigError(
            f"random_crop: a {h}x{w} crop does not fit {tuple(x.shape[-2:])} images padded by "
            f"{padding} ({hp}x{wp}); use a smaller size or more padding."
        )
    xp = F.pad(x, (padding,) * 4) if padding else x
    gdev = _generator_device(generator)
    top = torch.randint(0, hp - h + 1, (b,), generator=generator, device=gdev).to(x.device)
    left = torch.randint(0, wp - w + 1, (b,), generator=generator, device=gdev).to(x.device)
    rows = top[:, None] + torch.arange(h, device=x.device)  # [B, h]
    cols = left[:, None] + torch.arange(w, device=x.device)  # [B, w]
    image = torch.arange(b, device=x.device)[:, None, None]  # [B, 1, 1]
    # Index [B, Hp, Wp, C] channels-last with broadcast (image, row, col) indices [B, h, w]:
    # one gather for the whole batch -> [B, h, w, C] -> back to [B, C, h, w].
    out = xp.permute(0, 2, 3, 1)[image, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def random_flip(
    x: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.5
) -> torch.Tensor:
    """Mirror each image left-right with probability p, independently.

    Parameters
    ----------
    x : torch.Tensor
        [B, C, H, W], any dtype.
    generator : torch.Generator, optional
        Source of the coin flips.
    p : float
        Probability of flipping each image, in [0, 1].

    Returns
    -------
    torch.Tensor
        [B, C, H, W], x's dtype.
    """
    _check_images(x, "random_flip")
    if not 0 <= p <= 1:
        raise ConfigError(f"random_flip: p must lie in [0, 1], got {p!r}.")
    gdev = _generator_device(generator)
    flip = torch.rand(x.shape[0], generator=generator, device=gdev) < p
    # [B] -> [B, 1, 1, 1] to choose whole images
    return torch.where(flip.to(x.device).view(-1, 1, 1, 1), x.flip(-1), x)


# ---- chaining


class Compose:
    """Chain batch transforms: `Compose(f, g)(x) == g(f(x))`.

    Parameters
    ----------
    *fns : callable
        Each maps a batch tensor to a batch tensor, applied left to right.
    """

    def __init__(self, *fns: Callable[[torch.Tensor], torch.Tensor]):
        for fn in fns:
            if not callable(fn):
                raise ConfigError(f"Compose takes functions of a batch tensor, got {fn!r}.")
        self.fns = fns

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for fn in self.fns:
            x = fn(x)
        return x

    def __repr__(self) -> str:
        names = ", ".join(getattr(f, "__name__", repr(f)) for f in self.fns)
        return f"Compose({names})"


# ---- checks


def _check_images(x: torch.Tensor, who: str) -> None:
    if x.ndim != 4:
        raise ConfigError(
            f"{who} expects a batch of images [B, C, H, W], got shape {tuple(x.shape)}; "
            f"add the batch axis with x.unsqueeze(0) for one image."
        )


def _check_dtype(x: torch.Tensor, dtype: torch.dtype, who: str) -> None:
    if x.dtype != dtype:
        raise ConfigError(
            f"{who} expects raw {dtype} images, got {x.dtype}; put it first in the pipeline, "
            f"before any transform that converts to float."
        )


def _size_pair(size: int | Sequence[int], what: str) -> tuple[int, int]:
    """(h, w) from an int or a pair of ints, each at least 1."""
    if isinstance(size, int):
        pair = (size, size)
    else:
        pair = tuple(size) if isinstance(size, Sequence) else ()
    if len(pair) != 2 or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in pair):
        raise ConfigError(f"{what} must be an int or (height, width) of ints >= 1, got {size!r}.")
    return pair


def _floats(values: Sequence[float], what: str) -> list[float]:
    """A list of floats from a sequence (or 1-D tensor) of numbers."""
    try:
        return [float(v) for v in values]
    except (TypeError, ValueError):
        raise ConfigError(
            f"normalize: {what} must be a sequence of numbers, one per channel, got {values!r}."
        ) from None


def _generator_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")
