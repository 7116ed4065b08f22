"""Metrics against hand-counted values and scikit-learn's own report."""

import numpy as np
import pytest
import torch
from sklearn.metrics import classification_report as sk_report

from nnlab.analysis.metrics import (
    accuracy,
    classification_report,
    confusion_figure,
    confusion_matrix,
)
from nnlab.errors import NnlabError

TRUE = [0, 0, 0, 1, 1, 2, 2, 2, 2]
PRED = [0, 1, 0, 1, 1, 2, 0, 2, 1]


def test_confusion_matrix_counts_by_hand():
    cm = confusion_matrix(torch.tensor(TRUE), np.array(PRED), num_classes=4)
    expected = np.array([[2, 1, 0, 0], [0, 2, 0, 0], [1, 1, 2, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(cm, expected)
    assert cm.dtype == np.int64


def test_accuracy():
    assert accuracy(TRUE, PRED) == pytest.approx(6 / 9)


def test_report_matches_hand_values_and_sklearn():
    rows = classification_report(TRUE, PRED, ["a", "b", "c"])
    by_class = {r["class"]: r for r in rows}
    # class b: predicted 4 times, 2 right; 2 true, both found
    assert by_class["b"]["precision"] == pytest.approx(0.5)
    assert by_class["b"]["recall"] == pytest.approx(1.0)
    assert by_class["b"]["f1"] == pytest.approx(2 / 3)
    assert by_class["c"]["support"] == 4
    reference = sk_report(TRUE, PRED, output_dict=True, zero_division=0)
    for ours, theirs in (("macro avg", "macro avg"), ("weighted avg", "weighted avg")):
        assert by_class[ours]["f1"] == pytest.approx(reference[theirs]["f1-score"])
        assert by_class[ours]["precision"] == pytest.approx(reference[theirs]["precision"])
    assert [r["class"] for r in rows] == ["a", "b", "c", "macro avg", "weighted avg"]


def test_never_predicted_class_has_zero_precision_not_a_warning():
    rows = classification_report([0, 1], [0, 0], ["a", "b"])
    assert rows[1]["precision"] == 0.0 and rows[1]["recall"] == 0.0


def test_mismatched_lengths_are_refused():
    with pytest.raises(NnlabError, match="3 labels but y_pred has 2"):
        accuracy([0, 1, 2], [0, 1])


def test_confusion_figure_draws_the_matrix():
    cm = confusion_matrix(TRUE, PRED, 3)
    fig = confusion_figure(cm, ["a", "b", "c"], title="t")
    image = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(image.sum(axis=1), 1.0)  # rows normalised
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("2") == 3  # annotated with counts
