"""`nnlab.scratch`: neural networks and linear models written in NumPy alone, no torch.

The building blocks (layers, activations, losses, Xavier initialisation, SGD, mini-batch
sampling, a `Network` with forward and backward passes, `gradcheck`) are there to be read; the
estimators follow scikit-learn's conventions, so they can be compared with and swapped for
scikit-learn's own. float64 by default, float32 where an estimator's `dtype` says so.
"""

from nnlab.scratch._base import ScratchNotFittedError
from nnlab.scratch._checks import ScratchValueError, TrainingDiverged
from nnlab.scratch.activations import (
    ACTIVATIONS,
    identity,
    relu,
    sigmoid,
    softmax,
    softmax_backward,
    tanh,
)
from nnlab.scratch.autoencoder import Autoencoder
from nnlab.scratch.gradcheck import gradcheck
from nnlab.scratch.init import xavier_uniform
from nnlab.scratch.layers import Activation, Dense
from nnlab.scratch.linear import LogisticRegression, SoftmaxRegression
from nnlab.scratch.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    softmax_cross_entropy,
    squared_error,
)
from nnlab.scratch.mlp import MLPClassifier
from nnlab.scratch.network import Network, mlp
from nnlab.scratch.optim import SGD
from nnlab.scratch.perceptron import Perceptron
from nnlab.scratch.sampling import minibatches
from nnlab.scratch.stopping import EarlyStopping
from nnlab.scratch.training import train_epoch

__all__ = [
    "ACTIVATIONS",
    "SGD",
    "Activation",
    "Autoencoder",
    "Dense",
    "EarlyStopping",
    "LogisticRegression",
    "MLPClassifier",
    "Network",
    "Perceptron",
    "ScratchNotFittedError",
    "ScratchValueError",
    "SoftmaxRegression",
    "TrainingDiverged",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "gradcheck",
    "identity",
    "minibatches",
    "mlp",
    "relu",
    "sigmoid",
    "softmax",
    "softmax_backward",
    "softmax_cross_entropy",
    "squared_error",
    "tanh",
    "train_epoch",
    "xavier_uniform",
]
