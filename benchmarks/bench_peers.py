"""How fast `nnlab.train.fit` trains, against its peers and against this machine's own limit.

One run, one process, the same model, initial weights, data and batch order for every contender:

1. the tutorial loop: a `Dataset` that makes a PIL image of each uint8 array and converts it with
   a hand-written ToTensor + Normalize((0.5,), (0.5,)) (torchvision does not import here), a
   `DataLoader(batch_size, num_workers=0)`, Adam's default implementation and the tutorials'
   `running_loss += loss.item()`;
2. Lightning's `Trainer` on a `TensorDataset` of the normalised images (logging on: `self.log`
   to a CSVLogger), when `lightning` is importable (`make bench-peers` installs it into the
   benchmark's own environment, `.bench-venv`, never as nnlab's dependency);
3. a bare loop on the tensor-resident set (index slices, zero_grad/forward/loss/backward/step)
   with Adam's default implementation, and 4. with the fused one;
5. `nnlab.train.fit` with the fused Adam nnlab builds, in fp32 and with precision "auto".

Then this machine's measured fp32 and bf16 matmul GFLOP/s, the model's FLOPs per trained image
(forward + backward, counted by torch's FlopCounterMode) and the resulting arithmetic limit in
images per second. Models: the MNIST MLP 784-256-256-128-128-10 (batch 100, one epoch of the
60,000 training images) and CNN-1 [32, 64, 128] of `cnn-architectures` (batch 64, on the first
`--cnn-images` training images). Run by hand or by `make bench-peers`, never by the tests:

    NNLAB_DATA=/path/to/data python benchmarks/bench_peers.py [--threads 2] [--cnn-images 6400]
"""

import argparse
import contextlib
import logging
import tempfile
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset
from torch.utils.flop_counter import FlopCounterMode

from nnlab.data import ImageSet, batches, load
from nnlab.data.transforms import to_signed
from nnlab.models.cnn import CNN
from nnlab.train import fit, make_optimizer, native_bf16
from nnlab.train.device import Acceleration, Speed, cpu_flags


def _mlp() -> nn.Module:
    widths = [784, 256, 256, 128, 128, 10]
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (a, b) in enumerate(zip(widths, widths[1:], strict=False)):
        layers += [nn.Linear(a, b)] + [nn.ReLU()] * (i < len(widths) - 2)
    return nn.Sequential(*layers)


def _cnn1() -> nn.Module:
    return CNN([32, 64, 128], in_chans=1, num_classes=10, image_size=28)


class _PilImages(Dataset):
    """The tutorial dataset: one PIL image at a time, ToTensor + Normalize by hand."""

    def __init__(self, x: np.ndarray, y: np.ndarray):
        self.x, self.y = x, y  # uint8 [N, 28, 28], int64 [N]

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        image = Image.fromarray(self.x[i])
        t = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255).unsqueeze(0)
        return (t - 0.5) / 0.5, int(self.y[i])


def _timed(run: Callable[[], None]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def tutorial(model: nn.Module, train: ImageSet, order: list[int], batch: int) -> float:
    dataset = _PilImages(train.x[:, 0].numpy(), train.y.numpy())
    loader = DataLoader(dataset, batch_size=batch, sampler=order, num_workers=0)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def epoch():
        running_loss = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()

    return _timed(epoch)


def lightning_trainer(model: nn.Module, train: ImageSet, order: list[int], batch: int):
    """Seconds of `Trainer.fit` for one epoch, or None when lightning is not installed."""
    try:
        import lightning as L
        from lightning.pytorch.loggers import CSVLogger
    except ImportError:
        return None

    class Module(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = model

        def training_step(self, batch_, _index):
            xb, yb = batch_
            loss = F.cross_entropy(self.model(xb), yb)
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.Adam(self.parameters(), lr=1e-3)

    data = TensorDataset(to_signed(train.x), train.y)
    loader = DataLoader(data, batch_size=batch, sampler=order, num_workers=0)
    with tempfile.TemporaryDirectory() as logs:
        trainer = L.Trainer(
            max_epochs=1,
            accelerator="cpu",
            devices=1,
            logger=CSVLogger(logs),
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
        return _timed(lambda: trainer.fit(Module(), loader))


def bare(
    model: nn.Module, train: ImageSet, order: torch.Tensor, batch: int, fused: bool, plan=None
) -> float:
    """The bare step on in-memory tensors; `plan` (an Acceleration) for bf16/channels_last."""
    plan = plan or Acceleration()
    forward = plan.prepare_model(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused)
    x, y = train.x, train.y

    def epoch():
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            optimizer.zero_grad(set_to_none=True)
            with plan.autocast_context():
                loss = F.cross_entropy(forward(plan.prepare_input(to_signed(x[idx]))), y[idx])
            loss.backward()
            optimizer.step()

    return _timed(epoch)


def nnlab_fit(model: nn.Module, train: ImageSet, batch: int, precision: str) -> float:
    """`fit` for one epoch (seed 0: the order the others are given), with nnlab's fused Adam."""
    optimizer = make_optimizer(torch.optim.Adam, model.parameters(), lr=1e-3)
    return _timed(
        lambda: fit(
            model,
            train,
            epochs=1,
            optimizer=optimizer,
            batch_size=batch,
            transform=to_signed,
            device="cpu",
            seed=0,
            precision=precision,
        )
    )


def matmul_gflops(dtype: torch.dtype, n: int = 1024, seconds: float = 0.5) -> float:
    """Sustained n x n matmul GFLOP/s in `dtype` on this machine's CPU threads."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b  # warm
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        a @ b
        count += 1
    return 2 * n**3 * count / elapsed / 1e9


def flops_per_image(make: Callable[[], nn.Module], batch: int) -> float:
    """Forward + backward FLOPs of one trained image, as FlopCounterMode counts them."""
    model = make()
    x, y = torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(model(x), y).backward()
    return counter.get_total_flops() / batch


def compare(name: str, make: Callable[[], nn.Module], train: ImageSet, batch: int, gflops: dict):
    torch.manual_seed(0)
    init = make().state_dict()

    def fresh() -> nn.Module:
        model = make()
        model.load_state_dict(init)
        return model

    order = batches(train, batch, shuffle=True, seed=0).order(0)  # fit's own first epoch
    order_list = order.tolist()
    bare(fresh(), train, order[: batch * 5], batch, fused=True)  # warm torch's kernels, untimed
    native = native_bf16(torch.device("cpu"))
    auto = Acceleration.plan(torch.device("cpu"), make(), 1, Speed("auto"))
    bf16 = Acceleration.plan(torch.device("cpu"), make(), 1, Speed("bf16"))
    seconds = {
        "tutorial loop (PIL Dataset + DataLoader)": tutorial(fresh(), train, order_list, batch),
        "Lightning Trainer (TensorDataset)": lightning_trainer(fresh(), train, order_list, batch),
        "bare loop, default Adam": bare(fresh(), train, order, batch, fused=False),
        "bare loop, fused Adam": bare(fresh(), train, order, batch, fused=True),
        "nnlab fit, fp32": nnlab_fit(fresh(), train, batch, "fp32"),
        f"nnlab fit, auto ({auto.describe()})": nnlab_fit(fresh(), train, batch, "auto"),
        f"bare loop, fused Adam, {bf16.describe()}" + ("" if native else " (emulated here)"): bare(
            fresh(), train, order, batch, fused=True, plan=bf16
        ),
    }
    per_image = flops_per_image(make, batch)
    limit = {k: g * 1e9 / per_image for k, g in gflops.items()}
    n = len(order)
    rate = {k: n / s for k, s in seconds.items() if s is not None}
    tut = rate["tutorial loop (PIL Dataset + DataLoader)"]
    light = rate.get("Lightning Trainer (TensorDataset)")
    print(f"\n{name}: {n:,} images, batch {batch}, {per_image / 1e6:.2f} MFLOP per trained image")
    print(f"{'contender':<60} {'img/s':>8} {'vs tut':>7} {'vs L':>6} {'of fp32 limit':>14}")
    for key, secs in seconds.items():
        if secs is None:
            print(f"{key:<60} {'(lightning not installed)':>8}")
            continue
        r = rate[key]
        vs_l = f"{r / light:.2f}x" if light else "-"
        print(f"{key:<60} {r:>8,.0f} {r / tut:>6.2f}x {vs_l:>6} {r / limit['fp32']:>13.0%}")
    fused, fp32_fit = rate["bare loop, fused Adam"], rate["nnlab fit, fp32"]
    print(f"fit fp32 / bare fused step: {fp32_fit / fused:.0%}")
    for key, value in limit.items():
        print(f"arithmetic limit in {key}: {value:,.0f} img/s ({gflops[key]:,.0f} GFLOP/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--cnn-images", type=int, default=6400)
    parser.add_argument("--only", choices=("mlp", "cnn"), help="one model only")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    flags = sorted(f for f in cpu_flags() if "avx512" in f or "amx" in f or f == "avx2")
    print(f"threads {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"CPU flags: {' '.join(flags)}")
    print(f"native bf16: {native_bf16(torch.device('cpu'))}")
    gflops = {"fp32": matmul_gflops(torch.float32), "bf16": matmul_gflops(torch.bfloat16)}
    train = load("mnist", "train")
    with contextlib.suppress(KeyboardInterrupt):
        if args.only in (None, "mlp"):
            compare("MNIST MLP 784-256-256-128-128-10", _mlp, train, 100, gflops)
        if args.only in (None, "cnn"):
            cnn_train = train.subset(torch.arange(args.cnn_images))
            compare("CNN-1 [32, 64, 128]", _cnn1, cnn_train, 64, gflops)


if __name__ == "__main__":
    main()
