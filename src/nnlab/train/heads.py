"""Multi-head models in the one loop: each head's labels from the set's, a loss over all heads.

A model may return a dict {head: logits}: `heads=` in `fit`/`evaluate` says how each head's labels
come from the set's labels (e.g. item -> group through a per-class map), and `head_loss` weighs
the heads' losses, so multi-task learning trains through the same `fit` as everything else.
"""

import math
from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F

from nnlab.data import ImageSet
from nnlab.errors import ConfigError

#: loss(output [B, K], y [B]) -> the batch's mean loss, a scalar tensor; for a multi-head
#: model loss({head: output [B, K_h]}, {head: y_h [B]}) (see `head_loss`)
LossFn = Callable[..., torch.Tensor]
#: a head's label map: None (the set's labels) or m, int [num_classes], head label = m[y]
LabelMap = Sequence[int] | torch.Tensor | None
#: the head name of a single-output model in the loop's per-head dicts
SINGLE = ""


class Heads:
    """The heads of a multi-head model and how each gets its labels from the set's labels.

    Parameters
    ----------
    label_maps : mapping
        Head name -> `LabelMap`, in order; the first head is the main one.
    num_classes : int
        Classes of the set, the length of every map.
    device : torch.device
    """

    def __init__(self, label_maps: Mapping[str, LabelMap], num_classes: int, device):
        if not isinstance(label_maps, Mapping) or not label_maps:
            raise ConfigError(
                f"heads must map each head's name to its label map (None = the set's labels), "
                f"got {label_maps!r}; e.g. heads={{'item': None, 'group': [0, 0, 1, ...]}}."
            )
        self.maps = {
            name: None if m is None else _map_tensor(name, m, num_classes).to(device)
            for name, m in label_maps.items()
        }
        self.main = next(iter(self.maps))

    def targets(self, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each head's labels [B] of a batch with set labels y [B]."""
        return {name: y if m is None else m[y] for name, m in self.maps.items()}

    def outputs(self, output) -> dict[str, torch.Tensor]:
        """The model's output checked to be a dict holding exactly these heads."""
        if not isinstance(output, Mapping) or set(output) != set(self.maps):
            got = sorted(output) if isinstance(output, Mapping) else type(output).__name__
            raise ConfigError(
                f"the model's output has heads {got} but heads= names {list(self.maps)}; name "
                f"every head the model returns (as a dict), each once."
            )
        return {name: output[name] for name in self.maps}


def _map_tensor(
    name: str, label_map: Sequence[int] | torch.Tensor, num_classes: int
) -> torch.Tensor:
    """A head's label map as int64 [num_classes], refusing what is no map of labels."""
    try:
        m = torch.as_tensor(label_map)
    except (TypeError, ValueError, RuntimeError):
        m = None
    if m is None or m.ndim != 1 or m.is_floating_point() or m.dtype == torch.bool:
        raise ConfigError(
            f"the label map of head {name!r} must be a sequence of integer labels, one per "
            f"class of the set, got {label_map!r}."
        )
    if len(m) != num_classes:
        raise ConfigError(
            f"the label map of head {name!r} has {len(m)} entries but the set has {num_classes} "
            "classes; give one head label per class."
        )
    if int(m.min()) < 0:
        raise ConfigError(f"the label map of head {name!r} holds a negative label: {m.tolist()}.")
    return m.to(torch.int64)


def head_loss(weights: Mapping[str, float], base: LossFn = F.cross_entropy) -> LossFn:
    """A loss over the heads of a multi-head model: sum over heads of weight * base loss.

    Parameters
    ----------
    weights : mapping of str to float
        Head name -> its weight (zero or more), e.g. {"item": lam, "group": 1 - lam}.
    base : callable
        base(output [B, K], y [B]) -> mean loss of one head.

    Returns
    -------
    callable
        loss({head: output [B, K_h]}, {head: y_h [B]}) -> scalar tensor, for `fit(heads=...)`.
    """
    weights = dict(weights)
    bad = {k: w for k, w in weights.items() if not isinstance(w, int | float) or not w >= 0}
    if not weights or bad or not all(math.isfinite(w) for w in weights.values()):
        raise ConfigError(
            f"head_loss weights must be finite numbers of at least 0, one per head, got "
            f"{weights!r}; e.g. {{'item': 0.5, 'group': 0.5}}."
        )

    def loss(outputs: Mapping[str, torch.Tensor], targets: Mapping[str, torch.Tensor]):
        if set(outputs) != set(weights):
            raise ConfigError(
                f"head_loss has weights for heads {sorted(weights)} but the model returned "
                f"{sorted(outputs)}; give one weight per head (0 leaves a head untrained)."
            )
        return sum(w * base(outputs[h], targets[h]) for h, w in weights.items())

    return loss


def apply_loss(
    loss: LossFn, heads: Heads | None, output, y: torch.Tensor
) -> tuple[torch.Tensor, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(mean loss, {head: output}, {head: labels}); a single output is the one head `SINGLE`."""
    if heads is None:
        if isinstance(output, Mapping):
            raise ConfigError(
                f"the model returned several heads {sorted(output)}; pass heads= to say how "
                f"each head's labels come from the set's labels, and a loss over them "
                f"(head_loss)."
            )
        return loss(output, y), {SINGLE: output}, {SINGLE: y}
    outputs, targets = heads.outputs(output), heads.targets(y)
    return loss(outputs, targets), outputs, targets


def check_heads(
    heads: Mapping[str, LabelMap] | None,
    loss: LossFn,
    data: ImageSet,
    val: ImageSet | None,
    device: torch.device,
) -> Heads | None:
    """The checked `heads` of a fit or evaluation, on `device` (None for a single output)."""
    if heads is None:
        return None
    if loss is F.cross_entropy:
        raise ConfigError(
            "a multi-head fit or evaluation needs a loss over its heads, not the default "
            "cross_entropy; e.g. loss=head_loss({'item': 0.5, 'group': 0.5})."
        )
    if val is not None and val.num_classes != data.num_classes:
        raise ConfigError(
            f"the label maps of heads= are per class, but the training set has "
            f"{data.num_classes} classes and the val set {val.num_classes}; use sets of one "
            "dataset."
        )
    return Heads(heads, data.num_classes, device)
