"""Every backward pass of `nnlab.scratch` against torch.autograd (float64) and gradcheck."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nnlab.scratch import (
    ACTIVATIONS,
    Activation,
    Dense,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    gradcheck,
    mlp,
    softmax_cross_entropy,
    squared_error,
)

RTOL = 1e-6  # the bar: relative agreement with autograd in float64

TORCH_ACTIVATIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "identity": lambda t: t,
    "softmax": lambda t: torch.softmax(t, dim=1),
}


def _close(ours, theirs):
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=1e-12)


def _t(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def test_dense_layer_matches_autograd_and_finite_differences():
    rng = np.random.default_rng(0)
    layer = Dense(5, 3, rng=rng)
    layer.params["b"][:] = rng.normal(size=3)  # a non-zero bias, so its gradient is exercised
    x, upstream = rng.normal(size=(4, 5)), rng.normal(size=(4, 3))
    y = layer.forward(x)
    dx = layer.backward(upstream)
    xt, Wt, bt = _t(x), _t(layer.params["W"]), _t(layer.params["b"])
    out = xt @ Wt + bt
    _close(y, out)
    (out * torch.tensor(upstream)).sum().backward()
    _close(dx, xt.grad)
    _close(layer.grads["W"], Wt.grad)
    _close(layer.grads["b"], bt.grad)

    def f():
        value = float((layer.forward(x) * upstream).sum())
        layer.backward(upstream)
        return value, layer.grads

    assert max(gradcheck(f, layer.params).values()) < 1e-6


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_autograd_and_finite_differences(name):
    rng = np.random.default_rng(1)
    x = rng.normal(scale=2.0, size=(6, 4))
    x[np.abs(x) < 1e-3] = 0.5  # keep ReLU's kink out of the finite differences
    upstream = rng.normal(size=(6, 4))
    layer = Activation(name)
    y = layer.forward(x)
    dx = layer.backward(upstream)
    xt = _t(x)
    out = TORCH_ACTIVATIONS[name](xt)
    (out * torch.tensor(upstream)).sum().backward()
    _close(y, out)
    _close(dx, xt.grad)

    def f():  # the input as the "parameter"
        value = float((layer.forward(params["x"]) * upstream).sum())
        return value, {"x": layer.backward(upstream)}

    params = {"x": x.copy()}
    assert max(gradcheck(f, params).values()) < 1e-6


def _labels(rng, n, k):
    return rng.integers(0, k, size=n)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_losses_match_autograd(reduction):
    rng = np.random.default_rng(2)
    n, k = 7, 5
    logits, y = rng.normal(size=(n, k)), _labels(rng, n, k)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    p = rng.uniform(0.05, 0.95, size=(n, 3))
    targets = rng.integers(0, 2, size=(n, 3)).astype(float)
    y_hat, y_true = rng.normal(size=(n, 3)), rng.normal(size=(n, 3))
    divide = n if reduction == "mean" else 1
    cases = [
        (
            softmax_cross_entropy,
            logits,
            y,
            lambda t: F.cross_entropy(t, torch.tensor(y), reduction=reduction),
        ),
        (
            cross_entropy,
            probs,
            y,
            lambda t: F.nll_loss(torch.log(t), torch.tensor(y), reduction=reduction),
        ),
        (
            binary_cross_entropy,
            p,
            targets,
            lambda t: F.binary_cross_entropy(t, torch.tensor(targets), reduction="sum") / divide,
        ),
        (
            binary_cross_entropy_with_logits,
            y_hat,
            targets,
            lambda t: (
                F.binary_cross_entropy_with_logits(t, torch.tensor(targets), reduction="sum")
                / divide
            ),
        ),
        (squared_error, y_hat, y_true, lambda t: ((t - torch.tensor(y_true)) ** 2).sum() / divide),
    ]
    for ours, a, b, reference in cases:
        loss, grad = ours(a, b, reduction=reduction)
        at = _t(a)
        ref = reference(at)
        ref.backward()
        np.testing.assert_allclose(loss, ref.item(), rtol=1e-10, err_msg=ours.__name__)
        _close(grad, at.grad)


@pytest.mark.parametrize(
    "loss, make_target",
    [
        (softmax_cross_entropy, lambda rng, out: rng.integers(0, out.shape[1], len(out))),
        (squared_error, lambda rng, out: rng.normal(size=out.shape)),
        (binary_cross_entropy_with_logits, lambda rng, out: rng.integers(0, 2, out.shape) * 1.0),
    ],
)
def test_losses_pass_gradcheck(loss, make_target):
    rng = np.random.default_rng(3)
    params = {"out": rng.normal(size=(5, 4))}
    target = make_target(rng, params["out"])

    def f():
        value, grad = loss(params["out"], target)
        return value, {"out": grad}

    assert max(gradcheck(f, params).values()) < 1e-6


def test_probability_losses_pass_gradcheck():
    rng = np.random.default_rng(4)
    params = {"p": rng.uniform(0.1, 0.9, size=(5, 4))}
    y, t = rng.integers(0, 4, 5), rng.integers(0, 2, (5, 4)) * 1.0
    for loss, target in ((cross_entropy, y), (binary_cross_entropy, t)):

        def f(loss=loss, target=target):
            value, grad = loss(params["p"], target)
            return value, {"p": grad}

        assert max(gradcheck(f, params).values()) < 1e-6, loss.__name__


def test_whole_network_backward_matches_autograd():
    rng = np.random.default_rng(5)
    net = mlp((6, 5, 4, 3), "tanh", rng=rng)
    x, y = rng.normal(size=(8, 6)), rng.integers(0, 3, 8)
    loss, d_logits = softmax_cross_entropy(net.forward(x), y)
    net.backward(d_logits)
    weights = {name: _t(p) for name, p in net.params.items()}
    h = torch.tensor(x)
    for i in (0, 2):
        h = torch.tanh(h @ weights[f"{i}.W"] + weights[f"{i}.b"])
    logits = h @ weights["4.W"] + weights["4.b"]
    ref = F.cross_entropy(logits, torch.tensor(y))
    ref.backward()
    np.testing.assert_allclose(loss, ref.item(), rtol=1e-12)
    for name, w in weights.items():
        _close(net.grads[name], w.grad)


def test_gradcheck_catches_a_wrong_gradient_and_restores_the_parameters():
    rng = np.random.default_rng(6)
    params = {"w": rng.normal(size=(3, 4)), "v": rng.normal(size=5)}
    before = {k: v.copy() for k, v in params.items()}

    def f():  # L = Σ w³ + Σ v²; v's gradient is off by 1%
        grads = {"w": 3 * params["w"] ** 2, "v": 2 * params["v"] * 1.01}
        return float((params["w"] ** 3).sum() + (params["v"] ** 2).sum()), grads

    errors = gradcheck(f, params)
    assert errors["w"] < 1e-8
    assert errors["v"] == pytest.approx(0.01 / 1.01, rel=1e-4)  # |1.01 g − g| / (1.01 |g|)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])

    def loss_only():
        return float((params["w"] ** 3).sum() + (params["v"] ** 2).sum())

    assert gradcheck(f, params, loss_only=loss_only) == errors  # same losses, no gradients
    sampled = gradcheck(f, params, max_entries=2)
    assert set(sampled) == {"w", "v"} and sampled["v"] == pytest.approx(0.01 / 1.01, rel=1e-4)
