"""What the layers of a network output for given inputs, captured with forward hooks.

`capture(model, x, ["conv1", "act1"])` runs one forward pass and returns each named module's
output; the hooks are removed afterwards even when the pass fails, so the model is left as it was.
"""

from collections.abc import Sequence

import torch
from torch import nn

from nnlab.errors import UnknownNameError


def capture(model: nn.Module, x: torch.Tensor, layers: Sequence[str]) -> dict[str, torch.Tensor]:
    """Outputs of the named submodules for input `x`, in eval mode and without autograd.

    Parameters
    ----------
    model : nn.Module
        Its train/eval mode is restored afterwards.
    x : torch.Tensor
        A model input batch, e.g. [B, C, H, W], on the model's device.
    layers : sequence of str
        Names as in `model.named_modules()` ("conv1", "features.3", ...).

    Returns
    -------
    dict of str to torch.Tensor
        Layer name -> its output (detached, on the model's device), e.g. [B, C', H', W'] for a
        convolution; a layer that runs more than once keeps its last output.
    """
    modules = dict(model.named_modules())
    unknown = [name for name in layers if name not in modules or not name]
    if unknown:
        known = ", ".join(name for name in modules if name)
        raise UnknownNameError(
            f"the model has no layer(s) {unknown}; its layers are: {known}. Name layers as "
            f"model.named_modules() does."
        )
    outputs: dict[str, torch.Tensor] = {}

    def keep(name: str):
        def hook(module: nn.Module, inputs, output) -> None:
            outputs[name] = output.detach()

        return hook

    handles = [modules[name].register_forward_hook(keep(name)) for name in layers]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    silent = [name for name in layers if name not in outputs]
    if silent:
        raise UnknownNameError(f"layer(s) {silent} did not run in the model's forward pass.")
    return {name: outputs[name] for name in layers}
