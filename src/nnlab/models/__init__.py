"""torch.nn architectures: the studies' own networks and a registry that builds them by name."""

from nnlab.models.mlp import MLP, count_parameters
from nnlab.models.registry import MODELS, build, register_model

__all__ = ["MLP", "MODELS", "build", "count_parameters", "register_model"]
