"""torch.nn architectures: the studies' own networks and a registry that builds them by name."""

from nnlab.models import zoo  # noqa: F401  (registers the torchvision architectures)
from nnlab.models.cnn import CNN
from nnlab.models.mlp import MLP, count_parameters
from nnlab.models.multitask import MultiTaskNet
from nnlab.models.registry import MODELS, build, register_model

__all__ = ["CNN", "MLP", "MultiTaskNet", "MODELS", "build", "count_parameters", "register_model"]
