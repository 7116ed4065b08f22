"""`ctx`, what an experiment's `run(cfg, ctx)` works through.

It holds the run's device and seed, hands out independent seeded random streams, trains models
through the one loop (with a progress display and a checkpoint per model, so an interrupted run
resumes where it stopped), loads datasets with stated fallbacks, and records tables, figures,
metrics and notes into the run folder.
"""

import hashlib
from collections.abc import Sequence
from typing import Any

import torch

from nnlab import data
from nnlab.data import ImageSet, split
from nnlab.errors import MissingDataError, UnknownNameError
from nnlab.runs import Run
from nnlab.train import DEFAULT_SPEED, Checkpoint, History, ProgressBar, Speed, fit


class Context:
    """The run's device, randomness, training and result recording.

    Parameters
    ----------
    run : Run
        The run folder results go to.
    device : torch.device
        Where models train.
    seed : int
        The run's seed (the config's `seed`).
    scale : str
        "smoke", "quick" or "full": fallbacks to substitutes are allowed below full.
    console : rich.console.Console, optional
        Where progress and notices are printed (default: stderr).
    speed : Speed
        The precision policy and torch.compile setting every `fit` of the run gets.
    """

    def __init__(
        self,
        run: Run,
        *,
        device: torch.device,
        seed: int,
        scale: str,
        console: Any = None,
        speed: Speed = DEFAULT_SPEED,
    ):
        self.run = run
        self.device = device
        self.speed = speed
        #: model name -> the precision its fit ran in, as run.json and the report state it
        self.precisions: dict[str, str] = {}
        self.seed = seed
        self.scale = scale
        self.console = console
        #: (title, rows) of every table, for the terminal summary at the end
        self.tables: list[tuple[str, list[dict]]] = []

    # ---- randomness

    def derived_seed(self, purpose: str) -> int:
        """A 63-bit seed for one purpose ("init/cnn", "permutation"), fixed by the run's seed.

        Separate purposes get unrelated streams, so adding a random draw in one place does not
        change the numbers of another.
        """
        digest = hashlib.blake2b(f"{self.seed}/{purpose}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") >> 1

    def generator(self, purpose: str) -> torch.Generator:
        """A CPU generator seeded for `purpose`."""
        return torch.Generator().manual_seed(self.derived_seed(purpose))

    def seed_torch(self, purpose: str) -> None:
        """Seed torch's global RNG for `purpose`, e.g. just before building a model."""
        torch.manual_seed(self.derived_seed(purpose))

    # ---- data and training

    def load(
        self,
        dataset: str,
        split: str | None = None,
        *,
        limit: int | None = None,
        fallback: str | None = None,
    ) -> ImageSet:
        """Load a dataset split; below full scale a missing one is replaced by `fallback`.

        The substitution is printed and written at the top of the report, never silent. A
        "folder:PATH" is the user's own data, never replaced: a wrong path is an error.
        """
        try:
            return data.load(dataset, split, limit=limit, seed=self.seed)
        except MissingDataError as exc:
            if fallback is None or self.scale == "full" or dataset.startswith("folder:"):
                raise
            self.notice(
                f"{dataset} is not in the data folder, so this {self.scale}-scale run uses the "
                f"embedded `{fallback}` set instead: its numbers are not {dataset}'s. ({exc})"
            )
            return data.load(fallback, split, limit=limit, seed=self.seed)

    def load_validation(
        self,
        dataset: str,
        train: ImageSet,
        *,
        limit: int | None = None,
        fallback: str | None = None,
        fraction: float = 0.2,
    ) -> tuple[ImageSet, ImageSet]:
        """(train, valid): `dataset`'s own validation split, or a stratified `fraction` of `train`.

        A set without a `valid` split (a user's folder, an embedded substitute) has its
        validation images held out of `train`, and the report says so.
        """
        try:
            return train, self.load(dataset, "valid", limit=limit, fallback=fallback)
        except UnknownNameError:
            kept, valid = split(
                train, (1 - fraction, fraction), seed=self.seed, names=("train", "valid")
            )
            self.note(
                f"{train.name} has no validation split, so {len(valid):,} of its {len(train):,} "
                f"training images ({fraction:.0%}, stratified by class) are held out to validate."
            )
            return kept, valid

    def fit(
        self, name: str, model: torch.nn.Module, train: ImageSet, val=None, **kwargs
    ) -> History:
        """`nnlab.train.fit` on the run's device, with a progress display and a checkpoint.

        Parameters
        ----------
        name : str
            Names the model in progress lines and its checkpoint file (`checkpoints/NAME.pt`);
            a resumed run continues each model from its checkpoint.
        model, train, val, **kwargs
            As for `nnlab.train.fit`; `callbacks` are added to the run's own two.
        """
        callbacks: Sequence = kwargs.pop("callbacks", ())
        own = [ProgressBar(label=name, console=self.console)]
        own.append(Checkpoint(self.run.checkpoint_path(name)))
        kwargs.setdefault("seed", self.derived_seed(f"shuffle/{name}"))
        kwargs.setdefault("precision", self.speed.precision)
        kwargs.setdefault("compile", self.speed.compile)
        history = fit(model, train, val, device=self.device, callbacks=[*callbacks, *own], **kwargs)
        self.precisions[name] = history.precision
        self.run.fact("precision", {"policy": kwargs["precision"], "fits": self.precisions})
        return history

    # ---- results

    def table(self, name: str, rows: list[dict], *, title: str | None = None) -> None:
        """A result table: `tables/NAME.csv`, in the report, and printed at the end of the run."""
        self.run.table(name, rows, title=title)
        self.tables.append((title or name, rows))

    def figure(self, name: str, fig, *, caption: str | None = None) -> None:
        """A matplotlib figure: `figures/NAME.png`, inline in the report."""
        self.run.figure(name, fig, caption=caption)

    def metric(self, name: str, value, *, headline: bool = False) -> None:
        """One number (or short text) for `metrics.json` and the report.

        Headline metrics (at most a few per run) are shown beside the run in `runs/index.html`.
        """
        self.run.metric(name, value, headline=headline)

    def note(self, markdown: str) -> None:
        """A paragraph of the report, in order with the tables and figures."""
        self.run.note(markdown)

    def notice(self, text: str) -> None:
        """A warning at the top of the report (a substitute dataset, ...), also printed now."""
        self.run.notice(text)
        self.say(f"notice: {text}")

    def say(self, text: str) -> None:
        """Print a line of progress for the person watching the run."""
        if self.console is not None:
            self.console.print(text)
