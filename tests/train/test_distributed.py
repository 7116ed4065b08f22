"""A fit over 2 gloo processes (torchrun) is the one-process fit: same weights within float
tolerance, same history; its checkpoint resumes at 1 rank and at 2."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from nnlab.data import load
from nnlab.data.transforms import to_signed
from nnlab.errors import ConfigError
from nnlab.train import Checkpoint, fit

WORKER = Path(__file__).with_name("ddp_worker.py")
#: 1437 training digits in batches of 50 (the last one 37 images: uneven parts per rank)
BATCH, EPOCHS, EVAL_EVERY = 50, 2, 10


def small_fit(*callbacks):
    """The fit both sides run: an MLP on digits, SGD with momentum, evaluated every 10 steps."""
    train, test = load("digits", "train"), load("digits", "test")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    history = fit(
        model,
        train,
        test,
        optimizer=optimizer,
        transform=to_signed,
        batch_size=BATCH,
        epochs=EPOCHS,
        eval_every=EVAL_EVERY,
        seed=3,
        callbacks=list(callbacks),
        precision="fp32",  # bf16 (auto on a CPU with native bf16) rounds each part its own way
    )
    return model, history


def _torchrun(out: Path, *args: str, ranks: int = 2) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(WORKER.parent)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
           f"--nproc_per_node={ranks}", str(WORKER), str(out), *args]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def one_process():
    return small_fit()


def _assert_same(result, one_process, tolerance=1e-5):
    model, history = one_process
    for key, value in model.state_dict().items():
        torch.testing.assert_close(result["model"][key], value, rtol=tolerance, atol=tolerance)
    assert [r["step"] for r in result["history"]] == [r["step"] for r in history]
    for got, want in zip(result["history"], history, strict=True):
        for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr"):
            assert got[key] == pytest.approx(want[key], rel=tolerance, abs=tolerance), key


@pytest.mark.slow
def test_two_gloo_ranks_reach_the_one_process_weights_and_history(one_process, tmp_path):
    _torchrun(tmp_path)
    _assert_same(torch.load(tmp_path / "result.pt", weights_only=True), one_process)


@pytest.mark.slow
def test_a_two_rank_checkpoint_resumes_at_one_rank_and_at_two(one_process, tmp_path):
    _torchrun(tmp_path, "33")  # killed mid-epoch, between evaluations (saved at step 30)
    assert torch.load(tmp_path / "fit.pt", weights_only=True)["step"] == 30
    assert not (tmp_path / "result.pt").exists()
    shutil.copy(tmp_path / "fit.pt", tmp_path / "copy.pt")
    model, history = small_fit(Checkpoint(tmp_path / "copy.pt"))  # at one rank
    _assert_same({"model": model.state_dict(), "history": list(history)}, one_process)
    _torchrun(tmp_path)  # at two
    _assert_same(torch.load(tmp_path / "result.pt", weights_only=True), one_process)


def test_sync_bn_on_the_cpu_is_refused_only_over_several_ranks(monkeypatch):
    from nnlab.train import distributed

    monkeypatch.setattr(distributed, "world", lambda: distributed.World(0, 2, 0))
    import nnlab.train.loop as loop

    monkeypatch.setattr(loop, "world", lambda: distributed.World(0, 2, 0))
    train = load("digits", "train")
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ConfigError, match="sync-bn"):
        fit(model, train, optimizer=opt, epochs=1, sync_bn=True, transform=to_signed)
    with pytest.raises(ConfigError, match="fewer than 2 images per rank"):
        fit(model, train, optimizer=opt, epochs=1, batch_size=3, transform=to_signed)
