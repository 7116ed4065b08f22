"""One rank of a distributed fit, for test_distributed: `torchrun ... ddp_worker.py OUT [KILL]`.

Trains the tests' small MLP on digits (the same model, data, seed and global batch as the
single-process fit in the test) with a Checkpoint at OUT/fit.pt; rank 0 saves the weights and
history to OUT/result.pt. With KILL, every rank stops (as after Ctrl-C) after that step.
"""

import sys
from pathlib import Path

import torch

from nnlab.train import Callback, Checkpoint
from nnlab.train.distributed import join, leave, world

sys.path.insert(0, str(Path(__file__).parent))
from test_distributed import small_fit  # noqa: E402


class _Kill(Callback):
    order = 200

    def __init__(self, at: int):
        self.at = at

    def on_step_end(self, state):
        if state.step == self.at:
            raise KeyboardInterrupt


def main() -> None:
    out = Path(sys.argv[1])
    kill = [_Kill(int(sys.argv[2]))] if len(sys.argv) > 2 else []
    join("cpu")
    try:
        model, history = small_fit(Checkpoint(out / "fit.pt"), *kill)
    except KeyboardInterrupt:
        leave()
        return
    if world().is_main:
        torch.save({"model": model.state_dict(), "history": list(history)}, out / "result.pt")
    leave()


if __name__ == "__main__":
    main()
