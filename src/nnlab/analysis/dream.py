"""Deep dream: change an input by gradient ascent until a network sees a chosen class in it.

The image is the variable; each step moves it along the normalised gradient of

    objective = target logit - weight * penalty(image),

the penalty being the image's total variation ("tv": mean absolute difference of neighbouring
pixels, for smooth strokes) or its mean square ("l2": small values). Before each step the image
is shifted by a random few pixels (jitter), so the result cannot rely on exact pixel positions.
With `octaves` > 1 the image is first optimised at coarse resolutions (each `octave_scale` times
smaller, upsampled to the network's input size before the forward pass), then at finer ones:
large structures form before details. Values stay within `bounds` (the input range).
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nnlab.errors import ConfigError

PENALTIES = ("tv", "l2")


@dataclass(frozen=True)
class Dream:
    """A dreamed image and what the network makes of it.

    Attributes
    ----------
    image : torch.Tensor
        float32 [C, H, W] in the model's input units (e.g. [-1, 1]), on the CPU.
    target : int
    probability : float
        Softmax probability of `target` for the final image (no jitter), in [0, 1].
    predicted : int
        The network's argmax class for it.
    """

    image: torch.Tensor
    target: int
    probability: float
    predicted: int


def total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of vertically plus horizontally neighbouring pixels.

    Parameters
    ----------
    x : torch.Tensor
        [..., H, W] with H, W >= 2.

    Returns
    -------
    torch.Tensor
        A scalar: mean |x[i+1, j] - x[i, j]| + mean |x[i, j+1] - x[i, j]|.
    """
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (
        x[..., :, 1:] - x[..., :, :-1]
    ).abs().mean()


def deep_dream(
    model: nn.Module,
    start: torch.Tensor,
    target: int,
    *,
    steps: int = 200,
    lr: float = 0.02,
    jitter: int = 2,
    penalty: str = "tv",
    weight: float = 1.0,
    octaves: int = 1,
    octave_scale: float = 1.5,
    bounds: tuple[float, float] = (-1.0, 1.0),
    seed: int = 0,
) -> Dream:
    """Gradient ascent on an input image to maximise one class logit of `model`.

    Parameters
    ----------
    model : nn.Module
        Maps [1, C, H, W] to logits [1, K]; run in eval mode (restored afterwards), its
        parameters untouched.
    start : torch.Tensor
        [C, H, W] (or [1, C, H, W]) in model input units: noise or a real image.
    target : int
        The class whose logit is maximised.
    steps : int
        Steps per octave.
    lr : float
        Step size: the mean absolute change of the image per step.
    jitter : int
        Largest random shift in pixels (each axis) before each step; 0 for none.
    penalty : str
        "tv" (total variation) or "l2" (mean square).
    weight : float
        Penalty weight, 0 or more.
    octaves : int
        Resolutions to optimise at, coarsest first; 1 = only the input's own.
    octave_scale : float
        Size ratio between successive octaves (more than 1).
    bounds : (float, float)
        The image is clamped to [low, high] after every step.
    seed : int
        Seeds the jitter.

    Returns
    -------
    Dream
    """
    _check(steps, lr, jitter, penalty, weight, octaves, octave_scale, bounds)
    image = start.detach().float().reshape(-1, *start.shape[-3:])[:1]  # [1, C, H, W]
    device = next((p.device for p in model.parameters()), image.device)
    size = tuple(image.shape[-2:])
    generator = torch.Generator().manual_seed(seed)
    penalise = total_variation if penalty == "tv" else (lambda x: x.pow(2).mean())
    was_training = model.training
    model.eval()
    try:
        # octave o (coarsest first) optimises an image `octave_scale ** o` times smaller
        variable = image.to(device)
        for o in reversed(range(octaves)):
            shape = tuple(max(2, round(s / octave_scale**o)) for s in size)
            variable = _resize(variable, shape).clamp(*bounds).requires_grad_(True)
            for _ in range(steps):
                full = _resize(variable, size)  # what the network sees: [1, C, H, W]
                shift = torch.randint(-jitter, jitter + 1, (2,), generator=generator).tolist()
                logit = model(torch.roll(full, shifts=shift, dims=(-2, -1)))[0, target]
                objective = logit - weight * penalise(full)
                (grad,) = torch.autograd.grad(objective, variable)
                with torch.no_grad():
                    variable += lr * grad / (grad.abs().mean() + 1e-12)
                    variable.clamp_(*bounds)
            variable = variable.detach()
        final = _resize(variable, size)
        with torch.no_grad():
            probabilities = F.softmax(model(final), dim=1)[0]
    finally:
        model.train(was_training)
    return Dream(
        image=final[0].cpu(),
        target=target,
        probability=float(probabilities[target]),
        predicted=int(probabilities.argmax()),
    )


def _resize(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """x [1, C, h, w] resized to `shape` (bilinear; unchanged when already that size)."""
    if tuple(x.shape[-2:]) == tuple(shape):
        return x
    return F.interpolate(x, size=shape, mode="bilinear", align_corners=False)


def _check(steps, lr, jitter, penalty, weight, octaves, octave_scale, bounds) -> None:
    """Refuse deep-dream settings out of range, naming them."""
    if penalty not in PENALTIES:
        raise ConfigError(f"deep dream penalty must be one of {PENALTIES}, got {penalty!r}.")
    for name, value in (("steps", steps), ("octaves", octaves)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"deep dream {name} must be a positive integer, got {value!r}.")
    if isinstance(jitter, bool) or not isinstance(jitter, int) or jitter < 0:
        raise ConfigError(f"deep dream jitter must be an integer >= 0 pixels, got {jitter!r}.")
    if not lr > 0 or not weight >= 0 or not octave_scale > 1:
        raise ConfigError(
            f"deep dream needs lr > 0, weight >= 0 and octave_scale > 1; got lr={lr!r}, "
            f"weight={weight!r}, octave_scale={octave_scale!r}."
        )
    if not bounds[0] < bounds[1]:
        raise ConfigError(f"deep dream bounds must be (low, high) with low < high, got {bounds}.")
