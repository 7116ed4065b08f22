"""`nnlab run --all`: every experiment in the catalogue's order, and one page that links them.

EXPERIMENTS.md section E: the whole book reproduced by one command. An experiment that fails (a
dataset missing at full scale, ...) is marked failed on the page and the next one runs; Ctrl-C
stops the book, and the page still lists what ran (the interrupted run resumes with
`nnlab run --resume ID`).
"""

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nnlab.errors import NnlabError
from nnlab.experiments.catalog import Experiment, in_catalogue_order
from nnlab.experiments.runner import create_run, default_runs_dir, execute
from nnlab.runs import BookEntry, write_book_html


def run_all(
    scale: str = "quick",
    *,
    experiments: Sequence[Experiment] | None = None,
    overrides: Mapping[str, Any] | None = None,
    device: str | None = None,
    runs_dir: Path | None = None,
    console: Any = None,
    accelerate: bool = True,
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
    device, runs_dir, console, accelerate
        As for `run_experiment`.

    Returns
    -------
    (Path, list of BookEntry)
        The page `runs_dir/book-<time>-<scale>.html` and one entry per experiment run.
    """
    runs_dir = runs_dir or default_runs_dir()
    chosen = list(experiments) if experiments is not None else in_catalogue_order()
    name = f"book-{time.strftime('%Y%m%d-%H%M%S')}-{scale}.html"
    entries: dict[str, list[BookEntry]] = {}
    try:
        for number, experiment in enumerate(chosen, 1):
            if console is not None:
                console.rule(f"[{number}/{len(chosen)}] {experiment.id}: {experiment.title}")
            section = entries.setdefault(experiment.study_title, [])
            _run_one(experiment, section, scale, overrides, device, runs_dir, console, accelerate)
    finally:  # Ctrl-C too: the page lists what ran
        sections = [(heading, section) for heading, section in entries.items() if section]
        title = f"nnlab: the whole book at {scale} scale"
        page = write_book_html(runs_dir, name, title, sections)
    return page, [e for section in entries.values() for e in section]


def _run_one(experiment: Experiment, section: list[BookEntry], *run_args) -> None:
    """Run one experiment and add its entry to `section`; a failure is recorded, not raised."""
    try:
        experiment, cfg, ctx = create_run(experiment.id, *run_args)
    except NnlabError as error:  # refused before a run folder existed
        section.append(BookEntry(experiment.id, None, str(error)))
        return
    error_text = None
    try:
        execute(experiment, cfg, ctx)
    except Exception as error:  # the run is marked failed with its error; the book goes on
        error_text = f"{type(error).__name__}: {error}"
        ctx.say(f"{experiment.id} failed: {error_text}")
    finally:  # an interrupted run is listed too (the index says "interrupted")
        section.append(BookEntry(experiment.id, ctx.run.id, error_text))
