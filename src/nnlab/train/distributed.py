"""Several processes, one fit: the process group torchrun starts, and the few collectives `fit`
and `evaluate` need.

Under `torchrun --nproc_per_node N` every rank runs the same experiment code. `join()` joins
the process group torchrun's environment describes (NCCL on CUDA, one GPU per rank; gloo on
the CPU); `world()` says which rank this is. Outside torchrun (or with one process) `world()`
is rank 0 of 1 and every function here is a no-op, so single-process code pays nothing.
"""

import gc
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist

from nnlab.data.pipeline import part_bounds
from nnlab.errors import ConfigError


@dataclass(frozen=True)
class World:
    """This process's place: `rank` of `size` processes, `local_rank` on its machine."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes files, the index and the report."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def world() -> World:
    """The process group's shape now; rank 0 of 1 when none was joined."""
    if not (dist.is_available() and dist.is_initialized()):
        return World()
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))


def launched_by_torchrun() -> bool:
    """Whether torchrun (or another launcher) started this process as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def join(device: str | None = None) -> World:
    """Join the process group torchrun's environment describes, once; the world joined.

    `device` is the user's `--device`: NCCL when it is (or defaults to) CUDA, gloo on the CPU.
    Each CUDA rank takes the GPU of its LOCAL_RANK.
    """
    if not launched_by_torchrun() or dist.is_initialized():
        return world()
    use_cuda = torch.cuda.is_available() and (device is None or device.startswith("cuda"))
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", 0))
        if local >= torch.cuda.device_count():
            raise ConfigError(
                f"rank {os.environ.get('RANK')} wants GPU {local}, but this machine has "
                f"{torch.cuda.device_count()}: start at most one process per GPU "
                "(--nproc_per_node)."
            )
        torch.cuda.set_device(local)
    dist.init_process_group("nccl" if use_cuda else "gloo")
    return world()


def leave() -> None:
    """Leave the process group (at the end of `nnlab run` under torchrun).

    A DistributedDataParallel wrapper left in a reference cycle still holds the group; were it
    freed only at interpreter exit, gloo's threads could be destroyed unjoined and abort the
    process ("terminate called without an active exception", seen in 1 of 4-8 runs), so it is
    collected first.
    """
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.destroy_process_group()


def all_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum `tensor` over the ranks, in place; returned for chaining. No-op for one process."""
    if world().distributed:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return tensor


def share(value: Any) -> Any:
    """Rank 0's `value` on every rank (any picklable object)."""
    if not world().distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(tensor: torch.Tensor) -> torch.Tensor:
    """Every rank's `tensor` [n_r, ...] concatenated in rank order (the n_r may differ)."""
    w = world()
    if not w.distributed:
        return tensor
    sizes = [torch.zeros((), dtype=torch.int64, device=tensor.device) for _ in range(w.size)]
    dist.all_gather(sizes, torch.tensor(len(tensor), device=tensor.device))
    longest = int(max(s.item() for s in sizes))
    padded = torch.zeros((longest, *tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device)
    padded[: len(tensor)] = tensor
    parts = [torch.empty_like(padded) for _ in range(w.size)]
    dist.all_gather(parts, padded)
    return torch.cat([p[: int(s.item())] for p, s in zip(parts, sizes, strict=True)])


def shard(n: int) -> slice:
    """The contiguous part of `range(n)` this rank handles (`torch.tensor_split`'s split)."""
    w = world()
    return slice(*part_bounds(n, w.rank, w.size))
