"""The model registry: architecture names -> constructors, so settings can name a model.

`build("cnn", channels=[32, 64], num_classes=10)` constructs one; an unknown name lists the known
ones with close matches.
"""

from collections.abc import Callable
from typing import Any

from torch import nn

from nnlab.registry import Registry

#: architecture name -> constructor(**settings) -> nn.Module
MODELS: Registry[Callable[..., nn.Module]] = Registry("model", "nnlab models")


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator registering a constructor (a class or a function) under `name`."""
    return MODELS.register(name)


def build(name: str, **settings: Any) -> nn.Module:
    """Construct the model registered as `name` with its keyword settings.

    Parameters
    ----------
    name : str
        A registered architecture ("mlp", "resnet18", ...).
    **settings
        Passed to the constructor (e.g. num_classes).
    """
    return MODELS.get(name)(**settings)
