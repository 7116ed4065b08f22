"""`nnlab.experiments.kit.scoring`: the architecture studies' shared recipe."""

import pytest
import torch
from torch import nn

from nnlab.experiments.cnn_architectures import STUDY_CNNS
from nnlab.experiments.kit.scoring import STUDY_MLPS, score_row
from nnlab.models.mlp import parse_widths
from nnlab.train import Evaluation


def test_the_study_layouts_are_the_ones_the_width_strings_spelt():
    old_mlps = ("1000x2", "1000x3", "1000x5", "500x7", "500x8")
    old_cnns = ("32-64-128", "64-128", "128x3", "16-32", "32-64-128-256-512")
    assert tuple(parse_widths(s) for s in old_mlps) == STUDY_MLPS
    assert tuple(parse_widths(s) for s in old_cnns) == STUDY_CNNS


def test_score_row_counts_parameters_and_divides_time_by_epochs():
    model = nn.Linear(4, 3)
    history = [{"epoch": 1, "seconds": 1.0}, {"epoch": 4, "seconds": 6.0}]
    train = Evaluation(loss=0.5, accuracy=0.9, predictions=torch.zeros(0))
    test = Evaluation(loss=0.7, accuracy=0.8, predictions=torch.zeros(0))
    row = score_row(model, history, train, test)
    assert row == {
        "parameters": 4 * 3 + 3,
        "train_acc": 0.9,
        "train_loss": 0.5,
        "test_acc": 0.8,
        "test_loss": 0.7,
        "train_seconds": 6.0,
        "epoch_seconds": pytest.approx(1.5),
    }
