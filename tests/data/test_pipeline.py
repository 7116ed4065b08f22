"""`batches`: every image once per epoch, reproducible shuffles, images and labels kept paired."""

import pytest
import torch

from nnlab.data import ImageSet
from nnlab.data.pipeline import batches
from nnlab.data.transforms import to_signed
from nnlab.errors import ConfigError

N = 103


def _indexed_set(n=N, device="cpu"):
    """A set whose label is the image's index, and whose pixels encode it too.

    So a batch's y names the images it should hold, and x must match them.
    """
    idx = torch.arange(n)
    x = torch.stack([idx % 256, idx // 256], dim=1).to(torch.uint8).view(n, 1, 1, 2)
    return ImageSet(x.to(device), idx.to(device), tuple(map(str, range(n))), "indexed")


def _epoch(b):
    """Concatenated labels (= indices) of one pass, checking each x against its y."""
    ys = []
    for xb, yb in b:
        assert xb.dtype == torch.uint8
        assert torch.equal(xb, b.imageset.x[yb])
        ys.append(yb)
    return torch.cat(ys) if ys else torch.empty(0, dtype=torch.int64)


@pytest.mark.parametrize("shuffle", [False, True])
def test_every_index_exactly_once_per_epoch(shuffle):
    b = batches(_indexed_set(), 10, shuffle=shuffle)
    assert len(b) == 11
    for _ in range(2):
        seen = _epoch(b)
        assert torch.equal(torch.sort(seen).values, torch.arange(N))
    sizes = [len(yb) for _, yb in b]
    assert sizes == [10] * 10 + [3]
    if not shuffle:
        assert torch.equal(_epoch(b), torch.arange(N))


def test_drop_last_leaves_out_the_incomplete_batch():
    b = batches(_indexed_set(), 10, shuffle=True, drop_last=True)
    assert len(b) == 10
    seen = _epoch(b)
    assert len(seen) == 100 and len(torch.unique(seen)) == 100
    assert len(batches(_indexed_set(), 200, drop_last=True)) == 0
    assert [len(y) for _, y in batches(_indexed_set(), 200)] == [N]


def test_shuffle_is_reproducible_per_seed_and_epoch():
    torch.manual_seed(0)
    a = batches(_indexed_set(), 16, shuffle=True, seed=5)
    first, second = _epoch(a), _epoch(a)
    assert not torch.equal(first, second)  # a new order each epoch
    assert not torch.equal(first, torch.arange(N))
    torch.manual_seed(1)  # the global RNG plays no part
    b = batches(_indexed_set(), 16, shuffle=True, seed=5)
    assert torch.equal(_epoch(b), first)
    resumed = batches(_indexed_set(), 16, shuffle=True, seed=5)
    resumed.epoch = 1
    assert torch.equal(_epoch(resumed), second)
    other = batches(_indexed_set(), 16, shuffle=True, seed=6)
    assert not torch.equal(_epoch(other), first)
    # seed 6's first epoch is not seed 5's second (no seed + epoch aliasing)
    assert not torch.equal(other.order(0), a.order(1))


def test_iterate_from_a_batch_gives_the_rest_of_that_epoch():
    b = batches(_indexed_set(), 10, shuffle=True, seed=3)
    whole = [yb for _, yb in b.iterate(2)]
    tail = [yb for _, yb in b.iterate(2, start=4)]
    assert len(tail) == 7 and all(torch.equal(p, q) for p, q in zip(whole[4:], tail, strict=True))
    assert b.epoch == 0  # iterate() leaves the epoch counter alone
    assert list(b.iterate(2, start=11)) == []


def test_transform_is_applied_to_each_batch():
    s = _indexed_set()
    for xb, yb in batches(s, 32, shuffle=True, transform=to_signed):
        assert xb.dtype == torch.float32
        assert torch.equal(xb, s.x[yb].float() / 127.5 - 1)


@pytest.mark.parametrize("size", [0, -3, 2.5, True, "8"])
def test_bad_batch_size_is_a_config_error(size):
    with pytest.raises(ConfigError, match="batch_size"):
        batches(_indexed_set(), size)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_batches_stay_on_device_in_the_cpu_order():
    cpu = batches(_indexed_set(), 16, shuffle=True, seed=2)
    gpu = batches(_indexed_set(device="cuda"), 16, shuffle=True, seed=2)
    for (xc, yc), (xg, yg) in zip(cpu, gpu, strict=True):
        assert xg.is_cuda and yg.is_cuda
        assert torch.equal(xg.cpu(), xc) and torch.equal(yg.cpu(), yc)
