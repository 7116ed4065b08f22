"""Dataset loaders; importing this package registers every built-in dataset."""

from nnlab.data.loaders import mnist  # noqa: F401
