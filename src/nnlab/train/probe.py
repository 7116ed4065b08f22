"""Linear probes on cached features.

`LinearProbe` is a model frozen but for its head. Without augmentation the frozen part is a
fixed function of each image, so its features are computed once (`extract_features`, a
`FeatureSet`) and only the head trains on them: the whole probe costs about one forward pass
per image.
"""

import time
from dataclasses import dataclass

import torch
from torch import nn

from nnlab.data import ImageSet, batches
from nnlab.data.imageset import LabelledTensors
from nnlab.data.pipeline import Transform
from nnlab.errors import ConfigError
from nnlab.models.surgery import Frozen, freeze, head_name


@dataclass(frozen=True)
class FeatureSet(LabelledTensors):
    """Fixed features of a set's images, `ImageSet`-like so `fit` and `evaluate` take it.

    Parameters
    ----------
    x : torch.Tensor
        float32 [N, D]: what the frozen part of a model makes of each image.
    y : torch.Tensor
        int64 [N] labels.
    classes : tuple of str
    name, split : str
    seconds : float
        Time it took to compute them.
    """

    x: torch.Tensor
    y: torch.Tensor
    classes: tuple[str, ...]
    name: str
    split: str = ""
    seconds: float = 0.0


def extract_features(
    model: nn.Module,
    images: ImageSet,
    *,
    transform: Transform | None,
    device: torch.device,
    batch_size: int = 256,
) -> FeatureSet:
    """The input of `model`'s head for every image, in eval mode and without gradients.

    Parameters
    ----------
    model : nn.Module
        A model whose head (`head_name`) is its last operation and takes [B, D].
    images : ImageSet
    transform : callable, optional
        Batch transform to the model's input.
    device : torch.device
    batch_size : int

    Returns
    -------
    FeatureSet
        Features [N, D] on `device`, in the set's order.
    """
    head = model.get_submodule(head_name(model))
    captured: list[torch.Tensor] = []
    handle = head.register_forward_hook(lambda module, args, out: captured.append(args[0]))
    was_training = model.training
    model.to(device).eval()
    start = time.perf_counter()
    first_output = None
    try:
        # no_grad, not inference_mode: the features must be usable in the head's backward
        with torch.no_grad():
            for xb, _ in batches(images.to(device), batch_size, transform=transform):
                out = model(xb)
                first_output = out if first_output is None else first_output
    finally:
        handle.remove()
        model.train(was_training)
    with torch.no_grad():  # after the hook is gone: checking calls the head once more
        _check_head_is_last(model, head, captured[0], first_output)
    x = torch.cat(captured)
    assert len(x) == len(images), (len(x), len(images))
    seconds = time.perf_counter() - start
    return FeatureSet(x, images.y.to(device), images.classes, images.name, images.split, seconds)


def _check_head_is_last(model: nn.Module, head: nn.Module, x: torch.Tensor, out: torch.Tensor):
    """Refuse a model whose output is not head(features): its features cannot stand in."""
    ok = x.ndim == 2
    if ok:
        expected = head(x)
        ok = expected.shape == out.shape and torch.allclose(expected, out, rtol=1e-4, atol=1e-5)
    if not ok:
        raise ConfigError(
            f"{type(model).__name__}'s head {head_name(model)!r} is not its last layer (or does "
            f"not take [B, D] features), so a probe on cached features does not apply; set "
            f"cache_features=false to train the head on the images instead."
        )


class LinearProbe:
    """A model frozen but for its head, and what to train: the head on cached features, or the
    model on images.

    Parameters
    ----------
    model : nn.Module
        A zoo model; `freeze(model, except_=[head])` is applied to it.
    transform : callable
        Batch transform from raw images to the model's input.
    device : torch.device
    cache : bool
        Compute the frozen features once and train only the head on them (no augmentation may
        be wanted then); False trains the whole (frozen) model on images, at the cost of a
        forward pass through the frozen part at every step.

    Attributes
    ----------
    frozen : Frozen
        What was frozen (`describe()` for the report).
    trainable : nn.Module
        What `fit` trains and `evaluate` scores: the head (cache) or the model.
    transform : callable or None
        The batch transform for `trainable`'s inputs (None for features).
    feature_seconds : float
        Time spent computing features so far.
    """

    def __init__(
        self, model: nn.Module, *, transform: Transform, device: torch.device, cache: bool = True
    ):
        self.model, self.device, self.cache = model, device, cache
        self.frozen: Frozen = freeze(model, except_=[head_name(model)])
        self.trainable = model.get_submodule(head_name(model)) if cache else model
        self.transform = None if cache else transform
        self._image_transform = transform
        self.feature_seconds = 0.0

    def inputs(self, images: ImageSet) -> ImageSet | FeatureSet:
        """What `trainable` takes for `images`: their cached features, or the images."""
        if not self.cache:
            return images
        features = extract_features(
            self.model, images, transform=self._image_transform, device=self.device
        )
        self.feature_seconds += features.seconds
        return features
