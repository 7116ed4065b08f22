"""torch.nn architectures: the studies' own networks and a registry that builds them by name.

Transfer learning in three calls: `pretrained("resnet18", num_classes=7)` (torchvision's
ImageNet weights, verified, with a fresh head), `freeze(model, except_=["fc"])`, and
`replace_head(model, num_classes)` for a head of another size.
"""

from nnlab.models import zoo  # noqa: F401  (registers the torchvision architectures)
from nnlab.models.cnn import CNN
from nnlab.models.mlp import MLP, count_parameters
from nnlab.models.multitask import MultiTaskNet
from nnlab.models.registry import MODELS, build, register_model
from nnlab.models.surgery import freeze, replace_head
from nnlab.models.weights import pretrained

__all__ = [
    "CNN",
    "MLP",
    "MultiTaskNet",
    "MODELS",
    "build",
    "count_parameters",
    "freeze",
    "pretrained",
    "register_model",
    "replace_head",
]
