"""One registry pattern for datasets, models and experiments: a name -> factory map.

A duplicate name is an error, and an unknown name suggests close matches.
"""

import difflib
import fnmatch
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from nnlab.errors import NnlabError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Names mapped to entries of one kind.

    Parameters
    ----------
    kind : str
        What the entries are, for messages ("dataset", "experiment").
    list_command : str
        The CLI command that lists them, suggested when a name is unknown.
    """

    def __init__(self, kind: str, list_command: str):
        self.kind = kind
        self.list_command = list_command
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Register `entry` under `name`; registering a name twice is an error."""
        if name in self._entries:
            raise NnlabError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator form of `add`; the name defaults to the function's `__name__`."""

        def deco(entry: T) -> T:
            return self.add(name or entry.__name__, entry)

        return deco

    def get(self, name: str) -> T:
        """The entry for `name`, or an `UnknownNameError` that suggests close matches."""
        if name not in self._entries:
            near = difflib.get_close_matches(name, list(self._entries), n=3)
            hint = f" Did you mean: {', '.join(near)}?" if near else ""
            raise UnknownNameError(
                f"Unknown {self.kind} {name!r}.{hint} Known: {', '.join(sorted(self._entries))}; "
                f"`{self.list_command}` describes them."
            )
        return self._entries[name]

    def names(self, pattern: str = "*") -> list[str]:
        """Registered names matching the `fnmatch` pattern, in registration order."""
        return [n for n in self._entries if fnmatch.fnmatchcase(n, pattern)]

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)
