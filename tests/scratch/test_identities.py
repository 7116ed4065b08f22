"""Mathematical identities the building blocks must satisfy, and torch-free importing."""

import subprocess
import sys

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from nnlab.scratch import (
    SGD,
    Activation,
    Dense,
    Network,
    minibatches,
    mlp,
    sigmoid,
    softmax,
    tanh,
    xavier_uniform,
)

finite = st.floats(-50, 50, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, (4, 6), elements=finite), st.floats(-500, 500))
def test_softmax_is_shift_invariant_and_rows_sum_to_one(x, c):
    p = softmax(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(softmax(x + c), p, rtol=1e-9, atol=1e-300)
    assert np.all(p >= 0)


def test_softmax_does_not_overflow_where_the_naive_formula_does():
    x = np.array([[1000.0, 1001.0, 999.0]])
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(x) / np.exp(x).sum()
    assert np.isnan(naive).all()
    e = np.exp([0.0, 1.0, -1.0])  # by hand: the same logits shifted by 1000
    np.testing.assert_allclose(softmax(x)[0], e / e.sum(), rtol=1e-14)


@settings(max_examples=40, deadline=None)
@given(arrays(np.float64, 20, elements=st.floats(-30, 30)))
def test_sigmoid_derivative_and_tanh_identities(x):
    s = sigmoid(x)
    h = 1e-6
    numeric = (sigmoid(x + h) - sigmoid(x - h)) / (2 * h)
    np.testing.assert_allclose(numeric, s * (1 - s), atol=1e-9)  # σ' = σ(1 − σ)
    np.testing.assert_allclose(tanh(x), 2 * sigmoid(2 * x) - 1, atol=1e-14)
    layer = Activation("sigmoid")
    layer.forward(x)
    np.testing.assert_allclose(layer.backward(np.ones_like(x)), s * (1 - s), rtol=1e-14)


def test_deep_linear_network_is_one_affine_map():
    rng = np.random.default_rng(0)
    net = mlp((7, 6, 5, 4), "identity", rng=rng)
    for layer in net.dense_layers:
        layer.params["b"][:] = rng.normal(size=layer.params["b"].shape)
    # compose: x W1 + b1 -> (x W1 + b1) W2 + b2 -> ...: W = W1 W2 W3, b = (b1 W2 + b2) W3 + b3
    W, b = np.eye(7), np.zeros(7)
    for layer in net.dense_layers:
        W, b = W @ layer.params["W"], b @ layer.params["W"] + layer.params["b"]
    x = rng.normal(size=(9, 7))
    np.testing.assert_allclose(net.forward(x), x @ W + b, rtol=1e-12, atol=1e-12)


def test_xavier_uniform_bound_and_variance():
    rng = np.random.default_rng(1)
    w = xavier_uniform(300, 200, rng)
    bound = np.sqrt(6 / 500)
    assert w.shape == (300, 200) and np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound  # the range is used, not a narrower one
    np.testing.assert_allclose(w.var(), 2 / 500, rtol=0.03)  # a²/3 = 2 / (fan_in + fan_out)
    assert xavier_uniform(3, 4, rng, np.float32).dtype == np.float32


def test_sgd_with_momentum_follows_torch():
    rng = np.random.default_rng(2)
    w0 = rng.normal(size=(3, 2))
    ours = {"w": w0.copy()}
    opt = SGD(ours, lr=0.1, momentum=0.9)
    tw = torch.tensor(w0, requires_grad=True)
    topt = torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    for _ in range(5):
        g = rng.normal(size=(3, 2))
        opt.step({"w": g})
        tw.grad = torch.tensor(g)
        topt.step()
    np.testing.assert_allclose(ours["w"], tw.detach().numpy(), rtol=1e-12)


def test_minibatches_cover_every_sample_once_per_epoch_reproducibly():
    draws = list(minibatches(23, 5, np.random.default_rng(3), epochs=2))
    assert [len(b) for b in draws] == [5, 5, 5, 5, 3] * 2
    first, second = np.concatenate(draws[:5]), np.concatenate(draws[5:])
    assert sorted(first) == list(range(23)) and sorted(second) == list(range(23))
    assert not np.array_equal(first, second)  # a new order each epoch
    again = list(minibatches(23, 5, np.random.default_rng(3), epochs=2))
    assert all(np.array_equal(a, b) for a, b in zip(draws, again, strict=True))
    ordered = np.concatenate(list(minibatches(7, 3, np.random.default_rng(0), shuffle=False)))
    np.testing.assert_array_equal(ordered, np.arange(7))


def test_network_float32_stays_float32():
    net = Network([Dense(4, 3, rng=np.random.default_rng(0), dtype=np.float32), Activation("relu")])
    out = net.forward(np.ones((2, 4), dtype=np.float32))
    assert out.dtype == np.float32 and net.params["0.W"].dtype == np.float32


def test_importing_nnlab_scratch_does_not_import_torch():
    code = "import nnlab.scratch, sys; assert 'torch' not in sys.modules, 'torch was imported'"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
