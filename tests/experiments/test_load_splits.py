"""`Context.load_splits`: the NIST36 → hand36 swap, the stated fallback below full scale, and a
validation split held out of `train` where a set has none."""

import pytest
import torch

from nnlab.data import ImageSet
from nnlab.errors import MissingDataError, UnknownNameError
from nnlab.experiments import context as context_module
from nnlab.experiments.context import Context


class _Run:
    """The slice of a `Run` that loading writes to: notices and notes."""

    def __init__(self):
        self.notices, self.notes = [], []

    def notice(self, text):  # as `Run.notice`: each text once
        if text not in self.notices:
            self.notices.append(text)

    def note(self, text):
        self.notes.append(text)


def _ctx(scale: str = "smoke") -> Context:
    return Context(_Run(), device=torch.device("cpu"), seed=0, scale=scale)


def _images(name: str, split: str, n: int = 20) -> ImageSet:
    x = torch.zeros(n, 1, 4, 4, dtype=torch.uint8)
    return ImageSet(x, torch.arange(n) % 2, ("a", "b"), name, split)


def _fake_load(monkeypatch, present: dict[str, tuple[str, ...]]) -> list:
    """`data.load` that knows `present` (dataset -> its splits); returns the calls it got."""
    calls = []

    def load(name, split, *, limit=None, seed=0):
        calls.append((name, split, limit))
        if name not in present:
            raise MissingDataError(f"{name} is not here")
        if split not in present[name]:
            raise UnknownNameError(f"{name} has no split {split!r}")
        return _images(name, split)

    monkeypatch.setattr(context_module.data, "load", load)
    return calls


def test_missing_nist36_is_replaced_by_hand36_once_with_a_notice(monkeypatch):
    calls = _fake_load(monkeypatch, {"hand36": ("train", "valid", "test")})
    ctx = _ctx(scale="full")  # at every scale: hand36 is the same handwriting
    sets = ctx.load_splits("nist36", {"train": 10, "valid": 4, "test": 5}, fallback="glyphs36")
    assert list(sets) == ["train", "valid", "test"]  # in the order asked for
    assert {images.name for images in sets.values()} == {"hand36"}
    assert calls[0][0] == "nist36"
    assert sorted(calls[1:]) == [("hand36", "test", 5), ("hand36", "train", 10),
                                 ("hand36", "valid", 4)]  # fmt: skip
    assert len(ctx.run.notices) == 1 and "uses hand36 instead" in ctx.run.notices[0]


def test_other_sets_load_as_asked_without_a_notice(monkeypatch):
    calls = _fake_load(monkeypatch, {"glyphs36": ("train", "test")})
    ctx = _ctx()
    sets = ctx.load_splits("glyphs36", {"train": None, "test": 3}, fallback="glyphs36")
    assert calls == [("glyphs36", "train", None), ("glyphs36", "test", 3)]
    assert list(sets) == ["train", "test"] and not ctx.run.notices


def test_below_full_scale_a_missing_set_falls_back_with_a_notice(monkeypatch):
    _fake_load(monkeypatch, {"glyphs": ("train", "test")})
    ctx = _ctx(scale="smoke")
    sets = ctx.load_splits("cifar10", {"train": 8, "test": 4}, fallback="glyphs")
    assert {images.name for images in sets.values()} == {"glyphs"}
    assert len(ctx.run.notices) == 1 and "embedded `glyphs` set instead" in ctx.run.notices[0]
    with pytest.raises(MissingDataError):
        _ctx(scale="full").load_splits("cifar10", {"train": 8}, fallback="glyphs")


def test_a_set_without_a_valid_split_has_one_held_out_of_train(monkeypatch):
    _fake_load(monkeypatch, {"glyphs36": ("train", "test")})
    ctx = _ctx()
    sets = ctx.load_splits("glyphs36", {"train": None, "valid": None, "test": None})
    assert list(sets) == ["train", "valid", "test"]
    assert (len(sets["train"]), len(sets["valid"]), len(sets["test"])) == (16, 4, 20)
    assert any("no validation split" in note and "held out" in note for note in ctx.run.notes)
