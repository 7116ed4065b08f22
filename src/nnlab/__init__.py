"""nnlab: reproduce classic deep-learning studies on image classification, with reports."""

__version__ = "0.1.0"
