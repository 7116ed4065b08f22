"""Datasets as whole-split tensors: `load(name, split)` -> `ImageSet`."""

from nnlab.data.catalog import DatasetInfo, data_root, info, load, names, register
from nnlab.data.imageset import ImageSet, split

__all__ = ["DatasetInfo", "ImageSet", "data_root", "info", "load", "names", "register", "split"]
