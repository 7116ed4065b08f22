"""torch.nn architectures: the study's own networks, written with plain parameter names."""

from nnlab.models.mlp import MLP, count_parameters

__all__ = ["MLP", "count_parameters"]
