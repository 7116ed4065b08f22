"""The model zoo: torchvision's ImageNet architectures with its exact parameter names, and LeNet-5.

Importing this package registers `alexnet`, `vgg16`, `vgg16_bn`, `resnet18`, `resnet50`,
`resnet101`, `mobilenet_v2`, `squeezenet1_1` and `lenet5` in `nnlab.models.MODELS`. Each model
class names its classification layer in `head_name` (for `replace_head` and `freeze`).
"""

from nnlab.models.zoo.alexnet import AlexNet, alexnet
from nnlab.models.zoo.lenet import LeNet5, lenet5
from nnlab.models.zoo.mobilenet import MobileNetV2, mobilenet_v2
from nnlab.models.zoo.resnet import ResNet, resnet18, resnet50, resnet101
from nnlab.models.zoo.squeezenet import SqueezeNet, squeezenet1_1
from nnlab.models.zoo.vgg import VGG, VGG16_LAYERS, make_layers, vgg16, vgg16_bn

__all__ = [
    "VGG",
    "VGG16_LAYERS",
    "AlexNet",
    "LeNet5",
    "MobileNetV2",
    "ResNet",
    "SqueezeNet",
    "alexnet",
    "lenet5",
    "make_layers",
    "mobilenet_v2",
    "resnet18",
    "resnet50",
    "resnet101",
    "squeezenet1_1",
    "vgg16",
    "vgg16_bn",
]
