"""A study's driver: plans the cells, hands them to an engine, records each in the runs index,
and writes the study folder.

`runs/<time>-<id>-study/study.json` says which run is which cell, and is rewritten whenever a
cell starts or ends, so `resume_study` (`nnlab run --resume STUDY`) keeps the done runs,
resumes the unfinished ones from their checkpoints and runs the rest. The driver is the
index's only writer: workers (processes here, or Ray tasks elsewhere) write run folders only,
and the driver records each cell from the result its worker returns.
"""

import concurrent.futures
import json
import os
import socket
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from nnlab.errors import ConfigError, UnknownNameError
from nnlab.experiments.catalog import EXPERIMENTS
from nnlab.experiments.runner import default_runs_dir
from nnlab.experiments.study.cell import CellResult, CellSpec, read_result
from nnlab.experiments.study.engines import RETRIES, make_engine
from nnlab.experiments.study.plan import Cell, plan_cells
from nnlab.runs import RunIndex
from nnlab.runs.atomic import write_json
from nnlab.runs.folder import new_run_folder
from nnlab.runs.index import process_alive
from nnlab.runs.machine import git_revision, machine_facts
from nnlab.runs.study import write_study_report
from nnlab.train import DEFAULT_SPEED, Speed


@dataclass(frozen=True)
class EngineChoice:
    """Where the cells run: `name` "local" (with `workers` processes) or "ray" (at `address`,
    `cpus` and `gpus` reserved per cell); `threads` per cell, when given, instead of the
    engine's share of the cores (`--threads`)."""

    name: str = "local"
    workers: int = 1
    address: str | None = None
    cpus: float = 1.0
    gpus: float = 0.0
    threads: int | None = None


#: cells one after another in this process (`--workers 1`, no --engine)
IN_TURN = EngineChoice()


@dataclass(frozen=True)
class StudyOutcome:
    """A finished (or stopped) study: its folder and each cell's final status."""

    path: Path
    state: dict
    tables: list = field(default_factory=list)  # the summary, (title, rows), for a terminal

    @property
    def failed(self) -> int:
        """How many cells did not end done."""
        return sum(cell["status"] != "done" for cell in self.state["cells"])


def run_study(
    experiment_id: str,
    *,
    scale: str = "quick",
    overrides: Mapping[str, Any] | None = None,
    file: tuple[str, dict] | None = None,
    seeds: Sequence[int] = (0,),
    grid: Mapping[str, Sequence[str]] | None = None,
    engine: EngineChoice = IN_TURN,
    device: str | None = None,
    runs_dir: Path | None = None,
    console: Any = None,
    speed: Speed = DEFAULT_SPEED,
    on_start: Callable[[Path], None] | None = None,
) -> StudyOutcome:
    """Run every (grid point, seed) of an experiment as an ordinary run, and write the study.

    Parameters
    ----------
    experiment_id : str
        A registered id.
    scale, overrides, device, runs_dir, console, speed
        As for `run_experiment`; `overrides` hold no seed and no grid key.
    file : (str, dict), optional
        A `--config` file's name and settings.
    seeds : sequence of int
        The seeds of every grid point.
    grid : mapping, optional
        Setting -> values (as given on the command line); their cross product.
    engine : EngineChoice
        Where the cells run.
    on_start : callable, optional
        Told the study folder as soon as it exists (a book records it, to resume it).

    Returns
    -------
    StudyOutcome
    """
    experiment = EXPERIMENTS.get(experiment_id)
    overrides, grid = dict(overrides or {}), {k: list(v) for k, v in (grid or {}).items()}
    cells = plan_cells(experiment, scale, overrides, seeds, grid, file)  # refused before any run
    runs_dir = Path(runs_dir or default_runs_dir()).absolute()
    started = _start_engine(engine, console)  # refused (no Ray, no cluster) before any folder
    folder = new_run_folder(runs_dir, f"{experiment.id}-study")
    if on_start is not None:
        on_start(folder)
    state = {
        "kind": "study",
        "name": folder.name,
        "experiment": experiment.id,
        "title": experiment.title,
        "claim": experiment.claim,
        "scale": scale,
        "overrides": overrides,
        "file": list(file) if file else None,
        "seeds": list(seeds),
        "grid": grid,
        "device": device,
        "started": _now(),
        "ended": None,
        "cells": [
            {
                "setting": c.setting,
                "label": c.label,
                "seed": c.seed,
                "run": None,
                "status": "pending",
                "error": None,
                "attempts": 0,
            }
            for c in cells
        ],  # fmt: skip
    }
    return _drive(state, folder, cells, *started, console, speed)


def resume_study(
    ref: str,
    *,
    engine: EngineChoice = IN_TURN,
    device: str | None = None,
    runs_dir: Path | None = None,
    console: Any = None,
    speed: Speed = DEFAULT_SPEED,
) -> StudyOutcome:
    """Finish a stopped study: keep its done runs, resume the unfinished ones, run the rest.

    Parameters
    ----------
    ref : str
        The study folder's name (as `nnlab run` printed it) or path.
    engine, device, runs_dir, console, speed
        As for `run_study`; the experiment, scale, seeds and grid are the study's own
        (`device` None: the study's).
    """
    folder = find_study(ref, Path(runs_dir or default_runs_dir()))
    state = json.loads((folder / "study.json").read_text(encoding="utf-8"))
    driver = state.get("driver") or {}
    if (
        driver.get("host") == socket.gethostname()
        and driver.get("pid") != os.getpid()
        and process_alive(driver.get("pid"))
    ):
        raise ConfigError(
            f"study {state['name']} is running in process {driver['pid']}; wait for it to end "
            "(or stop it) before resuming it."
        )
    experiment = EXPERIMENTS.get(state["experiment"])
    file = tuple(state["file"]) if state.get("file") else None
    cells = plan_cells(
        experiment, state["scale"], state["overrides"], state["seeds"], state["grid"], file
    )
    if [(c.setting, c.seed) for c in cells] != [(c["setting"], c["seed"]) for c in state["cells"]]:
        raise ConfigError(f"{folder / 'study.json'} does not match its own plan; start anew.")
    if device is not None:
        state["device"] = device
    return _drive(state, folder, cells, *_start_engine(engine, console), console, speed)


def find_study(ref: str, runs_dir: Path) -> Path:
    """The study folder named by `ref` (its name in `runs_dir`, or a path)."""
    for folder in (Path(ref), runs_dir / str(ref)):
        if (folder / "study.json").is_file():
            return folder.absolute()
    studies = sorted(p.parent.name for p in runs_dir.glob("*/study.json"))[-5:]
    known = f"Latest: {', '.join(studies)}." if studies else f"There are no studies in {runs_dir}."
    raise UnknownNameError(f"No study {ref!r} in {runs_dir}. {known}")


def is_study(ref: str, runs_dir: Path) -> bool:
    """Whether `ref` names a study folder (not a run)."""
    return any((f / "study.json").is_file() for f in (Path(ref), Path(runs_dir) / str(ref)))


def _start_engine(choice: EngineChoice, console) -> tuple[Any, int | None]:
    """The engine `choice` names, started, and the threads of each cell (`--threads` first)."""
    engine = make_engine(
        choice.name,
        choice.workers,
        console,
        address=choice.address,
        cpus=choice.cpus,
        gpus=choice.gpus,
    )
    return engine, choice.threads or engine.threads()


def _drive(
    state: dict,
    folder: Path,
    cells: list[Cell],
    engine,
    threads: int | None,
    console,
    speed: Speed,
) -> StudyOutcome:
    """Run each cell not yet done on the engine, record it, and write the study's files."""
    runs_dir = folder.parent
    index = RunIndex(runs_dir / "index.sqlite")
    revision = git_revision()
    state.update(
        driver={"pid": os.getpid(), "host": socket.gethostname()},
        ended=None,
        git_revision=revision,
        machine=machine_facts(),
    )
    todo = [i for i, cell in enumerate(state["cells"]) if not _kept(cell, runs_dir, index)]
    state["engine"] = {"name": engine.name, "slots": engine.slots, "threads": threads}
    save = _saver(folder, state)
    save()
    in_flight: dict[concurrent.futures.Future, tuple[int, int]] = {}
    tables: list = []
    submitting: int | None = None
    generation = 0  # the local pool's; bumped when a lost worker broke it
    bar = _Progress(console, len(state["cells"]), len(state["cells"]) - len(todo), engine.name)
    try:
        while todo or in_flight:
            while todo and len(in_flight) < engine.slots:
                i = todo.pop(0)
                spec = _start(state["cells"][i], cells[i], state, runs_dir, index, revision)
                spec = CellSpec(**{**spec, "speed": speed, "threads": threads})
                bar.starting(state["cells"][i], engine.name)
                save()
                submitting = i  # the in-process engine runs it right here
                in_flight[engine.submit(spec)] = (i, generation)
                submitting = None
            finished, _ = concurrent.futures.wait(
                in_flight, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in finished:
                i, born = in_flight.pop(future)
                cell = state["cells"][i]
                try:
                    result = future.result()
                except engine.lost_worker_errors as exc:
                    if engine.name == "local" and born == generation:
                        engine.restart()
                        generation += 1
                    if engine.name == "local" and cell["attempts"] <= RETRIES:
                        todo.insert(0, i)  # resumed from its checkpoints
                        continue
                    why = f"its worker was lost {cell['attempts']} time(s) (killed, or OOM)"
                    result = _failed(cell, runs_dir, f"{why}: {type(exc).__name__}: {exc}")
                except Exception as exc:  # refused before its run began (e.g. an old run.json)
                    result = _failed(cell, runs_dir, f"{type(exc).__name__}: {exc}")
                _record(index, cell, result)
                bar.ended(cell)
                save()
    except KeyboardInterrupt:
        stopped = [i for i, _ in in_flight.values()]
        for i in stopped + ([submitting] if submitting is not None else []):
            cell = state["cells"][i]
            result = read_result(runs_dir / cell["run"])
            if result is not None:
                _record(index, cell, result)
            else:  # stopped before its worker began it
                cell["status"] = "interrupted"
        if console is not None:
            out = "" if runs_dir == default_runs_dir().absolute() else f" --out {runs_dir}"
            console.print(f"Continue this study with: nnlab run --resume {state['name']}{out}")
        raise
    finally:
        bar.close()
        with suppress(Exception):
            engine.close()
        state["ended"] = _now()
        save()
        tables = write_study_report(folder, state)
    return StudyOutcome(folder, state, tables)


def _kept(cell: dict, runs_dir: Path, index: RunIndex) -> bool:
    """Whether a cell is done (its run folder says so); a done run the index lost is indexed."""
    if not cell.get("run"):
        return False
    result = read_result(runs_dir / cell["run"])
    if result is None or result.status != "done":
        return False
    try:
        index.get(result.run_id)
    except UnknownNameError:
        _index_start(
            index, result.info["experiment"], result.run_id, result.info, result.config, runs_dir
        )
        _record(index, cell, result)
    cell["status"] = "done"
    return True


def _start(
    cell: dict, planned: Cell, state: dict, runs_dir: Path, index: RunIndex, revision
) -> dict:
    """Give a cell its run folder (a new, empty one; or its unfinished run's) and index it as
    running in this process; the worker's `CellSpec` fields (but speed and threads)."""
    run_folder = runs_dir / cell["run"] if cell.get("run") else None
    if run_folder is None or not run_folder.is_dir():
        run_folder = new_run_folder(runs_dir, state["experiment"])
    info = read_result(run_folder)
    _index_start(
        index,
        state["experiment"],
        run_folder.name,
        {"git_revision": revision, "started": _now()} if info is None else info.info,
        planned.config,
        runs_dir,
    )
    cell.update(run=run_folder.name, status="running", error=None, attempts=cell["attempts"] + 1)
    return {
        "experiment": state["experiment"],
        "scale": state["scale"],
        "overrides": {**state["overrides"], **planned.setting, "seed": planned.seed},
        "file": tuple(state["file"]) if state.get("file") else None,
        "folder": str(run_folder),
        "device": state.get("device"),
        "tensorboard": os.environ.get("NNLAB_TENSORBOARD", "").lower() in ("1", "true", "yes"),
    }


def _index_start(
    index: RunIndex, experiment: str, run_id: str, info: dict, config: dict, runs_dir: Path
) -> None:
    """Index a cell's run as running in this process (the driver's)."""
    index.start(
        id=run_id,
        experiment=experiment,
        config=config,
        git_revision=info.get("git_revision"),
        started=info.get("started") or _now(),
        path=runs_dir / run_id,
    )


def _record(index: RunIndex, cell: dict, result: CellResult) -> None:
    """The cell's end in the index and in the study's state."""
    ended = result.info.get("ended") or _now()
    index.finish(result.run_id, result.status, result.metrics, ended)
    verdict = result.info.get("verdict") or {}
    cell.update(status=result.status, error=result.error, verdict=verdict.get("held"))


def _failed(cell: dict, runs_dir: Path, error: str) -> CellResult:
    """A cell that failed outside its run (its worker lost, or its run not opened), with why."""
    found = read_result(runs_dir / cell["run"])
    info = {**(found.info if found else {}), "error": error}
    return CellResult(cell["run"], "failed", error, info, found.metrics if found else {})


def _saver(folder: Path, state: dict):
    return lambda: write_json(folder / "study.json", state)


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


class _Progress:
    """The study's progress: a bar of cells for worker engines, a heading per cell in-process
    (where the run shows its own progress)."""

    def __init__(self, console, total: int, done: int, engine: str):
        self.console, self.total, self.done, self.failed = console, total, done, 0
        self._bar = None
        if console is not None and engine != "in-process" and sys.stderr.isatty():
            from rich.progress import Progress

            self._bar = Progress(console=console, transient=False)
            self._bar.start()
            self._task = self._bar.add_task("study", total=total, completed=done)

    def starting(self, cell: dict, engine: str) -> None:
        if self.console is None:
            return
        what = f"seed {cell['seed']}" + (f", {cell['label']}" if cell["label"] else "")
        if engine == "in-process":
            self.console.rule(f"[{self.done + 1}/{self.total}] {what}")
        else:
            self.console.print(f"started {what} → {cell['run']}")

    def ended(self, cell: dict) -> None:
        self.done += 1
        self.failed += cell["status"] != "done"
        if self.console is not None and cell["status"] != "done":
            self.console.print(f"{cell['run']} {cell['status']}: {cell.get('error') or ''}")
        if self._bar is not None:
            failed = f" ({self.failed} failed)" if self.failed else ""
            self._bar.update(self._task, completed=self.done, description=f"study{failed}")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
