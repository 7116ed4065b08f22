"""`nnlab run --all`: every experiment in the catalogue's order, and one page that links them.

The whole book reproduced by one command. An experiment that fails (a dataset missing at full
scale, ...) is marked failed on the page and the next one runs; Ctrl-C stops the book, and the
page still lists what ran. Beside the page, `book-<time>-<scale>.json`
records which run is which experiment's, after every start, so `resume_book` (`nnlab run --all
--resume BOOK`) keeps the finished runs, resumes the unfinished ones from their checkpoints and
runs the rest. With seeds (`nnlab run --all --seeds 5`) each experiment is a study instead
(`nnlab.experiments.study`), and its row shows mean ± interval and how often the claim held.
"""

import json
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from nnlab.errors import NnlabError, UnknownNameError
from nnlab.experiments.catalog import EXPERIMENTS, Experiment, in_catalogue_order
from nnlab.experiments.config import ExperimentConfig
from nnlab.experiments.context import Context
from nnlab.experiments.runner import create_run, default_runs_dir, execute, reopen_run
from nnlab.experiments.study import IN_TURN, EngineChoice, resume_study, run_study
from nnlab.runs import BookEntry, RunIndex, write_book_html
from nnlab.runs.atomic import write_json
from nnlab.runs.study import book_row
from nnlab.train import DEFAULT_SPEED, Speed


def run_all(
    scale: str = "quick",
    *,
    experiments: Sequence[Experiment] | None = None,
    overrides: Mapping[str, Any] | None = None,
    device: str | None = None,
    runs_dir: Path | None = None,
    console: Any = None,
    speed: Speed = DEFAULT_SPEED,
    seeds: Sequence[int] | None = None,
    engine: EngineChoice = IN_TURN,
) -> tuple[Path, list[BookEntry]]:
    """Run `experiments` (default: all, in the catalogue's order) and write the book page.

    Parameters
    ----------
    scale : str
        "smoke", "quick" or "full", for every experiment.
    experiments : sequence of Experiment, optional
        Which to run; default every registered one, by study.
    overrides : mapping, optional
        Settings every experiment has, for all of them, e.g. {"seed": 1}.
    device, runs_dir, console, speed
        As for `run_experiment`.
    seeds : sequence of int, optional
        Run each experiment as a study over these seeds (then `overrides` hold no seed).
    engine : EngineChoice
        Where a study's runs go.

    Returns
    -------
    (Path, list of BookEntry)
        The page `runs_dir/book-<time>-<scale>.html` and one entry per experiment run.
    """
    chosen = list(experiments) if experiments is not None else in_catalogue_order()
    book = {
        "name": f"book-{time.strftime('%Y%m%d-%H%M%S')}-{scale}",
        "scale": scale,
        "overrides": dict(overrides or {}),
        "experiments": [e.id for e in chosen],
        "seeds": list(seeds) if seeds else None,
        "runs": {},
    }
    return _write_book(book, runs_dir or default_runs_dir(), device, console, speed, engine)


def resume_book(
    ref: str,
    *,
    device: str | None = None,
    runs_dir: Path | None = None,
    console: Any = None,
    speed: Speed = DEFAULT_SPEED,
    engine: EngineChoice = IN_TURN,
) -> tuple[Path, list[BookEntry]]:
    """Finish an interrupted book: keep its done runs, resume the others, run the rest.

    Parameters
    ----------
    ref : str
        The book's name ("book-20261206-101500-quick"), its page or its .json, in `runs_dir`
        or as a path.
    device, runs_dir, console, speed, engine
        As for `run_all`; the scale, seeds and experiments are the book's own.

    Returns
    -------
    (Path, list of BookEntry)
        The same page, rewritten, and one entry per experiment.
    """
    runs_dir = runs_dir or default_runs_dir()
    path = _find_book(ref, runs_dir)
    book = json.loads(path.read_text())
    return _write_book(book, path.parent, device, console, speed, engine)


def _write_book(
    book: dict, runs_dir: Path, device, console, speed: Speed, engine: EngineChoice
) -> tuple[Path, list[BookEntry]]:
    """Run each of the book's experiments that has no done run yet; write its page and state."""
    state = runs_dir / f"{book['name']}.json"
    chosen = [EXPERIMENTS.get(experiment_id) for experiment_id in book["experiments"]]
    entries: dict[str, list[BookEntry]] = {}

    def started(experiment_id: str, run_id: str) -> None:
        book["runs"][experiment_id] = run_id
        write_json(state, book)

    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        write_json(state, book)
        for number, experiment in enumerate(chosen, 1):
            if console is not None:
                console.rule(f"[{number}/{len(chosen)}] {experiment.id}: {experiment.title}")
            section = entries.setdefault(experiment.study_title, [])
            if book.get("seeds"):
                section.append(_study_one(experiment, book, runs_dir, device, console, speed,
                                          engine, started))  # fmt: skip
                continue
            run_id = book["runs"].get(experiment.id)
            if run_id and not (runs_dir / run_id / "run.json").is_file():
                run_id = None  # its folder was deleted: run it anew
            if run_id and _status(runs_dir, run_id) == "done":
                if console is not None:
                    console.print(f"{experiment.id} is done in run {run_id}: kept")
                section.append(BookEntry(experiment.id, run_id))
                continue
            if run_id:  # interrupted or failed: continue it from its checkpoints
                open_run = partial(reopen_run, run_id, device, runs_dir, console, speed)
            else:
                open_run = partial(
                    create_run,
                    experiment.id,
                    book["scale"],
                    book["overrides"],
                    device,
                    runs_dir,
                    console,
                    speed,
                )
            _run_one(experiment.id, open_run, section, started)
    except KeyboardInterrupt:
        if console is not None:
            out = "" if runs_dir == default_runs_dir() else f" --out {runs_dir}"
            console.print(f"Continue this book with: nnlab run --all --resume {book['name']}{out}")
        raise
    finally:  # Ctrl-C too: the page lists what ran
        sections = [(heading, section) for heading, section in entries.items() if section]
        title = f"nnlab: the whole book at {book['scale']} scale"
        page = write_book_html(runs_dir, f"{book['name']}.html", title, sections)
    return page, [e for section in entries.values() for e in section]


def _run_one(
    experiment_id: str,
    open_run: Callable[[], tuple[Experiment, ExperimentConfig, Context]],
    section: list[BookEntry],
    started: Callable[[str, str], None],
) -> None:
    """Run one experiment and add its entry to `section`; a failure is recorded, not raised.

    `started(experiment_id, run_id)` is told the run as soon as its folder is (re)opened.
    """
    try:
        experiment, cfg, ctx = open_run()
    except NnlabError as error:  # refused before a run folder was (re)opened
        section.append(BookEntry(experiment_id, None, str(error)))
        return
    started(experiment_id, ctx.run.id)
    error_text = None
    try:
        execute(experiment, cfg, ctx)
    except Exception as error:  # the run is marked failed with its error; the book goes on
        error_text = f"{type(error).__name__}: {error}"
        ctx.say(f"{experiment_id} failed: {error_text}")
    finally:  # an interrupted run is listed too (the index says "interrupted")
        section.append(BookEntry(experiment_id, ctx.run.id, error_text))


def _study_one(
    experiment: Experiment,
    book: dict,
    runs_dir: Path,
    device,
    console,
    speed: Speed,
    engine: EngineChoice,
    started: Callable[[str, str], None],
) -> BookEntry:
    """One experiment of a book over seeds: its study (kept when done, else resumed or run)."""
    where = {"engine": engine, "device": device, "runs_dir": runs_dir, "console": console,
             "speed": speed}  # fmt: skip
    name = book["runs"].get(experiment.id)
    try:
        if name and (runs_dir / name / "study.json").is_file():
            state = json.loads((runs_dir / name / "study.json").read_text())
            if any(c["status"] != "done" for c in state["cells"]):
                resume_study(name, **where)
            elif console is not None:
                console.print(f"{experiment.id} is done in study {name}: kept")
        else:
            name = run_study(
                experiment.id,
                scale=book["scale"],
                overrides=book["overrides"],
                seeds=book["seeds"],
                on_start=lambda folder: started(experiment.id, folder.name),
                **where,
            ).path.name
    except NnlabError as error:  # refused before its study began
        return BookEntry(experiment.id, None, str(error))
    return BookEntry(experiment.id, None, None, book_row(runs_dir / name))


def _status(runs_dir: Path, run_id: str) -> str | None:
    """The run's status in the index beside it; None when the index does not know it."""
    try:
        return RunIndex(runs_dir / "index.sqlite").get(run_id).status
    except UnknownNameError:
        return None


def _find_book(ref: str, runs_dir: Path) -> Path:
    """The state file of the book named by `ref`, or an UnknownNameError listing the books."""
    name = Path(ref).name.removesuffix(".html").removesuffix(".json")
    for folder in (Path(ref).parent, runs_dir):
        if (folder / f"{name}.json").is_file():
            return folder / f"{name}.json"
    books = sorted(p.stem for p in runs_dir.glob("book-*.json"))[-5:]
    known = f"Latest: {', '.join(books)}." if books else f"There are no books in {runs_dir}."
    raise UnknownNameError(
        f"No book {ref!r} in {runs_dir} (a book is resumed by the name of its page, e.g. "
        f"book-20261206-101500-quick). {known}"
    )
