"""Callbacks: early stopping at the right step, gradient clipping, progress lines, hook order."""

import io

import pytest
import torch
from rich.console import Console
from torch import nn

from nnlab.data import load
from nnlab.data.transforms import to_signed
from nnlab.errors import ConfigError
from nnlab.train import Callback, EarlyStopping, GradClip, ProgressBar, fit


@pytest.fixture(scope="module")
def digits():
    """The embedded 8x8 digits: (train 1438, test 359) images, 10 classes; 23 batches of 64."""
    return load("digits", "train"), load("digits", "test")


def _logreg(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 10))


def _fit(model, digits, lr=0.1, **settings):
    train, test = digits
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    return fit(model, train, test, optimizer=optimizer, transform=to_signed, **settings)


def _grad_norm(model):
    return torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in model.parameters()]))


class _Spy(Callback):
    """Records what it sees: the events in order, and the weights at each evaluation."""

    def __init__(self):
        self.events, self.weights = [], {}

    def on_fit_start(self, state):
        self.events.append("start")

    def after_backward(self, state):
        assert all(p.grad is not None for p in state.model.parameters())
        self.events.append("backward")

    def on_step_end(self, state):
        self.events.append(f"step {state.step}")

    def on_evaluate(self, state, record):
        assert record is state.history[-1]
        self.events.append(f"evaluate {record['step']}")
        self.weights[state.step] = {k: v.clone() for k, v in state.model.state_dict().items()}

    def on_fit_end(self, state):
        self.events.append("end")

    def on_fit_abort(self, state, error):
        self.events.append(f"abort {type(error).__name__}")


def test_hooks_run_in_order(digits):
    spy = _Spy()
    _fit(_logreg(), digits, steps=4, eval_every=2, callbacks=[spy])
    steps = [
        ["backward", f"step {s}"] + ([f"evaluate {s}"] if s % 2 == 0 else []) for s in (1, 2, 3, 4)
    ]
    assert spy.events == ["start", *sum(steps, []), "end"]


def test_early_stopping_stops_after_patience_evaluations_without_improvement(digits):
    # lr = 0: val_loss is the same at every evaluation, so the first is the best and the fit
    # stops after `patience` more
    history = _fit(_logreg(), digits, lr=0.0, epochs=20, callbacks=[EarlyStopping(patience=3)])
    assert [r["step"] for r in history] == [23, 46, 69, 92]
    assert history.stop_reason == (
        f"early stopping: val_loss did not improve for 3 evaluations; "
        f"best {history[0]['val_loss']:.4g} at step 23"
    )


def _stop_index(values, patience, min_delta):
    """The rule as the docs state it, written out: index of the record the fit stops at."""
    best, waited = float("inf"), 0
    for i, value in enumerate(values):
        best, waited = (value, 0) if value < best - min_delta else (best, waited + 1)
        if waited >= patience:
            return i
    return len(values) - 1


def test_early_stopping_min_delta_ignores_small_improvements(digits):
    straight = _fit(_logreg(), digits, steps=100, eval_every=5)
    losses = straight.column("val_loss")
    expected = _stop_index(losses, patience=1, min_delta=0.03)
    assert expected < len(losses) - 1 and _stop_index(losses, 1, 0.0) == len(losses) - 1
    stop = EarlyStopping(patience=1, min_delta=0.03)
    stopped = _fit(_logreg(), digits, steps=100, eval_every=5, callbacks=[stop])
    assert len(stopped) == expected + 1 and stopped.stop_reason is not None


def test_early_stopping_at_a_target_stops_at_the_first_record_reaching_it(digits):
    straight = _fit(_logreg(), digits, steps=100, eval_every=5)
    first = next(r for r in straight if r["val_acc"] >= 0.85)
    assert first["step"] < 100  # the target is reached before the end
    stop = EarlyStopping("val_acc", mode="max", patience=100, target=0.85)
    stopped = _fit(_logreg(), digits, steps=100, eval_every=5, callbacks=[stop])
    assert stopped[-1]["step"] == first["step"]
    drop = [{k: v for k, v in r.items() if k != "seconds"} for r in straight]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in stopped] == drop[: len(stopped)]
    assert stopped.stop_reason.startswith("early stopping: val_acc reached the target 0.85")


def test_restore_best_loads_the_weights_of_the_best_evaluation(digits):
    # SGD with lr 2 on the digits is noisy: val_loss rises after its best, then the fit stops
    spy, stop, model = _Spy(), EarlyStopping(patience=3, restore_best=True), _logreg()
    history = _fit(model, digits, lr=2.0, steps=100, eval_every=5, callbacks=[stop, spy])
    best = history.best("val_loss", mode="min")
    assert history.stop_reason is not None and best["step"] == stop.best_step
    assert history[-1]["step"] == best["step"] + 3 * 5
    model_weights = model.state_dict()
    for key, value in spy.weights[best["step"]].items():
        assert torch.equal(model_weights[key], value)
    assert not torch.equal(model_weights["1.weight"], spy.weights[history[-1]["step"]]["1.weight"])


def test_early_stopping_unknown_metric_lists_the_record_keys(digits):
    with pytest.raises(ConfigError, match="'val_los' is not in.*val_loss, val_acc"):
        _fit(_logreg(), digits, steps=2, callbacks=[EarlyStopping("val_los")])


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"mode": "best"}, "mode"),
        ({"patience": 0}, "patience"),
        ({"min_delta": -0.1}, "min_delta"),
    ],
)
def test_early_stopping_bad_settings(settings, match):
    with pytest.raises(ConfigError, match=match):
        EarlyStopping(**settings)


class _NormSpy(Callback):
    """Records the total gradient norm (and a copy of the gradients) when its hook runs."""

    def __init__(self):
        self.norms, self.grads = [], []

    def after_backward(self, state):
        self.norms.append(_grad_norm(state.model).item())
        self.grads.append([p.grad.clone() for p in state.model.parameters()])


def test_grad_clip_clips_only_norms_above_the_maximum(digits):
    unclipped = _NormSpy()
    _fit(_logreg(), digits, steps=40, callbacks=[unclipped])
    max_norm = sorted(unclipped.norms)[20]  # so that about half the steps are clipped
    before, after = _NormSpy(), _NormSpy()
    history = _fit(
        _logreg(),
        digits,
        steps=40,
        eval_every=10,
        callbacks=[before, GradClip(max_norm), after],
    )
    clipped = 0
    for pre, post, pre_grads, post_grads in zip(
        before.norms, after.norms, before.grads, after.grads, strict=True
    ):
        if pre > max_norm:
            clipped += 1
            assert post <= max_norm + 1e-6 and post == pytest.approx(max_norm, rel=1e-5)
        else:
            assert all(torch.equal(a, b) for a, b in zip(pre_grads, post_grads, strict=True))
    assert 0 < clipped < len(before.norms)  # both cases happened
    # grad_norm: the largest pre-clip norm since the previous record
    expected = [max(before.norms[i : i + 10]) for i in range(0, 40, 10)]
    assert history.column("grad_norm") == pytest.approx(expected, rel=1e-6)


def test_grad_clip_rejects_a_non_positive_maximum():
    with pytest.raises(ConfigError, match="max_norm"):
        GradClip(0.0)


def test_progress_bar_writes_one_plain_line_per_evaluation_off_a_terminal(digits):
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=80)
    history = _fit(_logreg(), digits, epochs=2, callbacks=[ProgressBar("logreg", console=console)])
    lines = out.getvalue().splitlines()
    assert len(lines) == len(history) == 2
    for epoch, line, record in zip((1, 2), lines, history, strict=True):
        assert line.startswith(f"logreg epoch {epoch}/2 step {record['step']}/46 ")
        assert f"val loss {record['val_loss']:.4f} acc {record['val_acc']:.4f}" in line
        assert line.endswith(" img/s")


def test_progress_bar_on_a_terminal_shows_a_live_bar(digits):
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    _fit(_logreg(), digits, epochs=2, callbacks=[ProgressBar("logreg", console=console)])
    text = out.getvalue()
    assert "logreg" in text and "46/46" in text and "img/s" in text


class _Raises(Callback):
    def on_step_end(self, state):
        if state.step == 2:
            raise ValueError("boom")


def test_a_failing_callback_is_named_and_aborts_the_others(digits):
    spy = _Spy()
    with pytest.raises(ValueError, match="boom") as caught:
        _fit(_logreg(), digits, epochs=1, callbacks=[_Raises(), spy])
    assert "(raised in callback _Raises at on_step_end)" in caught.value.__notes__
    assert spy.events[-1] == "abort ValueError" and "end" not in spy.events


def test_a_callback_class_instead_of_an_instance_is_a_config_error(digits):
    with pytest.raises(ConfigError, match=r"call it, e.g. EarlyStopping\(\)"):
        _fit(_logreg(), digits, epochs=1, callbacks=[EarlyStopping])
