"""What a linear probe costs: a frozen ResNet-18 with a new head, against one forward pass.

The transfer issue asks that a frozen backbone costs little more than one forward pass per image.
On N images at the quick scale's input size (64 px, 7 classes, batch 64, E epochs) this times:

1. one forward pass over every image (eval mode, no autograd): the floor;
2. `LinearProbe(cache=True)`, what `emotion-finetune` (a) does: the features once, then E epochs
   of the head alone on them;
3. `LinearProbe(cache=False)`: E epochs on the images, the frozen backbone run (in eval mode,
   without gradients) at every step; the way to go when the images are augmented;
4. fine-tuning every layer for E epochs, for scale.

The images are random (speed does not depend on what they show). Run by `make bench`:

    python benchmarks/bench_probe.py [--images 2000] [--epochs 4] [--size 64] [--threads 2]
"""

import argparse
import time

import torch

from nnlab.data import ImageSet
from nnlab.experiments.kit.transfer import image_transform
from nnlab.models import build
from nnlab.models.weights import IMAGENET_MEAN, IMAGENET_STD
from nnlab.train import fit
from nnlab.train.probe import LinearProbe, extract_features

ARCH, CLASSES, BATCH = "resnet18", 7, 64


def _faces(n: int) -> ImageSet:
    """n random 48×48 grey images (FER-2013's shape) with 7 balanced labels."""
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 1, 48, 48), dtype=torch.uint8, generator=g)
    return ImageSet(x, torch.arange(n) % CLASSES, tuple(map(str, range(CLASSES))), "noise")


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build(ARCH, num_classes=CLASSES)


def _timed(work) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _probe(images: ImageSet, transform, epochs: int, cache: bool) -> float:
    probe = LinearProbe(_model(), transform=transform, device=torch.device("cpu"), cache=cache)

    def work():
        head = probe.trainable
        params = [p for p in head.parameters() if p.requires_grad]
        fit(
            head,
            probe.inputs(images),
            epochs=epochs,
            batch_size=BATCH,
            optimizer=torch.optim.SGD(params, lr=1e-3, momentum=0.9),
            transform=probe.transform,
        )

    return _timed(work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    images = _faces(args.images)
    transform = image_transform(args.size, IMAGENET_MEAN, IMAGENET_STD)
    cpu = torch.device("cpu")
    model = _model()
    extract_features(model, images.subset(torch.arange(BATCH)), transform=transform, device=cpu)
    forward = _timed(lambda: extract_features(model, images, transform=transform, device=cpu))
    cached = _probe(images, transform, args.epochs, cache=True)
    uncached = _probe(images, transform, args.epochs, cache=False)
    model = _model()
    full = _timed(
        lambda: fit(
            model,
            images,
            epochs=args.epochs,
            batch_size=BATCH,
            optimizer=torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9),
            transform=transform,
        )
    )
    print(
        f"{ARCH}, {args.images:,} images at {args.size} px, {args.epochs} epochs, batch {BATCH}, "
        f"{args.threads} threads"
    )
    rows = [
        ("one forward pass (eval, no grad)", forward),
        ("linear probe, cached features", cached),
        ("linear probe, backbone run each step", uncached),
        ("fine-tuning every layer", full),
    ]
    for name, seconds in rows:
        per_image = 1e3 * seconds / args.images
        ratio = seconds / forward
        print(f"  {name:<38} {seconds:7.2f} s  {per_image:6.2f} ms/image  {ratio:5.2f}×")


if __name__ == "__main__":
    main()
