"""Checkpoint: a killed, resumed fit ends as an uninterrupted one would; bad files are refused."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nnlab.data import load
from nnlab.data.transforms import to_signed
from nnlab.errors import ConfigError, CorruptFileError, NnlabError
from nnlab.train import Callback, Checkpoint, EarlyStopping, GradClip, fit

# 23 batches of 64 per epoch; the straight run below stops early at step 85 (best val_acc at 70)
EPOCHS, EVAL_EVERY, STOP_STEP = 4, 5, 85


@pytest.fixture(scope="module")
def digits():
    return load("digits", "train"), load("digits", "test")


class _Kill(Callback):
    """Stands in for Ctrl-C after step `at`."""

    def __init__(self, at):
        self.at = at

    def on_step_end(self, state):
        if state.step == self.at:
            raise KeyboardInterrupt


class _CountSteps(Callback):
    def __init__(self):
        self.steps = 0

    def on_step_end(self, state):
        self.steps += 1


def _run(digits, *extra, model_seed=0, rng_seed=100, **settings):
    """A fit with everything a resume must restore: Adam state, a scheduler, dropout's RNG,
    EarlyStopping's counter and GradClip's running maximum."""
    train, test = digits
    torch.manual_seed(model_seed)
    model = nn.Sequential(
        nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 10)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    stop = EarlyStopping("val_acc", mode="max", patience=3)
    torch.manual_seed(rng_seed)  # the global RNG that dropout draws from
    # fp32: the stop step is pinned, and bf16 autocast (auto on a CPU with native bf16) would
    # move it
    settings = {"epochs": EPOCHS, "eval_every": EVAL_EVERY, "precision": "fp32"} | settings
    history = fit(
        model,
        train,
        test,
        optimizer=optimizer,
        scheduler=scheduler,
        transform=to_signed,
        callbacks=[stop, GradClip(1.0), *extra],
        **settings,
    )
    return model, optimizer, scheduler, stop, history


def _no_seconds(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


def _assert_same_state(a, b):
    """Two nested state dicts (tensors, numbers, lists) are equal, tensors bit for bit."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            _assert_same_state(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _assert_same_state(x, y)
    else:
        assert a == b


@pytest.fixture(scope="module")
def straight(digits):
    model, optimizer, scheduler, stop, history = _run(digits)
    assert history[-1]["step"] == STOP_STEP and history.stop_reason is not None
    return model, optimizer, scheduler, stop, history


@pytest.mark.parametrize(
    ("every", "kill_at", "saved_at"),
    [
        (7, 79, 77),  # mid-epoch (batch 8 of epoch 3), between evaluations
        (23, 70, 69),  # at an epoch boundary, killed before the evaluation of step 70
        (None, 83, 80),  # saved at evaluations only; EarlyStopping's counter is 2 there
    ],
)
def test_a_killed_fit_resumes_to_the_same_weights_history_and_stop(
    digits, straight, tmp_path, every, kill_at, saved_at
):
    path = tmp_path / "fit.pt"
    with pytest.raises(KeyboardInterrupt):
        _run(digits, Checkpoint(path, every=every), _Kill(kill_at))
    assert torch.load(path, weights_only=True)["step"] == saved_at
    # another initialisation and another global RNG state: all of it must come from the file
    resumed = _run(digits, Checkpoint(path, every=every), model_seed=1, rng_seed=999)
    model, optimizer, scheduler, stop, history = resumed
    s_model, s_optimizer, s_scheduler, s_stop, s_history = straight
    _assert_same_state(model.state_dict(), s_model.state_dict())
    _assert_same_state(optimizer.state_dict(), s_optimizer.state_dict())
    _assert_same_state(scheduler.state_dict(), s_scheduler.state_dict())
    _assert_same_state(stop.state_dict(), s_stop.state_dict())
    assert _no_seconds(history) == _no_seconds(s_history)
    assert history.stop_reason == s_history.stop_reason
    assert not (tmp_path / "fit.pt.tmp").exists()


def test_a_complete_checkpoint_returns_its_history_without_training(digits, tmp_path):
    path = tmp_path / "fit.pt"
    model, *_, history = _run(digits, Checkpoint(path), epochs=1)
    assert torch.load(path, weights_only=True)["complete"]
    counter = _CountSteps()
    again, *_, stored = _run(digits, Checkpoint(path), counter, epochs=1, model_seed=3)
    assert counter.steps == 0
    assert stored == history and stored.stop_reason == history.stop_reason  # seconds too
    _assert_same_state(again.state_dict(), model.state_dict())


def test_a_complete_checkpoint_holds_the_restored_best_weights(digits, tmp_path):
    train, test = digits
    path = tmp_path / "fit.pt"
    weights = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
        fit(
            model,
            train,
            test,
            steps=100,
            eval_every=5,
            optimizer=torch.optim.SGD(model.parameters(), lr=2.0),  # noisy: stops early
            transform=to_signed,
            callbacks=[EarlyStopping(patience=3, restore_best=True), Checkpoint(path)],
        )
        weights.append(model.state_dict())
    _assert_same_state(weights[1], weights[0])


@pytest.mark.parametrize(
    ("settings", "old", "new"),
    [
        ({"batch_size": 32}, "batch_size=64", "batch_size=32"),
        ({"seed": 1}, "seed=0", "seed=1"),
        ({"epochs": 2}, "steps_total=23", "steps_total=46"),
        ({"eval_every": 10}, "eval_every=5", "eval_every=10"),
    ],
)
def test_a_checkpoint_of_other_settings_is_refused(digits, tmp_path, settings, old, new):
    path = tmp_path / "fit.pt"
    _run(digits, Checkpoint(path), epochs=1)
    with pytest.raises(ConfigError, match=f"{path}.*{old}.*{new}.*[Dd]elete the file"):
        _run(digits, Checkpoint(path), **({"epochs": 1} | settings))


def test_resuming_with_other_callbacks_or_model_is_refused(digits, tmp_path):
    train, test = digits
    path = tmp_path / "fit.pt"
    with pytest.raises(KeyboardInterrupt):
        _run(digits, Checkpoint(path, every=3), _Kill(4))
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with pytest.raises(ConfigError, match=f"{path} does not match this fit"):
        fit(
            model,
            train,
            test,
            epochs=EPOCHS,
            eval_every=EVAL_EVERY,
            optimizer=torch.optim.Adam(model.parameters()),
            transform=to_signed,
            callbacks=[Checkpoint(path)],
        )
    with pytest.raises(ConfigError, match="Missing key|size mismatch|Unexpected key"):
        fit(
            model,
            train,
            test,
            epochs=EPOCHS,
            eval_every=EVAL_EVERY,
            optimizer=torch.optim.Adam(model.parameters()),
            transform=to_signed,
            callbacks=[
                EarlyStopping("val_acc", "max", patience=3),
                GradClip(1.0),
                Checkpoint(path),
            ],
        )


def test_corrupt_or_foreign_files_are_corrupt_file_errors(digits, tmp_path):
    path = tmp_path / "fit.pt"
    _run(digits, Checkpoint(path), epochs=1)
    data = path.read_bytes()
    for content in (b"not a checkpoint", data[: len(data) // 2]):
        path.write_bytes(content)
        with pytest.raises(CorruptFileError, match=f"checkpoint {path} cannot be read"):
            _run(digits, Checkpoint(path), epochs=1)
    torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(CorruptFileError, match="not an nnlab checkpoint"):
        _run(digits, Checkpoint(path), epochs=1)


def test_nothing_is_checkpointed_after_a_nan_loss(digits, tmp_path):
    train, _ = digits
    path = tmp_path / "fit.pt"
    calls = []

    def nan_at_step_3(output, y):
        calls.append(1)
        return F.cross_entropy(output, y) * (float("nan") if len(calls) == 3 else 1.0)

    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    with pytest.raises(NnlabError, match="at step 3"):
        fit(
            model,
            train,
            epochs=1,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            loss=nan_at_step_3,
            transform=to_signed,
            callbacks=[Checkpoint(path, every=1)],
        )
    saved = torch.load(path, weights_only=True)
    assert saved["step"] == 2 and not saved["complete"]


def test_checkpoint_every_must_be_a_positive_integer(tmp_path):
    with pytest.raises(ConfigError, match="every"):
        Checkpoint(tmp_path / "fit.pt", every=0)
