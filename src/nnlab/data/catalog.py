"""The dataset registry: what each dataset is, where its files live, and `load()`.

Loader modules register a `DatasetInfo` each; `load(name, split)` finds it, checks the split,
calls its loader, and applies `limit`.
"""

import numbers
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from nnlab.data.imageset import ImageSet
from nnlab.errors import ConfigError, MissingDataError, UnknownNameError
from nnlab.registry import Registry

#: loader(root, split, seed, limit) -> ImageSet. File loaders may ignore `limit` (load() applies
#: it); embedded generators use it as the number of images to make.
Loader = Callable[[Path, str, int, "int | None"], ImageSet]

DEFAULT_ROOT = Path("~/.cache/nnlab/data")
#: loaders of "SCHEME:ARGUMENT" names, e.g. "folder:PATH": scheme -> fn(argument, split or None)
SCHEMES: dict[str, Callable[[str, "str | None"], ImageSet]] = {}


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is and how to load it.

    Parameters
    ----------
    name : str
        Registry name, e.g. "mnist".
    description : str
        One line for `nnlab data list`.
    classes : tuple of str
        Class names in label order.
    image_shape : tuple of int
        (C, H, W) of every image.
    splits : tuple of str
        Valid split names; the first is the default training split.
    loader : Loader
        Makes the `ImageSet` of one split.
    folder : str or None
        Folder under the data root; None for embedded sets (made by the package itself).
    patterns : tuple of str
        Globs relative to the data root; the dataset is present when any matches (unless it
        has `split_patterns`).
    source : str
        Publisher / where to get the files, for messages.
    derived_from : tuple of str
        For a set made from other registered sets: their names. It is present when they all are.
    split_patterns : mapping of split name to tuple of str
        For a set with one file (or file group) per split: globs relative to the data root per
        split; a split is present when any of its globs matches, and the dataset when any split
        is. Without it, every split is present or none is.
    """

    name: str
    description: str
    classes: tuple[str, ...]
    image_shape: tuple[int, int, int]
    splits: tuple[str, ...]
    loader: Loader
    folder: str | None = None
    patterns: tuple[str, ...] = ()
    source: str = ""
    derived_from: tuple[str, ...] = ()
    split_patterns: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    @property
    def embedded(self) -> bool:
        """True for sets the package makes itself (no files, no folder)."""
        return self.folder is None and not self.derived_from

    @property
    def where(self) -> str:
        """Where under the data root its files live, for listings."""
        if self.derived_from:
            return " + ".join(f"{info(n).folder}/" for n in self.derived_from)
        return "built in" if self.folder is None else f"{self.folder}/"

    def present(self, root: Path | None = None) -> bool:
        """True for embedded sets, and for file sets with a matching file under the root."""
        if self.embedded:
            return True
        if self.derived_from:
            return all(info(n).present(root) for n in self.derived_from)
        if self.split_patterns:
            return bool(self.present_splits(root))
        return _any_match(data_root(root), self.patterns)

    def present_splits(self, root: Path | None = None) -> tuple[str, ...]:
        """The splits whose files are under the root, in `splits` order.

        Uses `split_patterns` where the dataset has them; otherwise all splits when `present`,
        else none.
        """
        if not self.split_patterns:
            return self.splits if self.present(root) else ()
        root = data_root(root)
        return tuple(s for s in self.splits if _any_match(root, self.split_patterns.get(s, ())))


def _any_match(root: Path, patterns: tuple[str, ...]) -> bool:
    """True when any of the globs (relative to `root`) matches a path."""
    return any(next(root.glob(p), None) is not None for p in patterns)


DATASETS: Registry[DatasetInfo] = Registry("dataset", "nnlab data list")


def register(info: DatasetInfo) -> DatasetInfo:
    """Add a dataset to the registry (a name registered twice is an error)."""
    return DATASETS.add(info.name, info)


def names() -> list[str]:
    """Names of all registered datasets."""
    return DATASETS.names()


def info(name: str) -> DatasetInfo:
    """The `DatasetInfo` for `name` (an `UnknownNameError` suggests close names)."""
    return DATASETS.get(name)


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: `root` if given, else `$NNLAB_DATA`, else ~/.cache/nnlab/data."""
    if root is None:
        root = os.environ.get("NNLAB_DATA") or DEFAULT_ROOT
    return Path(root).expanduser()


def load(
    name: str,
    split: str | None = None,
    *,
    root: str | os.PathLike | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> ImageSet:
    """Load one split of a dataset as an `ImageSet` (uint8 [N, C, H, W], int64 labels).

    Parameters
    ----------
    name : str
        A registered name (`nnlab data list`) or "folder:PATH" for an image-folder tree.
    split : str, optional
        One of the dataset's splits; default its first (training) split.
    root : path, optional
        Data root; default `$NNLAB_DATA` or ~/.cache/nnlab/data.
    limit : int, optional
        Keep at most this many images: a seeded random subset in original order (embedded sets
        make exactly this many).
    seed : int
        Seed for `limit`'s subset and for embedded sets' generation.
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(
            f"dataset name must be a non-empty string such as 'mnist' or 'folder:PATH', got "
            f"{name!r}; `nnlab data list` lists the names."
        )
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"limit must be a positive integer or None, got {limit!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ConfigError(f"seed must be an integer, got {seed!r} ({type(seed).__name__})")
    seed = int(seed)
    scheme, colon, argument = name.partition(":")
    if colon and scheme in SCHEMES:
        imageset = SCHEMES[scheme](argument, split)
    else:
        spec = info(name)
        split = split or spec.splits[0]
        if split not in spec.splits:
            raise UnknownNameError(
                f"Dataset {name!r} has no split {split!r}; its splits are {', '.join(spec.splits)}."
            )
        imageset = spec.loader(data_root(root), split, seed, limit)
    if limit is not None and len(imageset) > limit:
        gen = torch.Generator().manual_seed(seed)
        keep = torch.sort(torch.randperm(len(imageset), generator=gen)[:limit]).values
        imageset = imageset.subset(keep)
    return imageset


def missing(spec: DatasetInfo, root: Path, wanted: str) -> MissingDataError:
    """The error for a dataset whose files are not under the root: names them and the fix."""
    return MissingDataError(
        f"{spec.name}: {wanted} not found under {root / (spec.folder or '')}. "
        f"`nnlab data fetch {spec.name}` downloads it where the publisher allows; otherwise get "
        f"it from {spec.source}. Or point NNLAB_DATA at a folder that holds {spec.folder}/."
    )
