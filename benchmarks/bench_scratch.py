"""One epoch of the NIST36 network in `nnlab.scratch` against the same network in torch.

The network of `scratch-mlp`: 1024 → 64 sigmoid → 36 softmax, cross-entropy summed over the
batch, plain SGD lr 0.009, batch 32, on 10,800 images (NIST36's training-set size; hand36 stands
in for NIST36, or random pixels with `--synthetic`). Both start from the same Xavier-uniform
weights and see the same batches; each epoch's time is the best of `--repeat` runs. torch runs
the usual loop (forward, loss, zero_grad, backward, step) on CPU tensors sliced by index, without
a DataLoader, so the comparison is of the arithmetic and the framework's per-step overhead. The
goal is NumPy within 2× of torch. Run by hand, never by the tests:

    NNLAB_DATA=/path/to/data python benchmarks/bench_scratch.py [--threads 1] [--synthetic]

`--threads` limits both BLAS (NumPy, through threadpoolctl) and torch's intra-op threads; on a
busy machine, several threads per tiny matrix product can be much slower than one.
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from threadpoolctl import threadpool_limits

from nnlab.scratch import SGD, mlp, softmax_cross_entropy, train_epoch

SIZES = (1024, 64, 36)
N_TRAIN = 10_800
BATCH, LR = 32, 0.009


def _data(synthetic: bool) -> tuple[np.ndarray, np.ndarray]:
    """X [10800, 1024] float64 in [0, 1] and y [10800] int64."""
    if synthetic:
        rng = np.random.default_rng(0)
        return rng.random((N_TRAIN, SIZES[0])), rng.integers(0, SIZES[-1], N_TRAIN)
    from nnlab.data import load

    train = load("hand36", "train", limit=N_TRAIN)
    return train.x.reshape(len(train), -1).numpy() / 255.0, train.y.numpy()


def _numpy_epoch(X: np.ndarray, y: np.ndarray, dtype) -> float:
    """Seconds for one epoch of `nnlab.scratch` in `dtype`."""
    net = mlp(SIZES, "sigmoid", rng=np.random.default_rng(0), dtype=dtype)
    opt = SGD(net.params, LR)

    def loss(logits, yb):
        return softmax_cross_entropy(logits, yb, "sum")

    X = X.astype(dtype)
    start = time.perf_counter()
    train_epoch(net, opt, loss, X, y, BATCH, np.random.default_rng(1))
    return time.perf_counter() - start


def _torch_epoch(X: np.ndarray, y: np.ndarray, dtype: torch.dtype) -> float:
    """Seconds for one epoch of the same network in torch, from the same initial weights."""
    net = mlp(SIZES, "sigmoid", rng=np.random.default_rng(0))
    model = torch.nn.Sequential(
        torch.nn.Linear(SIZES[0], SIZES[1]), torch.nn.Sigmoid(), torch.nn.Linear(*SIZES[1:])
    ).to(dtype)
    with torch.no_grad():
        for linear, dense in zip((model[0], model[2]), net.dense_layers, strict=True):
            linear.weight.copy_(torch.from_numpy(dense.params["W"].T))  # torch stores [out, in]
            linear.bias.zero_()
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X).to(dtype), torch.from_numpy(y)
    order = torch.from_numpy(np.random.default_rng(1).permutation(len(X)))
    start = time.perf_counter()
    for i in range(0, len(X), BATCH):
        idx = order[i : i + BATCH]
        loss = F.cross_entropy(model(Xt[idx]), yt[idx], reduction="sum")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=None, help="BLAS and torch threads")
    parser.add_argument("--repeat", type=int, default=3, help="epochs timed; the best counts")
    parser.add_argument("--synthetic", action="store_true", help="random pixels, no data files")
    args = parser.parse_args()
    X, y = _data(args.synthetic)
    if args.threads:
        torch.set_num_threads(args.threads)
    runs = {
        "nnlab.scratch float64": lambda: _numpy_epoch(X, y, np.float64),
        "nnlab.scratch float32": lambda: _numpy_epoch(X, y, np.float32),
        "torch float32": lambda: _torch_epoch(X, y, torch.float32),
        "torch float64": lambda: _torch_epoch(X, y, torch.float64),
    }
    with threadpool_limits(limits=args.threads, user_api="blas"):
        best = {name: min(fn() for _ in range(args.repeat)) for name, fn in runs.items()}
    reference = best["torch float32"]
    print(
        f"one epoch, {len(X):,} images, batch {BATCH}, {'-'.join(map(str, SIZES))} sigmoid; "
        f"threads: {args.threads or 'default'} (torch {torch.get_num_threads()})"
    )
    for name, seconds in best.items():
        print(f"  {name:24s} {seconds:7.3f} s  ({seconds / reference:4.2f}× torch float32)")


if __name__ == "__main__":
    main()
