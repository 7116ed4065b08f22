"""How fast `nnlab.train.fit` trains, against the usual tutorial loop over a per-sample DataLoader.

Trains the MNIST MLP 784-256-256-128-128-10 (ReLU, Adam lr 1e-3, batch 100) for one epoch two
ways, from the same initial weights and with the same thread count:

1. `fit` on the tensor-resident MNIST train set (batches are index slices, `to_signed` on the
   whole batch);
2. the tutorial loop: a `Dataset` that makes a PIL image of each uint8 28x28 array and converts it
   with a hand-written ToTensor + Normalize((0.5,), (0.5,)) (torchvision is not available), a
   shuffling `DataLoader(batch_size=100, num_workers=0)`, and zero_grad / forward / loss /
   backward / step with the tutorials' `running_loss += loss.item()`.

Both models are then scored on the MNIST test set, to show they learnt the same. Run by
`make bench`, never by the tests:

    NNLAB_DATA=/path/to/data python benchmarks/bench_train.py [--device cuda] [--threads 2]
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset

from nnlab.data import load
from nnlab.data.transforms import to_signed
from nnlab.train import evaluate, fit


def _mlp() -> nn.Module:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 256),
        nn.ReLU(),
        nn.Linear(256, 256),
        nn.ReLU(),
        nn.Linear(256, 128),
        nn.ReLU(),
        nn.Linear(128, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


class _PilImages(Dataset):
    """The tutorial dataset: one PIL image at a time, ToTensor + Normalize by hand."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x, self.y = x, y  # uint8 [N, 28, 28], int64 [N]

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image = Image.fromarray(self.x[i])
        t = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).unsqueeze(0)  # [1, 28, 28]
        return (t - 0.5) / 0.5, int(self.y[i])


def _tutorial_epoch(model: nn.Module, loader: DataLoader, device: torch.device) -> float:
    """One epoch of the usual loop; returns its wall time in seconds."""
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    start = time.perf_counter()
    running_loss = 0.0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.set_num_threads(args.threads)

    train, test = load("mnist", "train"), load("mnist", "test")
    torch.manual_seed(0)
    init = _mlp().state_dict()

    ours = _mlp().to(device)
    ours.load_state_dict(init)
    optimizer = torch.optim.Adam(ours.parameters(), lr=1e-3)  # built (and torch warmed) untimed
    start = time.perf_counter()
    history = fit(
        ours,
        train,
        epochs=1,
        optimizer=optimizer,
        batch_size=100,
        transform=to_signed,
        device=device,
        seed=0,
    )
    ours_s = time.perf_counter() - start

    theirs = _mlp().to(device)
    theirs.load_state_dict(init)
    dataset = _PilImages(train.x[:, 0].numpy(), train.y.numpy())
    loader = DataLoader(
        dataset,
        batch_size=100,
        shuffle=True,
        num_workers=0,
        generator=torch.Generator().manual_seed(0),
    )
    theirs_s = _tutorial_epoch(theirs, loader, device)

    n = len(train)
    accuracy = [evaluate(m, test, transform=to_signed).accuracy for m in (ours, theirs)]
    print(f"one epoch of MNIST ({n:,} images), MLP 784-256-256-128-128-10, Adam, batch 100")
    print(f"device={device}, threads={torch.get_num_threads()}")
    print(f"{'loop':<42} {'s/epoch':>8} {'images/s':>10} {'test acc':>9}")
    rows = [
        ("nnlab.train.fit (tensor-resident)", ours_s, accuracy[0]),
        ("tutorial loop (PIL Dataset + DataLoader)", theirs_s, accuracy[1]),
    ]
    for name, seconds, acc in rows:
        print(f"{name:<42} {seconds:>8.2f} {n / seconds:>10,.0f} {acc:>9.4f}")
    fit_seconds = history[-1]["seconds"]
    print(f"speed-up: {theirs_s / ours_s:.1f}x (fit's own training time {fit_seconds:.2f} s)")


if __name__ == "__main__":
    main()
