"""Pairwise linear SVMs: every pair once, accuracies known by construction."""

import itertools

import numpy as np
import pytest

from nnlab.analysis.separability import pairwise_svm
from nnlab.errors import ConfigError


def test_all_45_pairs_with_known_separability():
    rng = np.random.default_rng(0)
    # ten tight blobs on a circle, except that classes 3 and 5 are drawn from one distribution
    centres = np.stack([np.cos(np.arange(10)), np.sin(np.arange(10))], 1) * 10
    centres[5] = centres[3]
    labels = np.repeat(np.arange(10), 100)
    points = centres[labels] + rng.normal(scale=0.3, size=(1000, 2))
    classes = [str(d) for d in range(10)]
    rows = pairwise_svm(points, labels, classes)
    assert len(rows) == 45
    assert [(r["a"], r["b"]) for r in rows] == list(itertools.combinations(range(10), 2))
    by_pair = {r["pair"]: r for r in rows}
    assert by_pair["3/5"]["accuracy"] < 0.65  # one distribution: near chance (0.5)
    others = [r["accuracy"] for r in rows if r["pair"] != "3/5"]
    assert min(others) == 1.0  # far-apart tight blobs: a line splits every other pair
    assert all(r["n"] == 200 and r["converged"] for r in rows)


def test_accuracy_is_the_fraction_on_the_right_side_of_a_line():
    # class 1 lies right of x = 0 except for 3 of its 50 points: at best 97 of 100 correct
    left = np.column_stack([-np.linspace(1, 5, 50), np.linspace(-1, 1, 50)])
    right = np.column_stack([np.linspace(1, 5, 50), np.linspace(-1, 1, 50)])
    right[:3, 0] = -3.0
    rows = pairwise_svm(np.vstack([left, right]), np.repeat([0, 1], 50), ["L", "R"])
    assert len(rows) == 1 and rows[0]["pair"] == "L/R"
    assert rows[0]["accuracy"] == pytest.approx(0.97)


def test_every_class_needs_points():
    with pytest.raises(ConfigError, match="every one of the 3 classes"):
        pairwise_svm(np.zeros((4, 2)), np.array([0, 0, 1, 1]), ["a", "b", "c"])
