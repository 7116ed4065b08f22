"""Mini-batches as index slices of a whole split held in memory: no per-sample Python, no workers.

`batches(train, 256, shuffle=True, seed=0, transform=to_signed)` is re-iterable; each pass is one
epoch. Epoch e's order depends only on (seed, e), so a run resumed at epoch e (set `.epoch`) sees
the same batches as one that never stopped.
"""

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from nnlab.data.imageset import ImageSet
from nnlab.errors import ConfigError

#: a batch transform: images [B, C, H, W] -> tensor (see nnlab.data.transforms)
Transform = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Batches:
    """The re-iterable that `batches()` returns; its fields are `batches()`'s arguments.

    Attributes
    ----------
    epoch : int
        The epoch the next `iter()` uses (then adds one); set it to resume mid-run.
    part : (int, int)
        (rank, ranks): yield only this rank's contiguous part of each batch, so `ranks`
        processes together see exactly the batches of one; (0, 1) is the whole batch.
    """

    imageset: ImageSet
    batch_size: int
    shuffle: bool = False
    seed: int = 0
    drop_last: bool = False
    transform: Transform | None = None
    epoch: int = 0
    part: tuple[int, int] = (0, 1)

    def __post_init__(self):
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int):
            raise ConfigError(
                f"batch_size must be a positive integer, got {self.batch_size!r}; e.g. 64."
            )
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {self.batch_size}; e.g. 64.")
        if self.transform is not None and not callable(self.transform):
            raise ConfigError(
                f"transform must be a function of a batch tensor, got {self.transform!r}."
            )

    def __len__(self) -> int:
        """Number of batches in one epoch."""
        n, b = len(self.imageset.y), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def global_size(self, index: int) -> int:
        """Images in batch `index` of an epoch, over all the ranks' parts together."""
        return min(self.batch_size, len(self.imageset.y) - index * self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        epoch_batches = self.iterate(self.epoch)
        self.epoch += 1
        return epoch_batches

    def iterate(self, epoch: int, start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The batches of `epoch` from batch `start` on, leaving `.epoch` alone.

        A fit resumed in the middle of an epoch starts at its first untrained batch without
        making the ones before it. The order is fixed here, not at the first `next()`.
        """
        order = self.order(epoch) if self.shuffle else None
        return self._iterate(order, start)

    def order(self, epoch: int) -> torch.Tensor:
        """The shuffled order of `epoch`: int64 [N] on the set's device.

        Drawn on the CPU from a generator seeded by (seed, epoch), then moved: the same order on
        every device, and untouched by (and not touching) torch's global RNG.
        """
        gen = torch.Generator().manual_seed(_epoch_seed(self.seed, epoch))
        perm = torch.randperm(len(self.imageset.y), generator=gen)
        return perm.to(self.imageset.y.device)

    def _iterate(
        self, order: torch.Tensor | None, first: int
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        x, y, b = self.imageset.x, self.imageset.y, self.batch_size
        rank, ranks = self.part
        for start in range(first * b, len(self) * b, b):
            if ranks > 1:  # this rank's contiguous share of the batch
                begin, end = part_bounds(min(b, len(y) - start), rank, ranks)
                start, stop = start + begin, start + end
            else:
                stop = start + b
            if order is None:  # in order: slices are views, no copy
                xb, yb = x[start:stop], y[start:stop]
            else:
                index = order[start:stop]
                xb, yb = x[index], y[index]
            yield (xb if self.transform is None else self.transform(xb)), yb


def batches(
    imageset: ImageSet,
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    drop_last: bool = False,
    transform: Transform | None = None,
) -> Batches:
    """Iterate over a set in mini-batches of its in-memory tensors, one epoch per pass.

    Parameters
    ----------
    imageset : ImageSet
        Images x uint8 [N, C, H, W], labels y int64 [N], on any device.
    batch_size : int
        Images per batch (at least 1); the last batch is smaller unless `drop_last`.
    shuffle : bool
        A new random order each epoch, reproducible from (seed, epoch).
    seed : int
        Seed of the shuffle.
    drop_last : bool
        Leave out the last, incomplete batch (no batches at all when N < batch_size).
    transform : callable, optional
        Applied to each batch of images, e.g. `nnlab.data.transforms.to_signed`.

    Returns
    -------
    Batches
        Re-iterable with `len()` = batches per epoch; each pass yields `(x, y)` on the set's
        device: x [B, C, H, W] (uint8, or whatever `transform` returns), y int64 [B]. Without
        shuffle or transform, x and y are views into the set: do not write into them.
    """
    return Batches(imageset, batch_size, shuffle, seed, drop_last, transform)


def part_bounds(n: int, rank: int, ranks: int) -> tuple[int, int]:
    """[begin, end) of rank's contiguous part of n items split `ranks` ways (as
    `torch.tensor_split`: the first n % ranks parts one longer)."""
    base, extra = divmod(n, ranks)
    begin = rank * base + min(rank, extra)
    return begin, begin + base + (rank < extra)


def _epoch_seed(seed: int, epoch: int) -> int:
    """A 64-bit generator seed for (seed, epoch).

    Hashed rather than `seed + epoch`, which would make seed 1's first epoch replay seed 0's
    second and so correlate runs that are meant to be independent repeats.
    """
    digest = hashlib.blake2b(f"{seed}/{epoch}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")
