"""What a study's worker does with one cell: run (or resume) it into its folder, write nothing
to the index, and hand the driver what the index needs.

`run_cell` is a plain top-level function of picklable arguments, so the same code runs in this
process, in a spawned worker process and as a Ray task on another machine.
"""

import json
import shutil
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from nnlab.experiments.runner import create_run, execute, reopen_run
from nnlab.train import Speed, thread_limit


@dataclass(frozen=True)
class CellSpec:
    """Everything a worker needs to run one cell (all picklable).

    folder : absolute path of the run folder the driver made for it (empty, or the cell's
    earlier, unfinished run); threads : torch/BLAS threads of the worker (None: leave them).
    """

    experiment: str
    scale: str
    overrides: dict
    file: tuple[str, dict] | None
    folder: str
    device: str | None
    speed: Speed
    threads: int | None
    tensorboard: bool = False


@dataclass(frozen=True)
class CellResult:
    """A finished cell as the driver records it: the run's run.json, metrics and settings."""

    run_id: str
    status: str
    error: str | None
    info: dict
    metrics: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)


def run_cell(spec: CellSpec, console=None) -> CellResult:
    """Run one cell: a new run in its empty folder, a resumed one when the folder holds an
    unfinished run, and the recorded result when it is already done.

    A failure is returned (status "failed" and its error), never raised, so the study goes on;
    Ctrl-C (KeyboardInterrupt) is raised after the run is marked interrupted. Without a
    `console` (a worker's case) the run prints nothing: its report says everything.
    """
    import os

    from rich.console import Console

    console = console or Console(quiet=True)

    if spec.tensorboard:
        os.environ["NNLAB_TENSORBOARD"] = "1"
    folder = Path(spec.folder)
    with thread_limit(spec.threads):
        done = read_result(folder)
        if done is not None and done.status == "done":
            return done
        if (folder / "run.json").is_file():
            opened = reopen_run(
                str(folder), spec.device, folder.parent, console, spec.speed, indexed=False
            )
        else:
            _empty_again(folder)
            opened = create_run(
                spec.experiment,
                spec.scale,
                spec.overrides,
                spec.device,
                folder.parent,
                console,
                spec.speed,
                spec.file,
                folder=folder,
                indexed=False,
            )
        with suppress(Exception):  # recorded failed in run.json by execute; the study goes on
            execute(*opened)
    result = read_result(folder)
    assert result is not None  # execute always ends by writing run.json
    return result


def _empty_again(folder: Path) -> None:
    """Clear what a run whose worker died while making it left (its config.json, no run.json):
    nothing of a run exists before its run.json, so it starts anew in the same folder."""
    if folder.is_dir() and any(folder.iterdir()):
        shutil.rmtree(folder)
    folder.mkdir(exist_ok=True)


def read_result(folder: Path) -> CellResult | None:
    """The cell result that a run folder's files record; None before its run.json exists."""
    try:
        info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    try:
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        metrics = {}
    status = info.get("status") or "interrupted"
    if status == "running":  # no process is running it (the driver asks only between runs)
        status = "interrupted"
    return CellResult(folder.name, status, info.get("error"), info, metrics, config)
