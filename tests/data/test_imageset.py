"""ImageSet invariants, the seeded stratified `split`, `limit`, and the tensor cache."""

import pytest
import torch

from nnlab.data import ImageSet, load, split
from nnlab.data.cache import cached
from nnlab.errors import ConfigError, NnlabError


def _toy(n=100, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n, 1, 5, 5), generator=g, dtype=torch.uint8)
    y = torch.arange(n) % classes
    return ImageSet(x, y, tuple("abcd"[:classes]), "toy", "train")


def test_rejects_wrong_dtypes_and_labels():
    s = _toy()
    with pytest.raises(NnlabError, match="uint8"):
        ImageSet(s.x.float(), s.y, s.classes, "toy")
    with pytest.raises(NnlabError, match="int64"):
        ImageSet(s.x, s.y.int(), s.classes, "toy")
    with pytest.raises(NnlabError, match=r"labels must lie in \[0, 2\)"):
        ImageSet(s.x, s.y, ("a", "b"), "toy")


def test_split_is_stratified_partition_and_seeded():
    s = _toy(n=103)
    a, b = split(s, (0.8, 0.2), seed=3)
    assert len(a) + len(b) == len(s)
    # every image lands in exactly one part: compare the multisets of rows
    rows = sorted(map(bytes, s.x.flatten(1).numpy()))
    both = sorted(map(bytes, torch.cat([a.x, b.x]).flatten(1).numpy()))
    assert rows == both
    # stratified: each class keeps ~80 % in the first part (26 or 25 per class -> 20 or 21)
    assert all(c in (20, 21) for c in a.class_counts().tolist())
    assert (a.split, b.split) == ("train[0]", "train[1]")
    named = split(s, (0.8, 0.2), seed=3, names=("fit", "val"))
    assert [p.split for p in named] == ["fit", "val"] and torch.equal(named[0].x, a.x)
    a2, _ = split(s, (0.8, 0.2), seed=3)
    a3, _ = split(s, (0.8, 0.2), seed=4)
    assert torch.equal(a.x, a2.x) and not torch.equal(a.x, a3.x)


@pytest.mark.parametrize("fractions", [(0.5, 0.6), (1.2, -0.2), ()])
def test_split_rejects_bad_fractions(fractions):
    with pytest.raises(ConfigError, match="sum to 1"):
        split(_toy(), fractions)


def test_to_moves_once():
    s = _toy()
    assert s.to("cpu") is s


def test_limit_is_seeded_subset(require_data):
    require_data("mnist/t10k-images-idx3-ubyte.gz")
    full = load("mnist", "test")
    a = load("mnist", "test", limit=50, seed=1)
    b = load("mnist", "test", limit=50, seed=1)
    c = load("mnist", "test", limit=50, seed=2)
    assert len(a) == 50 and torch.equal(a.x, b.x) and not torch.equal(a.x, c.x)
    full_rows = set(map(bytes, full.x.flatten(1).numpy()))
    assert set(map(bytes, a.x.flatten(1).numpy())) <= full_rows
    with pytest.raises(ConfigError, match="limit"):
        load("mnist", "test", limit=0)


def _counting_build(calls):
    """A `build` for `cached` that records each call and makes a different set each time."""

    def build():
        calls.append(1)
        return _toy(seed=len(calls))

    return build


def test_cache_hits_and_invalidates(tmp_path):
    src = tmp_path / "source.bin"
    src.write_bytes(b"one")
    calls = []
    build = _counting_build(calls)

    first = cached("toy", [src], build)
    again = cached("toy", [src], build)
    assert len(calls) == 1 and torch.equal(first.x, again.x) and again.classes == first.classes
    src.write_bytes(b"changed!")  # a different size: the entry no longer matches
    cached("toy", [src], build)
    assert len(calls) == 2


def test_cache_off(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLAB_CACHE", "off")
    src = tmp_path / "s"
    src.write_bytes(b"x")
    calls = []
    for _ in range(2):
        cached("toy", [src], lambda: calls.append(1) or _toy())
    assert len(calls) == 2


@pytest.mark.parametrize("per_class", [2, 3, 5, 7])
def test_split_tiny_classes_still_reach_every_part(per_class):
    """Cumulative rounding per class would put all 2 or 3 images of a class in the first part."""
    s = _toy(n=4 * per_class)
    a, b = split(s, (0.8, 0.2), seed=0)
    assert len(a) == round(len(s) * 0.8) and len(a) + len(b) == len(s)
    # every class within one image of its share in each part
    for part, frac in ((a, 0.8), (b, 0.2)):
        assert all(abs(c - frac * per_class) <= 1 for c in part.class_counts().tolist())


def test_split_unstratified_sizes():
    a, b, c = split(_toy(n=100), (0.5, 0.3, 0.2), seed=1, stratify=False)
    assert (len(a), len(b), len(c)) == (50, 30, 20)


def test_cache_key_holds_the_settings(tmp_path):
    """A loader constant that changes (an image size, a seed) must not serve the old set."""
    src = tmp_path / "source.bin"
    src.write_bytes(b"one")
    calls = []
    build = _counting_build(calls)

    settings = {"size": 32, "per_class": {"train": 10, "test": 2}}
    cached("toy", [src], build, settings)
    cached("toy", [src], build, dict(reversed(settings.items())))  # key order does not matter
    assert len(calls) == 1
    cached("toy", [src], build, {**settings, "size": 31})
    cached("toy", [src], build, {**settings, "per_class": {"train": 10, "test": 3}})
    cached("toy", [src], build)
    assert len(calls) == 4


@pytest.mark.parametrize("n", [1, 2])
def test_split_refuses_an_empty_part(n):
    """2 images split 80/20 would give a test part of none: an error naming set, size, fractions."""
    s = _toy(n=n, classes=1)
    with pytest.raises(ConfigError, match=rf"'toy' \(train\) has {n} images.*0.8, 0.2.*test"):
        split(s, (0.8, 0.2), names=("train", "test"))
    assert [len(p) for p in split(_toy(n=5, classes=1), (0.8, 0.2))] == [4, 1]


def test_load_rejects_bad_name_and_seed():
    for name in (None, 3, ""):
        with pytest.raises(ConfigError, match="dataset name must be a non-empty string"):
            load(name)
    for seed in ("x", 1.5, None, True):
        with pytest.raises(ConfigError, match="seed must be an integer"):
            load("digits", seed=seed)
