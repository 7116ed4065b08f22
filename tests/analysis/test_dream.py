"""Deep dream: the analytic optimum of a linear model, the penalties by hand, real ascent."""

import pytest
import torch
from torch import nn

from nnlab.analysis.dream import deep_dream, total_variation
from nnlab.errors import ConfigError
from nnlab.models import CNN


def _linear(seed=0, pixels=(1, 4, 4), classes=3):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(torch.Size(pixels).numel(), classes))


def test_l2_ascent_reaches_the_analytic_optimum_of_a_linear_logit():
    # objective w.x + b - lam * mean(x^2) is maximal at x = n w / (2 lam)
    model, target, lam = _linear(), 1, 2.0
    w = model[1].weight[target].detach().reshape(1, 4, 4)
    optimum = 16 * w / (2 * lam)
    dream = deep_dream(
        model,
        torch.zeros(1, 4, 4),
        target,
        steps=3000,
        lr=0.002,
        jitter=0,
        penalty="l2",
        weight=lam,
        bounds=(-100.0, 100.0),
    )
    assert torch.allclose(dream.image, optimum, atol=0.02)


def test_total_variation_by_hand():
    x = torch.tensor([[0.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    vertical = (2 + 1 + 1) / 3  # |2-0|, |2-1|, |2-3|
    horizontal = (1 + 2 + 0 + 0) / 4
    assert total_variation(x).item() == pytest.approx(vertical + horizontal)


def test_penalty_smooths_and_ascent_raises_the_target_probability():
    torch.manual_seed(0)
    model = CNN((4, 8))  # untrained but fixed: the ascent must still move its logit
    start = torch.randn(1, 28, 28) * 0.1
    settings = dict(steps=60, lr=0.02, jitter=1, octaves=2, seed=3)
    free = deep_dream(model, start, 7, weight=0.0, **settings)
    smooth = deep_dream(model, start, 7, weight=20.0, **settings)
    before = torch.softmax(model(start[None]), 1)[0, 7].item()
    # an untrained net's logits are small, so its softmax moves slowly: 0.10 -> about 0.2
    assert free.probability > before + 0.05 and free.predicted == 7
    assert total_variation(smooth.image) < total_variation(free.image)
    assert free.image.shape == (1, 28, 28)
    assert free.image.min() >= -1 and free.image.max() <= 1
    again = deep_dream(model, start, 7, weight=0.0, **settings)
    assert torch.equal(again.image, free.image)  # seeded jitter: reproducible
    assert not any(p.grad is not None for p in model.parameters())


def test_refused_settings():
    model = _linear()
    with pytest.raises(ConfigError, match="penalty must be one of"):
        deep_dream(model, torch.zeros(1, 4, 4), 0, penalty="l1")
    with pytest.raises(ConfigError, match="octave_scale > 1"):
        deep_dream(model, torch.zeros(1, 4, 4), 0, octave_scale=1.0)
    with pytest.raises(ConfigError, match="jitter"):
        deep_dream(model, torch.zeros(1, 4, 4), 0, jitter=-1)
