"""Run an experiment into a run folder: settings first, then the work, then the report.

Settings are resolved (and refused) before any folder is made; once the run exists it always
ends with a report and an index status: done, failed (with the error) or interrupted (resume
with `nnlab run --resume ID`: each model continues from its checkpoint).
"""

import errno
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import torch

from nnlab.data import info
from nnlab.data.catalog import SCHEMES
from nnlab.errors import ConfigError, MissingDataError, NnlabError
from nnlab.experiments.catalog import EXPERIMENTS, Experiment
from nnlab.experiments.config import ExperimentConfig, read_settings_file, resolve
from nnlab.experiments.context import Context
from nnlab.runs import Run, ShadowRun
from nnlab.train import DEFAULT_SPEED, Speed, resolve_device
from nnlab.train.distributed import leave, share, world


def default_runs_dir() -> Path:
    """`$NNLAB_RUNS`, or `runs/` in the current folder."""
    return Path(os.environ.get("NNLAB_RUNS") or "runs")


def run_experiment(
    experiment_id: str,
    *,
    scale: str = "quick",
    overrides: Mapping[str, Any] | None = None,
    device: str | None = None,
    runs_dir: Path | None = None,
    console: Any = None,
    speed: Speed = DEFAULT_SPEED,
    settings_file: str | Path | None = None,
) -> Context | None:
    """Run one experiment and write its run folder.

    Parameters
    ----------
    experiment_id : str
        A registered id (`nnlab list`).
    scale : str
        "smoke", "quick" or "full".
    overrides : mapping, optional
        Settings that replace the scale's: {"epochs": "3", "dataset": "mnist", ...}.
    device : str, optional
        "cpu", "cuda", "cuda:1"; default: a GPU when there is one.
    runs_dir : Path, optional
        Where run folders and the index live (default `default_runs_dir()`).
    console : rich.console.Console, optional
        Where progress is printed.
    speed : Speed
        The precision policy and torch.compile setting of every fit (`--precision`, `--compile`).
    settings_file : str or Path, optional
        A TOML or JSON file of settings (`--config`), applied after the scale's and before
        `overrides`.

    Returns
    -------
    Context or None
        The finished run's context: `.run` (folder, metrics) and `.tables`. None on the ranks
        other than 0 of an experiment that runs on rank 0 alone (under torchrun).
    """
    file = None if settings_file is None else settings_from(settings_file)
    return execute(
        *create_run(experiment_id, scale, overrides, device, runs_dir, console, speed, file)
    )


def settings_from(settings_file: str | Path) -> tuple[str, dict]:
    """(the file's name, its settings) of a `--config` file, read once."""
    return str(settings_file), read_settings_file(settings_file)


def resolve_settings(
    experiment: Experiment,
    scale: str,
    overrides: Mapping[str, Any] | None,
    file: tuple[str, dict] | None = None,
) -> ExperimentConfig:
    """The experiment's settings at `scale`, then `file`'s, then `overrides`, checked (the
    dataset named too), before anything is made."""
    cfg = resolve(experiment.config, scale, experiment.scales, overrides, file=file)
    check_dataset(getattr(cfg, "dataset", ""))
    return cfg


def create_run(
    experiment_id: str,
    scale: str,
    overrides: Mapping[str, Any] | None,
    device: str | None,
    runs_dir: Path | None,
    console: Any,
    speed: Speed,
    file: tuple[str, dict] | None = None,
    *,
    folder: Path | None = None,
    indexed: bool = True,
) -> tuple[Experiment, ExperimentConfig, Context]:
    """The settings, run folder and context of a new run (as `run_experiment`), not yet run.

    `file` is a `--config` file's (name, settings); `folder` and `indexed` as for `Run.create`.
    Over several processes rank 0 makes the folder and the others get its `ShadowRun`.
    """
    experiment = EXPERIMENTS.get(experiment_id)
    cfg = resolve_settings(experiment, scale, overrides, file)
    dev = resolve_device(device)
    run = _on_rank_zero(
        lambda: Run.create(
            runs_dir or default_runs_dir(),
            experiment.id,
            asdict(cfg),
            title=experiment.title,
            description=experiment.description,
            claim=experiment.claim,
            scale=scale,
            device=describe_device(dev),
            folder=folder,
            indexed=indexed,
        )
    )
    ctx = Context(run, device=dev, seed=cfg.seed, scale=scale, console=console, speed=speed)
    return experiment, cfg, ctx


def _on_rank_zero(make_run) -> Run:
    """`make_run()` on rank 0 (or the one process); the other ranks get its `ShadowRun`."""
    ranks = world()
    if not ranks.distributed:
        return make_run()
    run, made = None, None
    try:
        if ranks.is_main:
            run = make_run()
            made = str(run.path)
    finally:  # the other ranks wait for the path, also when rank 0 could not make the run
        made = share(made)
    if made is None:
        raise NnlabError("rank 0 could not open the run folder; see its error.")
    return run if ranks.is_main else ShadowRun(Path(made))


def resume_experiment(
    run_ref: str,
    *,
    device: str | None = None,
    runs_dir: Path | None = None,
    console: Any = None,
    speed: Speed = DEFAULT_SPEED,
) -> Context | None:
    """Continue an interrupted or failed run in its own folder, with its own settings.

    The experiment runs again from the top; every model it trains picks up from its checkpoint,
    so finished models are not retrained and an interrupted one goes on from its last save.
    """
    return execute(*reopen_run(run_ref, device, runs_dir, console, speed))


def check_dataset(name: str) -> None:
    """Refuse a dataset name that no run could load (unknown, or a "folder:PATH" that is not a
    folder) before a run folder exists; an empty name means the experiment's own choice."""
    if not name:
        return
    scheme, colon, path = name.partition(":")
    if colon and scheme in SCHEMES:
        if not path.strip() or not Path(path).expanduser().is_dir():
            raise MissingDataError(
                f"dataset {name!r}: {path!r} does not exist or is not a folder. Give the folder "
                "that holds one sub-folder of images per class (or train/ and test/ ones)."
            )
    else:
        info(name)  # an UnknownNameError suggesting close names


def reopen_run(
    run_ref: str,
    device: str | None,
    runs_dir: Path | None,
    console: Any,
    speed: Speed,
    *,
    indexed: bool = True,
) -> tuple[Experiment, ExperimentConfig, Context]:
    """The experiment, settings and context of an interrupted or failed run, not yet resumed
    (`indexed` as for `Run.open`)."""
    run = _on_rank_zero(lambda: Run.open(run_ref, runs_dir or default_runs_dir(), indexed))
    experiment = EXPERIMENTS.get(run.experiment)
    scale = json.loads((run.path / "run.json").read_text())["scale"]
    try:
        cfg = resolve(experiment.config, "full", None, run.config)
    except ConfigError as exc:
        raise ConfigError(
            f"run {run.id} was made with settings this version of nnlab does not accept "
            f"({exc}); start a new run instead."
        ) from None
    ctx = Context(
        run,
        device=resolve_device(device),
        seed=cfg.seed,
        scale=scale,
        console=console,
        speed=speed,
    )
    return experiment, cfg, ctx


def execute(experiment: Experiment, cfg: ExperimentConfig, ctx: Context) -> Context | None:
    """Do a created run's work; it ends done, failed (re-raised) or interrupted (re-raised).

    Over several processes every rank runs the experiment, its fits spread over all of them;
    an experiment that trains no torch model runs on rank 0 alone (the others return None).
    """
    ranks = world()
    if ranks.distributed and not experiment.distributed:
        leave()  # rank 0 goes on as a single process; the others have nothing to do
        if not ranks.is_main:
            return None
        ctx.notice(
            f"{experiment.id} trains no torch model through fit (NumPy / scikit-learn work), "
            f"so it ran on rank 0 alone; the other {ranks.size - 1} process(es) idled."
        )
    elif ranks.distributed:
        ctx.run.fact(
            "processes",
            {
                "count": ranks.size,
                "backend": torch.distributed.get_backend(),
                "batchnorm": "synchronised (SyncBatchNorm)" if ctx.speed.sync_bn else "per rank",
            },
        )
    run, scale = ctx.run, ctx.scale
    changes = _changes_from_study(experiment, cfg)
    if changes and scale != "full":
        ctx.notice(
            f"This is a {scale}-scale run, not the study's setting: {changes}. "
            f"Its numbers are not the full study's."
        )
    elif changes:
        ctx.notice(f"Settings changed from the study's: {changes}.")
    try:
        experiment.run(cfg, ctx)
        if ctx.verdict_given is None:
            raise NnlabError(
                f"experiment {experiment.id} ended without its verdict: its run(cfg, ctx) must "
                "call ctx.verdict(held, sentence, ...) once (see experiments/_template.py)."
            )
        run.finish("done")
    except KeyboardInterrupt:
        run.finish("interrupted", "stopped by the user (Ctrl-C)")
        ctx.say(f"Run {run.id} interrupted: `nnlab run --resume {run.id}` continues it.")
        raise
    except BaseException as exc:
        full = _disk_full(exc)
        if full is None:
            run.finish("failed", f"{type(exc).__name__}: {exc}")
            raise
        error = NnlabError(
            f"cannot write {full.filename or f'a file of run {run.path}'}: the disk is full "
            f"({full.strerror}). Free some space or choose another runs folder with --out; "
            f"`nnlab run --resume {run.id}` then continues this run."
        )
        run.abandon(str(error))
        raise error from exc
    return ctx


#: errno values of a write refused for want of space: full disk, over quota, over a size limit
_NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def _disk_full(exc: BaseException | None) -> OSError | None:
    """The out-of-space OSError that `exc` is or was raised from (a library may wrap it)."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _changes_from_study(experiment: Experiment, cfg) -> str:
    """ "epochs=8 (study: 20), width=0.5 (study: 1.0)": the settings that differ from full scale."""
    study = experiment.config()
    changed = [
        f"{f.name}={getattr(cfg, f.name)!r} (study: {getattr(study, f.name)!r})"
        for f in fields(cfg)
        if f.name != "seed" and getattr(cfg, f.name) != getattr(study, f.name)
    ]
    return ", ".join(changed)


def describe_device(device: torch.device) -> str:
    """A human description: "cpu (2 threads)" or "cuda:0 (NVIDIA H100 80GB HBM3, 79 GiB)"."""
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        return f"{device} ({props.name}, {props.total_memory / 2**30:.0f} GiB)"
    threads = torch.get_num_threads()
    return f"{device} ({threads} thread{'s' * (threads != 1)}, torch {torch.__version__})"
