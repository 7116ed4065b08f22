"""Speed settings: fused optimisers, the precision policy, channels_last, threads."""

import pytest
import threadpoolctl
import torch
from torch import nn

from nnlab.data import load
from nnlab.data.transforms import to_signed
from nnlab.errors import ConfigError
from nnlab.train import Speed, evaluate, fit, make_optimizer, native_bf16, thread_limit
from nnlab.train import device as device_module
from nnlab.train.device import Acceleration, resolve_precision

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def digits():
    return load("digits", "train"), load("digits", "test")


def _cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


def _mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


# ---- fused optimisers


@pytest.mark.parametrize("kind", [torch.optim.Adam, torch.optim.AdamW, torch.optim.SGD])
def test_make_optimizer_uses_the_fused_kernel_where_torch_has_one(kind):
    optimizer = make_optimizer(kind, _mlp().parameters(), lr=0.01)
    assert type(optimizer) is kind and optimizer.defaults["fused"] is True


def test_make_optimizer_falls_back_to_foreach_and_keeps_what_is_given():
    rmsprop = make_optimizer(torch.optim.RMSprop, _mlp().parameters(), lr=0.01)
    assert rmsprop.defaults["foreach"] is True  # RMSprop has no fused kernel
    plain = make_optimizer(torch.optim.Adam, _mlp().parameters(), lr=0.01, fused=False)
    assert not plain.defaults["fused"]
    with pytest.raises(ConfigError, match="torch.optim class"):
        make_optimizer("adam", _mlp().parameters(), lr=0.01)


@pytest.mark.parametrize(
    "kind, settings",
    [
        (torch.optim.Adam, {"lr": 1e-2, "weight_decay": 1e-4}),
        (torch.optim.SGD, {"lr": 0.1, "momentum": 0.9}),
    ],
)
def test_fused_training_matches_the_default_implementation(digits, kind, settings):
    """The fused step is the same update: 3 epochs land on the default's weights within float
    tolerance, and a repeat of the fused fit is bit-identical (same seed, same machine)."""
    train, _ = digits
    weights = []
    for fused in (False, True, True):
        model = _mlp()
        optimizer = kind(model.parameters(), fused=fused, **settings)
        fit(model, train, epochs=3, optimizer=optimizer, transform=to_signed, precision="fp32")
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    torch.testing.assert_close(weights[1], weights[0], rtol=1e-4, atol=1e-5)
    assert torch.equal(weights[1], weights[2])


# ---- the precision policy


def test_auto_picks_fp32_without_native_bf16(monkeypatch):
    monkeypatch.setattr(device_module, "cpu_flags", lambda: frozenset({"avx2", "fma", "avx512f"}))
    assert not native_bf16(CPU)
    assert resolve_precision("auto", CPU) == "fp32"
    plan = Acceleration.plan(CPU, _cnn(), 100, Speed())
    assert plan == Acceleration(device_type="cpu")  # plain float32: nothing slows an AVX2 CPU
    assert plan.describe() == "fp32"


@pytest.mark.parametrize("flag", ["amx_bf16", "avx512_bf16"])
def test_auto_picks_bf16_and_channels_last_with_native_bf16(monkeypatch, flag):
    monkeypatch.setattr(device_module, "cpu_flags", lambda: frozenset({"avx2", flag}))
    assert native_bf16(CPU)
    conv = Acceleration.plan(CPU, _cnn(), 100, Speed())
    assert (conv.precision, conv.channels_last, conv.compile) == ("bf16", True, False)
    assert conv.describe() == "bf16 autocast + channels_last"
    mlp = Acceleration.plan(CPU, _mlp(), 100, Speed())  # no convolution: no channels_last
    assert (mlp.precision, mlp.channels_last) == ("bf16", False)
    forced = Acceleration.plan(CPU, _cnn(), 100, Speed("fp32", compile=True))
    assert forced.describe() == "fp32 + torch.compile"


def test_cpu_flags_are_read_from_this_machine():
    flags = device_module.cpu_flags()
    assert isinstance(flags, frozenset)
    if flags:  # Linux: every x86-64 CPU lists sse2, every ARM one fp or asimd
        assert flags & {"sse2", "fp", "asimd"}


def test_a_bad_precision_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="auto, fp32, bf16"):
        Speed("fp16")
    with pytest.raises(ConfigError, match="auto, fp32, bf16"):
        fit(_mlp(), load("digits", "test"), epochs=1, optimizer=None, precision="half")


def test_bf16_reaches_the_fp32_accuracy(digits):
    """bf16 autocast on the CPU (emulated where it is not native) trains the conv net as well
    as float32 does, within 3 points, and its history says so."""
    train, test = digits
    results = {}
    for precision in ("fp32", "bf16"):
        model = _cnn()
        history = fit(
            model,
            train,
            test,
            epochs=15,
            optimizer=make_optimizer(torch.optim.Adam, model.parameters(), lr=1e-2),
            transform=to_signed,
            precision=precision,
        )
        results[precision] = history[-1]["val_acc"]
        assert history.precision == (
            "fp32" if precision == "fp32" else "bf16 autocast + channels_last"
        )
        # the model is left usable in float32: channels_last weights, float32 parameters
        assert all(p.dtype == torch.float32 for p in model.parameters())
        assert evaluate(model, test, transform=to_signed).accuracy == pytest.approx(
            results[precision], abs=0.02
        )
    assert results["fp32"] >= 0.9
    assert results["bf16"] >= results["fp32"] - 0.03


# ---- threads


def test_thread_limit_caps_torch_and_blas_and_restores_them():
    before = torch.get_num_threads()
    with thread_limit(1):
        assert torch.get_num_threads() == 1
        pools = threadpoolctl.threadpool_info()
        assert pools and all(p["num_threads"] == 1 for p in pools if p["user_api"] == "blas")
    assert torch.get_num_threads() == before
    with thread_limit(None):
        assert torch.get_num_threads() == before
