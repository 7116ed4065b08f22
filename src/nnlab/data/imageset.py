"""`ImageSet`: one split of a dataset held whole in memory as tensors."""

from dataclasses import dataclass, field, replace

import torch

from nnlab.errors import ConfigError, NnlabError


class LabelledTensors:
    """What a split held as tensors `x` [N, ...], `y` [N] with `classes` knows of itself.

    Shared by `ImageSet` and the feature sets built from one, so `fit` and `evaluate` take either.
    """

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def device(self) -> torch.device:
        return self.x.device

    def to(self, device: str | torch.device):
        """The same set on `device`; the tensors move once, and not at all if already there."""
        device = torch.device(device)
        if self.x.device == device and self.y.device == device:
            return self
        return replace(self, x=self.x.to(device), y=self.y.to(device))


@dataclass(frozen=True)
class ImageSet(LabelledTensors):
    """A split as tensors: images `x` uint8 [N, C, H, W], labels `y` int64 [N].

    Parameters
    ----------
    x : torch.Tensor
        uint8 images, shape (N, C, H, W), C = 1 (grey) or 3 (RGB).
    y : torch.Tensor
        int64 class indices into `classes`, shape (N,).
    classes : tuple of str
        Class names; `classes[y[i]]` is the name of image i.
    name : str
        Dataset name (e.g. "mnist"), used in reports.
    split : str
        Split name (e.g. "train").
    notes : tuple of str
        Facts a report should repeat (skipped unreadable files, substitutes, ...).
    """

    x: torch.Tensor
    y: torch.Tensor
    classes: tuple[str, ...]
    name: str
    split: str = ""
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self):
        x, y = self.x, self.y
        if x.dtype != torch.uint8 or x.ndim != 4:
            raise NnlabError(
                f"ImageSet {self.name!r}: x must be uint8 [N, C, H, W], "
                f"got {x.dtype} {tuple(x.shape)}"
            )
        if y.dtype != torch.int64 or y.shape != (x.shape[0],):
            raise NnlabError(
                f"ImageSet {self.name!r}: y must be int64 [{x.shape[0]}], "
                f"got {y.dtype} {tuple(y.shape)}"
            )
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= len(self.classes)):
            raise NnlabError(
                f"ImageSet {self.name!r}: labels must lie in [0, {len(self.classes)}), "
                f"got [{int(y.min())}, {int(y.max())}]"
            )
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "notes", tuple(self.notes))

    def __repr__(self) -> str:
        return (
            f"ImageSet({self.name!r}, split={self.split!r}, n={len(self)}, "
            f"shape={self.image_shape}, classes={len(self.classes)}, device={self.device})"
        )

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.x.shape[1:])

    def subset(self, index: torch.Tensor) -> "ImageSet":
        """The images at `index` (an int64 index tensor or a bool mask), in that order."""
        index = index.to(self.x.device)
        return replace(self, x=self.x[index], y=self.y[index])

    def class_counts(self) -> torch.Tensor:
        """Number of images per class, int64 [num_classes]."""
        return torch.bincount(self.y.cpu(), minlength=self.num_classes)

    def with_notes(self, *notes: str) -> "ImageSet":
        """A copy with more report notes appended."""
        return replace(self, notes=self.notes + tuple(notes))


def fixed_split(whole: ImageSet, part: str, parts: dict[str, float], *, seed: int) -> ImageSet:
    """One named part of the fixed, documented split of a set that has no official split.

    Parameters
    ----------
    whole : ImageSet
    part : str
        A key of `parts`, or "all" for `whole` itself.
    parts : dict of str to float
        Part names and their fractions, e.g. {"train": 0.8, "test": 0.2}.
    seed : int
        The dataset's own constant, not the load seed: every run sees the same split.
    """
    if part == "all":
        return whole
    pieces = split(whole, tuple(parts.values()), seed=seed, names=tuple(parts))
    return pieces[list(parts).index(part)]


def split(
    imageset: ImageSet,
    fractions: tuple[float, ...],
    *,
    seed: int = 0,
    stratify: bool = True,
    names: tuple[str, ...] | None = None,
) -> tuple[ImageSet, ...]:
    """Split a set at random into parts of the given fractions (e.g. (0.8, 0.2)).

    Stratified by default: each part keeps the class proportions of the whole. Deterministic for a
    given seed; every image lands in exactly one part, and each part keeps the original order.

    Parameters
    ----------
    imageset : ImageSet
    fractions : tuple of float
        Positive, summing to 1 (within 1e-6).
    seed : int
    stratify : bool
    names : tuple of str, optional
        Split names of the parts, e.g. ("train", "val"); default "<split>[i]".

    Returns
    -------
    tuple of ImageSet, one per fraction. A part that would hold no image is a `ConfigError`.
    """
    fractions = tuple(float(f) for f in fractions)
    names = names or tuple(f"{imageset.split}[{i}]" for i in range(len(fractions)))
    if len(names) != len(fractions):
        raise ConfigError(f"split got {len(fractions)} fractions but {len(names)} names {names}")
    if not fractions or min(fractions) <= 0 or abs(sum(fractions) - 1) > 1e-6:
        raise ConfigError(
            f"split fractions must be positive and sum to 1, got {fractions}; e.g. (0.8, 0.2)"
        )
    order = _interleaved_order(imageset.y.cpu(), imageset.num_classes, seed, stratify)
    bounds = [round(len(order) * sum(fractions[:i])) for i in range(len(fractions) + 1)]
    empty = [name for lo, hi, name in zip(bounds[:-1], bounds[1:], names, strict=True) if lo == hi]
    if empty:
        raise ConfigError(
            f"{imageset.name!r} ({imageset.split or 'whole set'}) has {len(imageset)} images; "
            f"split by fractions {fractions} into {', '.join(names)}, part(s) "
            f"{', '.join(empty)} would hold none. Add images, or use other fractions."
        )
    return tuple(
        replace(imageset.subset(torch.sort(order[lo:hi]).values), split=name)
        for lo, hi, name in zip(bounds[:-1], bounds[1:], names, strict=True)
    )


def _interleaved_order(
    y: torch.Tensor, num_classes: int, seed: int, stratify: bool
) -> torch.Tensor:
    """A random order of the indices of `y` in which the classes are evenly interleaved.

    Each image gets the key (rank within its class + 0.5) / class size, ranks in random order;
    sorting by key (ties at random) spreads every class evenly along the order, so any prefix
    holds each class in proportion, within one image. Cutting it gives exact part sizes and
    stratified parts even for classes of two or three images. Without `stratify` the key is
    random.
    """
    gen = torch.Generator().manual_seed(seed)
    noise = torch.rand(len(y), generator=gen, dtype=torch.float64)
    key = noise
    if stratify:
        counts = torch.bincount(y, minlength=num_classes)
        by_class = torch.argsort(y * 2 + noise)  # classes in turn, each in random order
        first = torch.cumsum(counts, 0) - counts  # position of each class's first image
        rank = torch.empty(len(y), dtype=torch.float64)
        rank[by_class] = (torch.arange(len(y)) - first[y[by_class]]).double()
        key = (rank + 0.5) / counts[y]
    shuffled = torch.argsort(noise)  # random tie-break, kept by the stable sort below
    return shuffled[torch.sort(key[shuffled], stable=True).indices]
