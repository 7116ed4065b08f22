"""Dataset loaders; importing this package registers every built-in dataset."""

from nnlab.data.loaders import (  # noqa: F401 - imported to register their datasets
    cifar,
    embedded,
    fer2013,
    flowers17,
    hand36,
    mnist,
    nist,
    svhn,
)
