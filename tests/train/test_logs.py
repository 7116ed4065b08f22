"""HistoryLog and TensorBoardLog: what they write equals the fit's history, and a killed,
resumed fit leaves no repeated row or step."""

import csv

import pytest
import torch
from torch import nn

from nnlab.data import load
from nnlab.data.transforms import to_signed
from nnlab.train import Callback, Checkpoint, HistoryLog, TensorBoardLog, fit

EVAL_EVERY = 5


@pytest.fixture(scope="module")
def digits():
    return load("digits", "train"), load("digits", "test")


class _Kill(Callback):
    """Stands in for Ctrl-C after step `at`."""

    order = 200  # after the logs and the checkpoint have seen the step

    def __init__(self, at):
        self.at = at

    def on_step_end(self, state):
        if state.step == self.at:
            raise KeyboardInterrupt


def _fit(digits, *callbacks):
    train, test = digits
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    return fit(
        model,
        train,
        test,
        optimizer=optimizer,
        transform=to_signed,
        epochs=2,
        eval_every=EVAL_EVERY,
        callbacks=list(callbacks),
    )


def _rows(path):
    return list(csv.DictReader(path.open()))


def _same_as_history(rows, history):
    assert [int(r["step"]) for r in rows] == [r["step"] for r in history]
    for row, record in zip(rows, history, strict=True):
        for key in ("train_loss", "val_loss", "val_acc", "lr"):
            assert float(row[key]) == pytest.approx(record[key], rel=1e-12)


def test_the_history_csv_holds_one_row_per_evaluation(digits, tmp_path):
    history = _fit(digits, HistoryLog(tmp_path / "h" / "mlp.csv"))
    rows = _rows(tmp_path / "h" / "mlp.csv")
    _same_as_history(rows, history)
    assert list(rows[0])[:7] == ["step", "epoch", "train_loss", "train_acc", "val_loss",
                                 "val_acc", "lr"]  # fmt: skip
    assert list(rows[0])[-1] == "seconds"


# killed between evaluations; killed after an evaluation (25) that the last checkpoint (21)
# predates, so the resumed fit evaluates step 25 again
@pytest.mark.parametrize("kill_at", [12, 27])
def test_a_resumed_fit_rewrites_its_csv_without_repeating_rows(digits, tmp_path, kill_at):
    straight = _fit(digits)
    log, checkpoint = tmp_path / "mlp.csv", tmp_path / "mlp.pt"
    with pytest.raises(KeyboardInterrupt):
        _fit(digits, HistoryLog(log), Checkpoint(checkpoint, every=7), _Kill(kill_at))
    written = [int(r["step"]) for r in _rows(log)]
    assert written == [r["step"] for r in straight if r["step"] < kill_at]
    resumed = _fit(digits, HistoryLog(log), Checkpoint(checkpoint, every=7))
    _same_as_history(_rows(log), straight)
    _same_as_history(_rows(log), resumed)


def _scalars(logdir, tag):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(logdir))
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars(tag)]


def test_tensorboard_scalars_match_the_history_after_a_resume(digits, tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    straight = _fit(digits)
    logdir, checkpoint = tmp_path / "tb", tmp_path / "mlp.pt"
    with pytest.raises(KeyboardInterrupt):
        _fit(digits, TensorBoardLog(logdir, "mlp"), Checkpoint(checkpoint, every=7), _Kill(22))
    _fit(digits, TensorBoardLog(logdir, "mlp"), Checkpoint(checkpoint, every=7))
    for key in ("train_loss", "val_acc"):
        got = _scalars(logdir, f"mlp/{key}")
        assert [step for step, _ in got] == [r["step"] for r in straight]  # none twice
        want = [r[key] for r in straight]
        assert [value for _, value in got] == pytest.approx(want, rel=1e-6)
