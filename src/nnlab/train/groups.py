"""Optimizer parameter groups by name prefix: a learning rate per part of a model.

Fine-tuning gives the pretrained layers a small learning rate and the new head a large one:
`torch.optim.SGD(param_groups(model, {"layer4": 1e-3, "fc": 1e-2}, default=1e-5), lr=0.1)`.
"""

import difflib
from collections.abc import Mapping
from numbers import Real

from torch import nn

from nnlab.errors import ConfigError


def param_groups(
    model: nn.Module, lrs: Mapping[str, float], default: float | None = None
) -> list[dict]:
    """Split a model's trainable parameters into optimizer groups by name prefix.

    Parameters
    ----------
    model : nn.Module
    lrs : mapping of str to float
        Name prefix -> learning rate. A prefix ends at a module boundary: "layer1" matches
        "layer1.0.conv1.weight" but not "layer10.weight"; a full parameter name also works. When
        several keys match a parameter, the longest (most specific) wins.
    default : float, optional
        Learning rate of the parameters no key matches; None leaves their group without an "lr",
        so the optimizer's own `lr` applies.

    Returns
    -------
    list of dict
        {"params": [...], "lr": ..., "name": key} per key, in the order of `lrs`, then
        {"params": [...], "name": "default"} (with "lr" when `default` is given) unless empty.
        Every trainable parameter is in exactly one group; frozen ones (requires_grad=False) in
        none.
    """
    for key, lr in [*lrs.items(), *([("default", default)] if default is not None else [])]:
        if isinstance(lr, bool) or not isinstance(lr, Real) or not lr >= 0:
            raise ConfigError(
                f"param_groups: the learning rate for {key!r} must be a number >= 0, got {lr!r}."
            )
    named = list(model.named_parameters())
    members: dict[str, list] = {key: [] for key in lrs}
    rest = []
    for name, param in named:
        if not param.requires_grad:
            continue
        matches = [key for key in lrs if _matches(key, name)]
        if matches:
            members[max(matches, key=len)].append(param)
        else:
            rest.append(param)
    unmatched = [key for key, params in members.items() if not params]
    if unmatched:
        raise ConfigError(_unmatched_message(unmatched, named))
    groups = [{"params": members[key], "lr": float(lrs[key]), "name": key} for key in lrs]
    if rest:
        groups.append({"params": rest, "name": "default"})
        if default is not None:
            groups[-1]["lr"] = float(default)
    return groups


def _matches(key: str, name: str) -> bool:
    """Whether `key` names the parameter `name` or a module that holds it."""
    return name == key or name.startswith(key + ".")


def _unmatched_message(keys: list[str], named: list[tuple[str, nn.Parameter]]) -> str:
    """Which keys match nothing, the model's top-level names and the closest prefixes."""
    trainable = [name for name, p in named if p.requires_grad]
    # every module boundary: "layer1", "layer1.0", "layer1.0.conv1", "layer1.0.conv1.weight"
    prefixes = {name.rsplit(".", k)[0] for name in trainable for k in range(name.count(".") + 1)}
    top = sorted({name.split(".")[0] for name in trainable})
    hints = []
    for key in keys:
        frozen = [name for name, p in named if not p.requires_grad and _matches(key, name)]
        if frozen:
            hints.append(f"{key!r} matches only frozen parameters ({frozen[0]}, ...)")
        else:
            near = difflib.get_close_matches(key, sorted(prefixes), n=3)
            hints.append(f"{key!r}" + (f" (did you mean {', '.join(near)}?)" if near else ""))
    return (
        f"param_groups: no trainable parameter of the model matches {'; '.join(hints)}. "
        f"Keys are name prefixes at module boundaries; the model's top-level names are "
        f"{', '.join(top) or 'none'}. List them all with [n for n, _ in model.named_parameters()]."
    )
