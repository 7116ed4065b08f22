"""Triplets sampled inside a batch, and the triplet margin loss on them (contrastive learning).

For every image of a shuffled batch (the anchor) one other image of the same class is drawn as
its positive and one image of another class as its negative, all at once from a [B, B] mask and
random scores: no Python loop over anchors. An anchor whose class has no other image in the
batch has no positive and is skipped (as is one in a batch of a single class, which has no
negative); the loss counts them, so a report can say how many.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from nnlab.errors import ConfigError
from nnlab.train.state import Callback, FitState

#: added to differences before the norm, as torch.nn.TripletMarginLoss does (a finite gradient
#: when two embeddings coincide)
EPS = 1e-6


@dataclass(frozen=True)
class Triplets:
    """Index triplets into one batch.

    Parameters
    ----------
    anchor, positive, negative : torch.Tensor
        int64 [T] each: y[positive] == y[anchor], positive != anchor, y[negative] != y[anchor].
    no_positive : int
        Anchors skipped because no other image of their class is in the batch.
    no_negative : int
        Anchors skipped because every image of the batch is of their class.
    """

    anchor: torch.Tensor
    positive: torch.Tensor
    negative: torch.Tensor
    no_positive: int
    no_negative: int

    def __len__(self) -> int:
        return len(self.anchor)


def sample_triplets(y: torch.Tensor, generator: torch.Generator | None = None) -> Triplets:
    """One random (positive, negative) pair for every anchor of a batch that has both.

    Parameters
    ----------
    y : torch.Tensor
        int64 labels [B].
    generator : torch.Generator, optional
        Source of the random choices (drawn on its device, then moved to y's).

    Returns
    -------
    Triplets
        Anchors in batch order; each positive uniform over the anchor's other same-class images,
        each negative uniform over the images of other classes.
    """
    if y.ndim != 1:
        raise ConfigError(f"sample_triplets expects labels [B], got shape {tuple(y.shape)}.")
    b = len(y)
    same = y[:, None] == y[None, :]  # [B, B]: j has anchor i's class
    positive_ok = same & ~torch.eye(b, dtype=torch.bool, device=y.device)
    negative_ok = ~same
    gdev = generator.device if generator is not None else torch.device("cpu")
    # uniform scores, masked to -1 where a choice is not allowed: each row's argmax is a uniform
    # draw among its allowed columns ([B, B] scores per role, B = 2048 -> 16 MB each)
    scores = torch.rand(2, b, b, generator=generator, device=gdev).to(y.device)
    positive = torch.where(positive_ok, scores[0], -1.0).argmax(1)
    negative = torch.where(negative_ok, scores[1], -1.0).argmax(1)
    has_positive, has_negative = positive_ok.any(1), negative_ok.any(1)
    keep = has_positive & has_negative
    anchor = keep.nonzero().squeeze(1)
    return Triplets(
        anchor,
        positive[anchor],
        negative[anchor],
        no_positive=int((~has_positive).sum()),
        no_negative=int((has_positive & ~has_negative).sum()),
    )


def triplet_margin_loss(
    embeddings: torch.Tensor, triplets: Triplets, margin: float = 1.0
) -> torch.Tensor:
    """Mean of max(0, ‖a − p‖ − ‖a − n‖ + margin) over the triplets (L2 distance).

    Parameters
    ----------
    embeddings : torch.Tensor
        [B, D], the batch's embeddings.
    triplets : Triplets
        Indices into the batch (`sample_triplets`).
    margin : float

    Returns
    -------
    torch.Tensor
        Scalar; zero (still attached to `embeddings`' graph) when there are no triplets.
    """
    if len(triplets) == 0:
        return embeddings.sum() * 0.0
    # index_select, not embeddings[index]: positives and negatives repeat, and the backward of
    # advanced indexing sums their gradients in a varying order on the CPU (runs would differ
    # in the last bits); index_select's backward sums them in a fixed one
    index = (triplets.anchor, triplets.positive, triplets.negative)
    a, p, n = (torch.index_select(embeddings, 0, i) for i in index)  # [T, D] each
    d_ap = torch.linalg.vector_norm(a - p + EPS, dim=1)
    d_an = torch.linalg.vector_norm(a - n + EPS, dim=1)
    return F.relu(d_ap - d_an + margin).mean()


class BatchTripletLoss:
    """`loss(embeddings, y)` for `fit`: samples triplets in the batch and averages their loss.

    Parameters
    ----------
    margin : float
        The margin of the triplet loss (1.0 in the study).
    seed : int
        Seeds the triplet choices (a CPU generator).

    Attributes
    ----------
    anchors : int
        Anchors seen so far (batch sizes summed).
    skipped : int
        Anchors skipped so far because they had no positive or no negative in their batch.
    """

    def __init__(self, margin: float = 1.0, seed: int = 0):
        if not margin > 0:
            raise ConfigError(f"the triplet margin must be positive, got {margin!r}; e.g. 1.0.")
        self.margin = margin
        self.generator = torch.Generator().manual_seed(seed)
        self.anchors = 0
        self.skipped = 0

    def __call__(self, embeddings: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        triplets = sample_triplets(y, self.generator)
        self.anchors += len(y)
        self.skipped += triplets.no_positive + triplets.no_negative
        return triplet_margin_loss(embeddings, triplets, self.margin)


class TripletLossState(Callback):
    """Save a `BatchTripletLoss`'s random state and counts with the fit; record the counts.

    Each evaluation record gets `anchors` and `skipped_anchors` (totals so far); a `Checkpoint`
    saves them with the triplet sampler's generator state, and a resumed fit restores both.

    Parameters
    ----------
    loss : BatchTripletLoss
        The loss given to the same `fit`.
    """

    def __init__(self, loss: BatchTripletLoss):
        self.loss = loss

    def on_evaluate(self, state: FitState, record: dict) -> None:
        record.update(anchors=self.loss.anchors, skipped_anchors=self.loss.skipped)

    def state_dict(self) -> dict:
        return {
            "anchors": self.loss.anchors,
            "skipped": self.loss.skipped,
            "generator": self.loss.generator.get_state(),
        }

    def load_state_dict(self, state: dict) -> None:
        self.loss.anchors, self.loss.skipped = state["anchors"], state["skipped"]
        self.loss.generator.set_state(state["generator"])
