"""How fast whole-split tensors feed a training loop, against a per-sample DataLoader.

Times (a) loading a split cold (the first `nnlab.data.load` in this process: decompress and parse
the publisher's files) and (b) one shuffled epoch of `batches(..., transform=to_signed)` at a few
batch sizes, then the same epoch through a naive `torch.utils.data.DataLoader` that indexes and
scales one image at a time (num_workers=0). Run by `make bench`, never by the tests:

    NNLAB_DATA=/path/to/data python benchmarks/bench_data.py [--dataset mnist] [--device cuda]
"""

import argparse
import time
from collections.abc import Iterable

import torch
from torch.utils.data import DataLoader, Dataset

from nnlab.data import load
from nnlab.data.pipeline import batches
from nnlab.data.transforms import to_signed


class _PerSample(Dataset):
    """The baseline: one uint8 image [C, H, W] at a time, scaled as it is fetched."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor):
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        # to_signed is elementwise, so it takes one image as well as a batch
        return to_signed(self.x[i]), self.y[i]


def _epoch_seconds(epochs: Iterable, device: torch.device, repeats: int) -> float:
    """Best wall time of `repeats` full passes over a re-iterable of (x, y) batches.

    Each batch is moved to `device` (a no-op when it is there already) and touched, so a pipeline
    that leaves data on the CPU pays for the copy and nothing is left lazy on a GPU.
    """
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        total = torch.zeros((), device=device)
        for xb, _ in epochs:
            total += xb.to(device)[:, 0, 0, 0].sum()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--split", default="train")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--repeats", type=int, default=3, help="passes per row; best is shown")
    parser.add_argument(
        "--baseline-batch-size", type=int, default=64, help="batch size of the DataLoader"
    )
    args = parser.parse_args()
    device = torch.device(args.device)

    start = time.perf_counter()
    imageset = load(args.dataset, args.split)
    load_s = time.perf_counter() - start
    n = len(imageset)
    print(
        f"load {args.dataset}/{args.split} (cold): {load_s:.2f} s, {n / load_s:,.0f} images/s, "
        f"{tuple(imageset.x.shape)} uint8"
    )
    on_device = imageset.to(device)

    rows = [
        (
            f"batches(batch_size={size})",
            _epoch_seconds(
                batches(on_device, size, shuffle=True, seed=0, transform=to_signed),
                device,
                args.repeats,
            ),
        )
        for size in args.batch_sizes
    ]
    # the baseline reads the CPU tensors, as a DataLoader over files would, and moves each batch
    baseline = DataLoader(
        _PerSample(imageset.x, imageset.y),
        batch_size=args.baseline_batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(0),
        num_workers=0,
    )
    rows.append(
        (
            f"DataLoader per-sample (batch_size={args.baseline_batch_size})",
            _epoch_seconds(baseline, device, args.repeats),
        )
    )

    slowest = rows[-1][1]
    print(f"\none shuffled epoch of {n:,} images, to_signed, device={device}")
    print(f"{'pipeline':<42} {'s/epoch':>8} {'images/s':>12} {'speed-up':>9}")
    for name, seconds in rows:
        print(f"{name:<42} {seconds:>8.3f} {n / seconds:>12,.0f} {slowest / seconds:>8.1f}x")


if __name__ == "__main__":
    main()
