"""Datasets as whole-split tensors: `load(name, split)` -> `ImageSet`, `batches`, `transforms`."""

from nnlab.data import loaders, transforms  # importing loaders registers the built-in datasets
from nnlab.data.catalog import DatasetInfo, data_root, info, load, names, register
from nnlab.data.imageset import ImageSet, split
from nnlab.data.loaders.ocr_photos import OcrPhoto, load_ocr_photos
from nnlab.data.pipeline import Batches, batches

__all__ = [
    "Batches",
    "DatasetInfo",
    "ImageSet",
    "OcrPhoto",
    "batches",
    "data_root",
    "info",
    "load",
    "load_ocr_photos",
    "loaders",
    "names",
    "register",
    "split",
    "transforms",
]
