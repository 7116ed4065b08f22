"""Model surgery for transfer learning: a new head, and a frozen backbone that stays frozen.

`replace_head(model, 7)` swaps the classification layer for a fresh one with 7 outputs.
`freeze(model, except_=["fc"])` stops gradients to everything else *and* keeps it in eval mode:
`model.train()` (which `fit` calls) no longer reaches the frozen parts, so their BatchNorm layers
keep normalising with their pretrained running statistics (and never update them) and their
dropout stays off. A frozen part is then a fixed function of its input, as a feature extractor
must be.
"""

import types
from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from nnlab.errors import ConfigError


def head_name(model: nn.Module) -> str:
    """The dotted name of a model's classification layer (its class's `head_name`)."""
    name = getattr(model, "head_name", None)
    if not isinstance(name, str):
        raise ConfigError(
            f"{type(model).__name__} does not say which layer is its head (no `head_name`); "
            f"pass the layer's name, e.g. replace_head(model, 10, name='classifier.2')."
        )
    return name


def replace_head(model: nn.Module, num_classes: int, *, name: str | None = None) -> nn.Module:
    """Replace the classification layer by a freshly initialised one with `num_classes` outputs.

    Parameters
    ----------
    model : nn.Module
        Changed in place.
    num_classes : int
        Outputs of the new layer.
    name : str, optional
        Dotted name of the layer (default: `head_name(model)`). A Linear is replaced by a Linear
        of the same input size (PyTorch's default initialisation); a 1×1 Conv2d (SqueezeNet) by
        one of the same input channels, initialised N(0, 0.01) as torchvision does.

    Returns
    -------
    nn.Module
        The new layer, on the old one's device and dtype.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ConfigError(f"replace_head: num_classes must be a positive int, got {num_classes!r}.")
    name = name or head_name(model)
    try:
        old = model.get_submodule(name)
    except AttributeError:
        raise ConfigError(
            f"replace_head: {type(model).__name__} has no layer {name!r}; its top-level layers "
            f"are {', '.join(n for n, _ in model.named_children())}."
        ) from None
    if isinstance(old, nn.Linear):
        new: nn.Module = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    elif isinstance(old, nn.Conv2d) and old.kernel_size == (1, 1):
        new = nn.Conv2d(old.in_channels, num_classes, kernel_size=1)
        nn.init.normal_(new.weight, mean=0.0, std=0.01)
        nn.init.zeros_(new.bias)
    else:
        raise ConfigError(
            f"replace_head: {name!r} is a {type(old).__name__}; only a Linear or a 1x1 Conv2d "
            f"head can be replaced."
        )
    new.to(device=old.weight.device, dtype=old.weight.dtype)
    model.set_submodule(name, new)
    return new


@dataclass(frozen=True)
class Frozen:
    """What `freeze` did.

    Parameters
    ----------
    frozen_parameters, trainable_parameters : int
        Scalar parameters that no longer train, and those that still do.
    frozen_modules : tuple of str
        The largest frozen sub-modules (held in eval mode), by name.
    trainable : tuple of str
        The `except_` names that still train.
    batchnorms : int
        BatchNorm layers in the frozen part: their running statistics are kept as they were.
    """

    frozen_parameters: int
    trainable_parameters: int
    frozen_modules: tuple[str, ...]
    trainable: tuple[str, ...]
    batchnorms: int

    def describe(self) -> str:
        """One sentence for a report."""
        text = (
            f"Frozen: {self.frozen_parameters:,} parameters ({_short_list(self.frozen_modules)}), "
            f"held in eval mode"
        )
        if self.batchnorms:
            text += (
                f", so its {self.batchnorms} BatchNorm layers keep their running statistics "
                f"(they normalise with them and do not update them)"
            )
        return text + (
            f"; trained: {self.trainable_parameters:,} parameters "
            f"({', '.join(self.trainable) or 'none'})."
        )


def freeze(model: nn.Module, except_: Sequence[str] = ()) -> Frozen:
    """Freeze every part of `model` but `except_`: no gradients, and eval mode for good.

    Parameters
    ----------
    model : nn.Module
        Changed in place.
    except_ : sequence of str
        Dotted names of modules (or parameters) that keep training, e.g. ["fc"] or
        ["layer4", "fc"]; everything else is frozen.

    Returns
    -------
    Frozen
        Counts and names, with a sentence for the report (`describe()`).

    Notes
    -----
    The largest sub-modules holding nothing of `except_` get requires_grad=False and a `train`
    method that always switches them to eval mode, so `model.train()` leaves them in eval:
    BatchNorm uses (and keeps) its running statistics and dropout is off. Parameters that sit
    directly on a module that also holds a kept part are frozen but that module's mode is left
    alone.
    """
    if isinstance(except_, str):
        raise ConfigError(f"freeze: except_ must be a list of names, got the string {except_!r}.")
    kept = list(except_)
    params = dict(model.named_parameters())
    modules = dict(model.named_modules())
    unknown = [k for k in kept if k not in modules and k not in params]
    if unknown:
        top = ", ".join(n for n, _ in model.named_children())
        raise ConfigError(
            f"freeze: {type(model).__name__} has no module or parameter {', '.join(unknown)}; "
            f"its top-level modules are {top}."
        )
    for name, p in params.items():
        p.requires_grad_(any(_within(name, k) for k in kept))
    roots = _frozen_roots(model, "", kept)
    for root in roots:
        _hold_in_eval(modules[root])
    batchnorms = sum(
        isinstance(m, nn.modules.batchnorm._BatchNorm)
        for root in roots
        for m in modules[root].modules()
    )
    return Frozen(
        frozen_parameters=sum(p.numel() for p in params.values() if not p.requires_grad),
        trainable_parameters=sum(p.numel() for p in params.values() if p.requires_grad),
        frozen_modules=tuple(roots),
        trainable=tuple(kept),
        batchnorms=batchnorms,
    )


def _within(name: str, key: str) -> bool:
    """Whether `name` is `key` or lies inside it (prefixes end at module boundaries)."""
    return name == key or name.startswith(key + ".")


def _frozen_roots(module: nn.Module, prefix: str, kept: list[str]) -> list[str]:
    """Names of the largest sub-modules of `module` that hold no kept module or parameter."""
    roots = []
    for child_name, child in module.named_children():
        name = prefix + child_name
        if any(_within(name, k) for k in kept):
            continue  # kept whole
        if any(_within(k, name) for k in kept):
            roots += _frozen_roots(child, name + ".", kept)  # holds a kept part: look inside
        else:
            roots.append(name)
    return roots


def _hold_in_eval(module: nn.Module) -> None:
    """Put `module` in eval mode and make its `train()` keep it there."""
    module.train(False)
    # an instance attribute shadows nn.Module.train, and a parent's train() calls each child's
    module.train = types.MethodType(_train_frozen, module)


def _train_frozen(self: nn.Module, mode: bool = True) -> nn.Module:
    """`train()` of a frozen module: whatever `mode` asks, eval mode (see `freeze`)."""
    return nn.Module.train(self, False)


def _short_list(names: Sequence[str], at_most: int = 6) -> str:
    shown = ", ".join(names[:at_most])
    return shown + (f" and {len(names) - at_most} more" if len(names) > at_most else "")
