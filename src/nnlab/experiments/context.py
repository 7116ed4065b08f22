"""`ctx`, what an experiment's `run(cfg, ctx)` works through: the experiment kit.

It holds the run's device and seed, hands out independent seeded random streams, loads
datasets with stated fallbacks (`load_splits`, `describe_data`), trains models through the one
loop (with a progress display, a checkpoint and a history CSV per model, so an interrupted run
resumes where it stopped), and records tables, figures, metrics, notes and the run's one
verdict into the run folder.
"""

import hashlib
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nnlab import data
from nnlab.data import ImageSet, split
from nnlab.data.pipeline import Transform
from nnlab.errors import MissingDataError, NnlabError, UnknownNameError
from nnlab.runs import Run
from nnlab.train import (
    DEFAULT_SPEED,
    Callback,
    Checkpoint,
    History,
    HistoryLog,
    ProgressBar,
    Speed,
    TensorBoardLog,
    fit,
)
from nnlab.train.heads import LabelMap, LossFn

#: the split names of `load_splits`, in the order the "Data:" sentence names them
_SPLIT_WORDS = {"train": "training", "valid": "validation", "test": "test"}


def tensorboard_wanted() -> bool:
    """Whether NNLAB_TENSORBOARD asks every run to write TensorBoard events."""
    return os.environ.get("NNLAB_TENSORBOARD", "").lower() in ("1", "true", "yes", "on")


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
    tensorboard : bool, optional
        Each `fit` also writes TensorBoard events under the run's `tensorboard/` folder;
        default: whether NNLAB_TENSORBOARD is set (`nnlab run --tensorboard` sets it).
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
        tensorboard: bool | None = None,
    ):
        self.run = run
        self.tensorboard = tensorboard_wanted() if tensorboard is None else tensorboard
        #: the run's verdict once `verdict` was called: {"held": ..., "sentence": ...}
        self.verdict_given: dict | None = None
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

    def load_splits(
        self,
        dataset: str,
        limits: Mapping[str, int | None],
        *,
        fallback: str | None = None,
    ) -> dict[str, ImageSet]:
        """The named splits of `dataset`, each limited to a seeded subset of `limits[split]`.

        `limits` is {split: at most this many images, or None for all}, e.g. {"train": 5000,
        "valid": None, "test": 1000}. Below full scale a missing dataset is replaced by
        `fallback` (with a notice). A missing NIST36 is replaced by hand36 at every scale (real
        NIST handwriting in NIST36's look and class order; the report says so). A set without
        a `valid` split (a user's folder) has one held out of `train`.
        """
        if dataset == "nist36":
            try:
                return {
                    s: data.load(dataset, s, limit=n, seed=self.seed) for s, n in limits.items()
                }
            except MissingDataError:
                self.notice(
                    "NIST36 (nist36_*.mat) is not in the data folder, so this run uses hand36 "
                    "instead: EMNIST letters and MNIST digits, the same NIST handwriting, "
                    "normalised to NIST36's 32×32 look and A–Z, 0–9 class order, and limited to "
                    "NIST36's split sizes. Its numbers are hand36's, not NIST36's."
                )
                dataset = "hand36"
        sets = {
            s: self.load(dataset, s, limit=n, fallback=fallback)
            for s, n in limits.items()
            if s != "valid"
        }
        if "valid" in limits:
            sets["train"], sets["valid"] = self.load_validation(
                dataset, sets["train"], limit=limits["valid"], fallback=fallback
            )
        return {s: sets[s] for s in limits}

    def describe_data(self, sets: Mapping[str, ImageSet], details: str = "") -> None:
        """Note the sets' own notes (each once, in order), then one "Data: ..." sentence.

        E.g. "Data: mnist, 5,000 training and 1,000 test images of 1×28×28, 10 classes; inputs
        scaled to [-1, 1]." with `details` = "inputs scaled to [-1, 1]".
        """
        for note in dict.fromkeys(n for images in sets.values() for n in images.notes):
            self.note(note)
        first = next(iter(sets.values()))
        counts = [f"{len(images):,} {_SPLIT_WORDS.get(s, s)}" for s, images in sets.items()]
        listed = ", ".join(counts[:-1]) + (" and " if len(counts) > 1 else "") + counts[-1]
        shape = "×".join(map(str, first.image_shape))
        sentence = (
            f"Data: {first.name}, {listed} images of {shape}, {first.num_classes} classes"
            + (f"; {details}" if details else "")
        )
        self.note(sentence.rstrip(".") + ".")

    def fit(
        self,
        name: str,
        model: nn.Module,
        train: ImageSet,
        val: ImageSet | None = None,
        *,
        epochs: int | None = None,
        steps: int | None = None,
        optimizer: torch.optim.Optimizer,
        loss: LossFn = F.cross_entropy,
        batch_size: int = 64,
        transform: Transform | None = None,
        eval_transform: Transform | None = None,
        scheduler: Any = None,
        scheduler_interval: str = "epoch",
        callbacks: Sequence[Callback] = (),
        eval_every: int | None = None,
        eval_batch_size: int = 1024,
        seed: int | None = None,
        precision: str | None = None,
        compile: bool | None = None,
        heads: Mapping[str, LabelMap] | None = None,
        accuracy: bool = True,
        sync_bn: bool | None = None,
    ) -> History:
        """`nnlab.train.fit` on the run's device, with a progress display, a checkpoint and a
        history CSV.

        Parameters
        ----------
        name : str
            Names the model in progress lines, its checkpoint (`checkpoints/NAME.pt`; a resumed
            run continues each model from it) and its history (`histories/NAME.csv`, one row
            per evaluation; with TensorBoard on, also events under `tensorboard/NAME/`).
        seed : int, optional
            The batch order's seed; default: derived from the run's seed and `name`.
        precision, compile, sync_bn : optional
            Default: the run's (`--precision`, `--compile`, `--sync-bn`).
        model, train, val, and the others
            As for `nnlab.train.fit`; `callbacks` run before the run's own.
        """
        own: list[Callback] = [
            ProgressBar(label=name, console=self.console),
            HistoryLog(self.run.history_path(name)),
        ]
        if self.tensorboard:
            own.append(TensorBoardLog(self.run.path / "tensorboard" / name, name))
        own.append(Checkpoint(self.run.checkpoint_path(name)))
        precision = self.speed.precision if precision is None else precision
        history = fit(
            model,
            train,
            val,
            epochs=epochs,
            steps=steps,
            optimizer=optimizer,
            loss=loss,
            batch_size=batch_size,
            transform=transform,
            eval_transform=eval_transform,
            scheduler=scheduler,
            scheduler_interval=scheduler_interval,
            callbacks=[*callbacks, *own],
            device=self.device,
            eval_every=eval_every,
            eval_batch_size=eval_batch_size,
            seed=self.derived_seed(f"shuffle/{name}") if seed is None else seed,
            precision=precision,
            compile=self.speed.compile if compile is None else compile,
            heads=heads,
            accuracy=accuracy,
            sync_bn=self.speed.sync_bn if sync_bn is None else sync_bn,
        )
        self.precisions[name] = history.precision
        self.run.fact("precision", {"policy": precision, "fits": self.precisions})
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

    def verdict(self, held: bool | None, sentence: str, **numbers: Any) -> None:
        """The run's one verdict on its experiment's claim; every run ends with exactly one.

        Parameters
        ----------
        held : bool or None
            Whether the claim held at this run's settings; None where the study states no
            claim (a descriptive experiment).
        sentence : str
            What was found, in one or two sentences of Markdown with the numbers that decide
            it; shown in the report's first lines and in the book.
        **numbers
            The quantities the verdict rests on (gaps, accuracies, ...), recorded as
            `verdict.<name>` metrics beside `verdict.held`.
        """
        if self.verdict_given is not None:
            raise NnlabError(
                f"experiment {self.run.experiment} gave a second verdict; a run has one "
                f"(the first said: {self.verdict_given['sentence']!r})."
            )
        if held is not None and not isinstance(held, bool):
            raise NnlabError(f"a verdict's held is True, False or None, got {held!r}.")
        bad = [k for k, v in numbers.items() if isinstance(v, float) and not math.isfinite(v)]
        if bad:
            self.notice(f"The verdict's {', '.join(bad)} is not a finite number.")
        self.verdict_given = {"held": held, "sentence": sentence.strip()}
        self.run.metric("verdict.held", held, headline=True)
        for key, value in numbers.items():
            self.run.metric(f"verdict.{key}", value, headline=True)
        self.run.fact("verdict", self.verdict_given)
        outcome = {True: "held", False: "did not hold", None: "no claim tested"}[held]
        self.say(f"Verdict: {outcome}. {self.verdict_given['sentence']}")

    def say(self, text: str) -> None:
        """Print a line of progress for the person watching the run."""
        if self.console is not None:
            self.console.print(text)
