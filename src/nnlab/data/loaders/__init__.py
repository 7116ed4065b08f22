"""Dataset loaders; importing this package registers every built-in dataset."""

from nnlab.data.loaders import mnist  # noqa: F401
from nnlab.data.loaders import cifar, fer2013, flowers17  # noqa: F401
