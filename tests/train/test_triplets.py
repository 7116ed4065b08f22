"""Triplets sampled in a batch: right classes, uniform choices, skipped anchors counted, and the
loss of torch.nn.TripletMarginLoss."""

import pytest
import torch

from nnlab.data import load
from nnlab.errors import ConfigError
from nnlab.train import Callback, Checkpoint, fit
from nnlab.train.triplets import (
    BatchTripletLoss,
    TripletLossState,
    sample_triplets,
    triplet_margin_loss,
)


def _check_by_hand(y: torch.Tensor, t) -> None:
    """Every anchor with a positive and a negative is there once, and its pair is valid."""
    labels = y.tolist()
    counts = {c: labels.count(c) for c in labels}
    expected = [i for i, c in enumerate(labels) if counts[c] > 1 and counts[c] < len(labels)]
    assert t.anchor.tolist() == expected
    for a, p, n in zip(t.anchor.tolist(), t.positive.tolist(), t.negative.tolist(), strict=True):
        assert p != a and labels[p] == labels[a]
        assert labels[n] != labels[a]
    assert t.no_positive == sum(counts[c] == 1 for c in labels)


@pytest.mark.parametrize("seed", range(5))
def test_positives_share_the_class_and_negatives_do_not(seed):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 6, (40,), generator=g)
    y[:3] = torch.tensor([7, 8, 9])  # three classes with a single image: no positive
    t = sample_triplets(y, torch.Generator().manual_seed(seed))
    _check_by_hand(y, t)
    assert t.no_positive >= 3 and t.no_negative == 0


def test_choices_are_uniform_over_the_allowed_images():
    y = torch.tensor([0, 0, 0, 0, 1, 1, 2])  # anchor 0: positives 1, 2, 3; negatives 4, 5, 6
    g = torch.Generator().manual_seed(0)
    draws = [sample_triplets(y, g) for _ in range(3000)]
    positives = torch.bincount(torch.stack([t.positive[0] for t in draws]), minlength=7)
    negatives = torch.bincount(torch.stack([t.negative[0] for t in draws]), minlength=7)
    assert positives[[0, 4, 5, 6]].sum() == 0 and negatives[:4].sum() == 0
    # 1000 expected each; 5 standard deviations is about 130
    assert (positives[1:4] - 1000).abs().max() < 130, positives
    assert (negatives[4:] - 1000).abs().max() < 130, negatives


def test_a_batch_of_one_class_has_no_triplets_and_a_zero_loss():
    y = torch.zeros(5, dtype=torch.int64)
    t = sample_triplets(y)
    assert len(t) == 0 and t.no_positive == 0 and t.no_negative == 5
    emb = torch.randn(5, 3, requires_grad=True)
    loss = triplet_margin_loss(emb, t)
    loss.backward()
    assert loss.item() == 0 and torch.equal(emb.grad, torch.zeros(5, 3))


def test_the_loss_equals_torchs_triplet_margin_loss_with_its_gradient():
    torch.manual_seed(0)
    y = torch.randint(0, 4, (32,))
    emb = torch.randn(32, 8, dtype=torch.float64, requires_grad=True)
    t = sample_triplets(y, torch.Generator().manual_seed(1))
    loss = triplet_margin_loss(emb, t, margin=1.0)
    (grad,) = torch.autograd.grad(loss, emb)
    ref_emb = emb.detach().clone().requires_grad_(True)
    reference = torch.nn.TripletMarginLoss(margin=1.0, p=2)(
        ref_emb[t.anchor], ref_emb[t.positive], ref_emb[t.negative]
    )
    reference.backward()
    torch.testing.assert_close(loss, reference)
    torch.testing.assert_close(grad, ref_emb.grad)
    assert loss.item() > 0  # not a vacuous zero


def test_the_batch_loss_counts_skipped_anchors_and_is_seeded():
    y = torch.tensor([0, 0, 1, 2, 2, 3])  # classes 1 and 3 have one image each
    emb = torch.randn(6, 4)
    first, second = BatchTripletLoss(seed=3), BatchTripletLoss(seed=3)
    assert torch.equal(first(emb, y), second(emb, y))
    first(emb, y)
    assert (first.anchors, first.skipped) == (12, 4)
    with pytest.raises(ConfigError, match="margin"):
        BatchTripletLoss(margin=0)


class _Kill(Callback):
    """Stands in for Ctrl-C after step `at`."""

    def __init__(self, at):
        self.at = at

    def on_step_end(self, state):
        if state.step == self.at:
            raise KeyboardInterrupt


def _triplet_fit(path, seed, extra=()):
    """A linear embedding of 8x8 digits trained with the triplet loss, checkpointed to `path`."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 4))
    loss = BatchTripletLoss(seed=seed)
    history = fit(
        model,
        load("digits", "train", limit=200),
        steps=6,
        batch_size=32,
        loss=loss,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
        transform=lambda x: x.float() / 255,
        eval_every=2,
        callbacks=[TripletLossState(loss), *extra, Checkpoint(path, every=1)],
        device="cpu",
    )
    return history, model


def test_a_resumed_triplet_fit_draws_and_counts_as_an_uninterrupted_one(tmp_path):
    whole, model = _triplet_fit(tmp_path / "whole.pt", seed=5)
    with pytest.raises(KeyboardInterrupt):
        _triplet_fit(tmp_path / "cut.pt", seed=5, extra=[_Kill(3)])
    # a resumed fit starts from another seed: only the checkpoint can make it match
    resumed, model_resumed = _triplet_fit(tmp_path / "cut.pt", seed=6)
    assert [r["train_loss"] for r in resumed] == [r["train_loss"] for r in whole]
    assert resumed[-1]["anchors"] == whole[-1]["anchors"] == 6 * 32
    assert torch.equal(model[1].weight, model_resumed[1].weight)
