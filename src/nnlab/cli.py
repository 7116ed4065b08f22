"""The `nnlab` command: a table of subcommands, one small function each.

A command is a `Command` in `COMMANDS`: its words (("data", "fetch")), a help line, a function
that adds its arguments, and the function that runs it. `main` turns every `NnlabError` into a
one-line `nnlab: error: ...` and exit status 2; anything else is a bug and keeps its traceback.
Importing this module stays light: torch-heavy modules are imported inside the commands.
"""

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from nnlab import __version__
from nnlab.errors import ConfigError, CorruptFileError, MissingDataError, NnlabError

# ---- the command table


@dataclass(frozen=True)
class Command:
    """One `nnlab` subcommand.

    Parameters
    ----------
    words : tuple of str
        The words that name it, e.g. ("data", "fetch").
    help : str
        One line for `--help`.
    run : callable
        `run(args) -> int`, the exit status.
    arguments : callable, optional
        `arguments(parser)` adds the command's own arguments.
    """

    words: tuple[str, ...]
    help: str
    run: Callable[[argparse.Namespace], int]
    arguments: Callable[[argparse.ArgumentParser], None] | None = None


#: help lines of the words that group commands (`nnlab data ...`)
GROUPS: dict[tuple[str, ...], str] = {
    ("data",): "datasets: list them, verify their files, download them",
}


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are `ConfigError`s, printed like every other error."""

    def error(self, message: str):
        raise ConfigError(f"{message} (see `{self.prog} --help`)")


def build_parser(commands: list[Command]) -> argparse.ArgumentParser:
    """The argument parser for a command table: nested subcommands, one leaf per command."""
    root = _Parser(
        prog="nnlab",
        description="Reproduce classic deep-learning studies on image classification.",
    )
    root.add_argument("--version", action="version", version=f"nnlab {__version__}")
    parsers: dict[tuple[str, ...], argparse.ArgumentParser] = {(): root}
    groups: dict[tuple[str, ...], argparse._SubParsersAction] = {}
    for cmd in commands:
        for depth in range(1, len(cmd.words) + 1):
            words = cmd.words[:depth]
            if words in parsers:
                continue
            parent = words[:-1]
            if parent not in groups:
                groups[parent] = parsers[parent].add_subparsers(
                    dest=f"_word{depth}", metavar="COMMAND", required=True
                )
            is_leaf = depth == len(cmd.words)
            text = cmd.help if is_leaf else GROUPS.get(words, "")
            parsers[words] = groups[parent].add_parser(words[-1], help=text, description=text)
        leaf = parsers[cmd.words]
        if cmd.arguments is not None:
            cmd.arguments(leaf)
        leaf.set_defaults(run=cmd.run)
    return root


def main(argv: list[str] | None = None) -> int:
    """Run `nnlab` with `argv` (default `sys.argv[1:]`); returns the exit status.

    0: success; 2: an `NnlabError` (a usage error, missing or corrupt data, ...), printed as
    `nnlab: error: <message>`; 130: interrupted. Other exceptions propagate with their traceback.
    """
    parser = build_parser(COMMANDS)
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help and --version print, then exit 0
            return int(exc.code or 0)
        args.argv = list(sys.argv[1:] if argv is None else argv)
        return args.run(args)
    except NnlabError as exc:
        print(f"nnlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nnlab: interrupted", file=sys.stderr)
        return 130


# ---- output helpers


def _console(stderr: bool = False):
    """A rich Console; off a terminal it is wide enough that table rows stay one line each."""
    from rich.console import Console

    console = Console(stderr=stderr, markup=False, highlight=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, markup=False, highlight=False, width=200)
    return console


def _table(*columns: str):
    from rich.table import Table

    table = Table()
    for col in columns:
        # names stay whole; a long check text (a full sha256) folds rather than being cut short
        table.add_column(
            col,
            no_wrap=col in {"name", "dataset", "file"},
            overflow="fold" if col == "check" else "ellipsis",
        )
    return table


def _styled(text: str, style: str):
    from rich.text import Text

    return Text(text, style=style)


@contextlib.contextmanager
def _download_bars() -> Iterator[Callable[[str, int, int | None], None] | None]:
    """A progress callback drawing rich bars on stderr, or None when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    columns += (TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=_console(stderr=True)) as bars:
        tasks: dict[str, int] = {}

        def update(label: str, done: int, total: int | None) -> None:
            if label not in tasks:
                tasks[label] = bars.add_task(label, total=total)
            bars.update(tasks[label], completed=done)

        yield update


# ---- nnlab data ...

#: how each status of `data list` and `data verify` is coloured on a terminal
_STATUS_STYLE = {
    "present": "green",
    "partial": "yellow",
    "embedded": "cyan",
    "missing": "yellow",
    "ok": "green",
    "absent": "dim",
    "unverified": "yellow",
    "MISMATCH": "bold red",
}
_VERIFY_STATUSES = ("ok", "unverified", "MISMATCH", "absent")


def _root_line(root: Path) -> str:
    origin = "from NNLAB_DATA" if os.environ.get("NNLAB_DATA") else "the default"
    return f"Data root: {root} ({origin}; set NNLAB_DATA to use another folder)"


def _presence(spec, root: Path) -> str:
    """A dataset's status for `data list`: embedded, present, missing or "partial (SPLITS)".

    "partial" names the splits whose files are there, when only some are (e.g. nist26's valid).
    """
    if spec.embedded:
        return "embedded"
    have = spec.present_splits(root)
    if not have:
        return "missing"
    return "present" if have == spec.splits else f"partial ({', '.join(have)})"


def _data_list(args: argparse.Namespace) -> int:
    from nnlab import data

    root = data.data_root()
    console = _console()
    console.print(_root_line(root))
    table = _table("name", "classes", "image", "splits", "status", "where", "description")
    specs = sorted((data.info(n) for n in data.names()), key=lambda s: (s.embedded, s.name))
    for spec in specs:
        status = _presence(spec, root)
        table.add_row(
            spec.name,
            str(len(spec.classes)),
            "×".join(map(str, spec.image_shape)),
            ", ".join(spec.splits),
            _styled(status, _STATUS_STYLE[status.split()[0]]),
            spec.where,
            spec.description,
        )
    console.print(table)
    from nnlab.data.loaders.ocr_photos import FOLDER, ocr_photo_files

    photos = ocr_photo_files(root)
    console.print(
        f"{FOLDER}: {len(photos)} photo(s) of written text in {FOLDER}/ (for the ocr experiment)"
        if photos
        else f"{FOLDER}: missing (photos of written text, each with a same-named .txt)"
    )
    console.print("Get a missing dataset with `nnlab data fetch NAME`.")
    return 0


def _verify_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help="datasets to check (default: all pinned)"
    )


def _data_verify(args: argparse.Namespace) -> int:
    from nnlab.data import data_root
    from nnlab.data.checksums import verify

    root = data_root()
    results = verify(args.names or None, root)  # unknown names first: that error says more
    if not root.is_dir():
        origin = "set by NNLAB_DATA" if os.environ.get("NNLAB_DATA") else "the default"
        raise MissingDataError(
            f"the data folder {root} ({origin}) does not exist, so there is nothing to verify. "
            f"Set NNLAB_DATA to the folder that holds the datasets (mnist/, cifar10/, ...), or "
            f"download into it with `nnlab data fetch NAME`."
        )
    console = _console()
    console.print(_root_line(root))
    table = _table("dataset", "file", "status", "checksum")
    for r in results:
        digest = f"{r.algorithm} {r.digest[:16]}…" if r.digest else ""
        table.add_row(r.dataset, r.path, _styled(r.status, _STATUS_STYLE[r.status]), digest)
    console.print(table)
    counts = {s: sum(r.status == s for r in results) for s in _VERIFY_STATUSES}
    console.print(", ".join(f"{n} {s}" for s, n in counts.items() if n))
    if counts["unverified"]:
        console.print(
            "unverified: the file differs from the shared data's repacked copy of the same name; "
            "it may be the publisher's own file, which has no published checksum to check."
        )
    bad = [r for r in results if r.status == "MISMATCH"]
    if bad:
        fix = ", ".join(f"`nnlab data fetch {d}`" for d in dict.fromkeys(r.dataset for r in bad))
        raise CorruptFileError(
            f"{len(bad)} file(s) under {root} differ from their pinned checksums: "
            f"{', '.join(r.path for r in bad)}. Get them again: {fix}, or copy them by hand."
        )
    return 0


def _fetch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="dataset to download (`nnlab data list`)")
    parser.add_argument(
        "--force", action="store_true", help="download again even when the files verify"
    )


def _data_fetch(args: argparse.Namespace) -> int:
    from nnlab.data import data_root, info
    from nnlab.data.fetch import fetch

    console = _console()
    with _download_bars() as progress:
        results = fetch(args.name, force=args.force, progress=progress)
    if not results and info(args.name).embedded:
        console.print(f"{args.name} is built into nnlab: it needs no download.")
        return 0
    root = data_root()
    console.print(_root_line(root))
    table = _table("file", "action", "check")
    for r in results:
        table.add_row(r.path.relative_to(root).as_posix(), r.action, r.check)
    console.print(table)
    return 0


# ---- nnlab list / run / runs / report


def _list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "experiment", nargs="?", metavar="ID", help="show this experiment's settings and scales"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the experiments (or one, with its settings) as JSON, for scripts",
    )


def _list(args: argparse.Namespace) -> int:
    from nnlab.experiments import EXPERIMENTS
    from nnlab.experiments.catalog import in_catalogue_order

    console = _console()
    if args.json:
        chosen = [EXPERIMENTS.get(args.experiment)] if args.experiment else in_catalogue_order()
        described = [_describe(e, settings=bool(args.experiment)) for e in chosen]
        print(json.dumps(described[0] if args.experiment else described, indent=2))
        return 0
    if args.experiment:
        _show_settings(console, EXPERIMENTS.get(args.experiment))
        return 0
    table = _table("name", "study", "what it tests")
    for exp in in_catalogue_order():
        table.add_row(exp.id, exp.study_title, exp.summary)
    console.print(table)
    console.print("`nnlab list ID` shows an experiment's settings; `nnlab run ID` runs it.")
    return 0


def _describe(experiment, settings: bool) -> dict:
    """An experiment as `nnlab list --json` prints it (with its settings per scale for one)."""
    from nnlab.experiments.config import describe_fields

    out = {
        "id": experiment.id,
        "title": experiment.title,
        "summary": experiment.summary,
        "study": experiment.study_title,
        "claim": experiment.claim,
    }
    if settings:
        out["settings"] = [
            {
                "name": name,
                "type": kind,
                "full": default,
                **{s: experiment.scales.get(s, {}).get(name, default) for s in ("quick", "smoke")},
            }
            for name, kind, default in describe_fields(experiment.config)
        ]
    return out


def _show_settings(console, experiment) -> None:
    from nnlab.experiments.config import describe_fields

    console.print(f"{experiment.id}: {experiment.title}")
    console.print(experiment.description)
    if experiment.claim:
        console.print(f"Claim: {experiment.claim}")
    table = _table("setting", "type", "full", "quick", "smoke")
    for name, kind, default in describe_fields(experiment.config):
        scaled = [experiment.scales.get(s, {}).get(name, default) for s in ("quick", "smoke")]
        table.add_row(name, kind, *(repr(v) for v in (default, *scaled)))
    console.print(table)
    console.print(f"Change one with `nnlab run {experiment.id} --set NAME=VALUE`.")


def _models(args: argparse.Namespace) -> int:
    import inspect

    from nnlab.models import MODELS

    console = _console()
    table = _table("model", "what it is")
    for name in MODELS:
        summary = (inspect.getdoc(MODELS.get(name)) or "").split("\n")[0]
        table.add_row(name, summary)
    console.print(table)
    console.print("Experiments name these in settings such as `--set model=NAME`.")
    return 0


def _runs_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="folder of run folders and index.sqlite (default: $NNLAB_RUNS or ./runs)",
    )


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("experiment", nargs="?", metavar="ID", help="experiment (`nnlab list`)")
    parser.add_argument(
        "--all",
        action="store_true",
        help="run every experiment in the catalogue's order and write one page linking them",
    )
    parser.add_argument(
        "--scale",
        choices=("smoke", "quick", "full"),
        help="smoke: seconds; quick: minutes on a laptop CPU (default); full: the study's setting",
    )
    parser.add_argument("--dataset", metavar="NAME", help="dataset to use (`nnlab data list`)")
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change one setting (repeatable); `nnlab list ID` lists them",
    )
    parser.add_argument(
        "--config",
        dest="settings_file",
        metavar="FILE",
        help="settings from a TOML or JSON file (name = value per line), applied before --set; "
        "a run's config.json repeats that run",
    )
    parser.add_argument("--seed", metavar="N", help="seed of the whole run (default 0)")
    parser.add_argument("--device", metavar="DEV", help="cpu, cuda or cuda:N (default: best)")
    parser.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16"),
        default="auto",
        help="auto (default): bf16 autocast (+ channels-last for conv nets) where the device "
        "computes bf16 natively (CUDA; a CPU with AMX or AVX512-BF16), float32 elsewhere",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        default=None,
        help="train through torch.compile (default: on CUDA for long fits, never on the CPU, "
        "where it measured slower)",
    )
    parser.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        help="torch and BLAS threads of this run, or of each run of a study (default: torch's, "
        "one per core; a study's workers: cores // N each)",
    )
    parser.add_argument(
        "--nproc",
        type=_positive_int,
        metavar="N",
        help="train over N processes on this machine (torchrun, DistributedDataParallel: one "
        "GPU each, or gloo on the CPU); under torchrun itself, leave it out",
    )
    parser.add_argument(
        "--sync-bn",
        action="store_true",
        help="over several processes, BatchNorm over the whole batch (SyncBatchNorm, CUDA "
        "only); default: each rank's part",
    )
    parser.add_argument(
        "--tensorboard",
        action="store_true",
        help="also write TensorBoard event files under each run folder (needs nnlab[tensorboard]"
        "; NNLAB_TENSORBOARD=1 does the same); then `tensorboard --logdir runs`",
    )
    parser.add_argument(
        "--resume",
        metavar="RUN",
        help="continue an interrupted run or study (id or path); with --all, a book (its "
        "page's name)",
    )
    _runs_dir_argument(parser)
    study = parser.add_argument_group(
        "studies", "many ordinary runs, one study folder with mean, std and 95% intervals"
    )
    study.add_argument(
        "--seeds",
        metavar="N|LIST",
        help="run each setting with these seeds: 5 (= 0-4), 0,3,7 or 10-14",
    )
    study.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="KEY=V1,V2",
        help="run each of these values of a setting (repeatable: the cross product); "
        "values split on ';' instead when one holds a comma",
    )
    study.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="local engine: runs at once, in N spawned processes of cores // N threads each "
        "(default 1: one after another, in this process)",
    )
    study.add_argument(
        "--engine",
        choices=("local", "ray"),
        help="where a study's runs go: local (default) or ray, the Ray cluster at "
        "$RAY_ADDRESS or a local instance (needs nnlab[ray]); RAY_ADDRESS set means ray",
    )
    study.add_argument(
        "--cpus-per-run",
        type=_positive_float,
        metavar="N",
        help="ray: CPUs reserved (and threads used) per run (default 1)",
    )
    study.add_argument(
        "--gpus-per-run",
        type=_nonnegative_float,
        metavar="F",
        help="ray: GPUs reserved per run; a fraction (0.25) lets several runs share a card",
    )


def _positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _positive_float(text: str) -> float:
    """An argparse type: a number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def _nonnegative_float(text: str) -> float:
    """An argparse type: a number >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {text!r}")
    return value


def _speed(args: argparse.Namespace):
    """The `Speed` that --precision, --compile and --sync-bn ask for."""
    from nnlab.train import Speed

    return Speed(precision=args.precision, compile=args.compile, sync_bn=args.sync_bn)


def _run(args: argparse.Namespace) -> int:
    from nnlab.train import thread_limit
    from nnlab.train.distributed import join, launched_by_torchrun, leave

    if (args.nproc or launched_by_torchrun()) and (args.seeds or args.grid):
        raise ConfigError(
            "a study does not run under torchrun / --nproc; its runs go to --workers or "
            "--engine ray."
        )
    if args.nproc and not launched_by_torchrun():
        return _torchrun(args)
    if launched_by_torchrun() and args.all:
        raise ConfigError(
            "--all does not run under torchrun / --nproc; run the experiments one by one "
            "(`nnlab run ID --nproc N`)."
        )
    if args.tensorboard:
        from nnlab.train import TensorBoardLog

        TensorBoardLog.check_installed()
        os.environ["NNLAB_TENSORBOARD"] = "1"  # read by every run's Context, book runs too
    ranks = join(args.device)
    try:
        with thread_limit(args.threads):
            return _run_limited(args, quiet=not ranks.is_main)
    finally:
        leave()


def _torchrun(args: argparse.Namespace) -> int:
    """`nnlab run ... --nproc N`: the same command again under torchrun, N processes here."""
    import subprocess

    argv, value_next = [], False
    for arg in args.argv:  # the command without its --nproc N
        if not value_next and arg != "--nproc" and not arg.startswith("--nproc="):
            argv.append(arg)
        value_next = arg == "--nproc"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={args.nproc}", "-m", "nnlab", *argv]  # fmt: skip
    return subprocess.run(command).returncode


def _run_limited(args: argparse.Namespace, quiet: bool) -> int:
    """`nnlab run`, within the --threads limit; `quiet` on ranks other than 0 of torchrun."""
    from nnlab.experiments import parse_assignments, resume_experiment, run_experiment

    progress = None if quiet else _console(stderr=True)
    studying = bool(args.seeds or args.grid)
    if (args.workers or args.engine) and not (studying or args.resume or args.all):
        raise ConfigError(
            "--workers and --engine run the runs of a study; give --seeds N and/or --grid "
            "KEY=V1,V2 (or --resume STUDY)."
        )
    if args.all:
        return _run_all(args, progress)
    from nnlab.experiments import default_runs_dir
    from nnlab.experiments.study import is_study

    if studying or (args.resume and is_study(args.resume, args.out or default_runs_dir())):
        return _run_study(args, progress)
    try:
        if args.resume:
            given = (args.experiment, args.settings, args.dataset, args.seed, args.scale)
            if any(given) or args.settings_file:
                raise ConfigError(
                    "--resume continues a run with its own settings; give only the run "
                    "(and optionally --device / --out)."
                )
            ctx = resume_experiment(
                args.resume,
                device=args.device,
                runs_dir=args.out,
                console=progress,
                speed=_speed(args),
            )
        elif not args.experiment:
            raise ConfigError("name an experiment (`nnlab list`), or --resume RUN.")
        else:
            overrides = parse_assignments(args.settings)
            for key, value in (("dataset", args.dataset), ("seed", args.seed)):
                if value is not None:
                    overrides[key] = value
            ctx = run_experiment(
                args.experiment,
                scale=args.scale or "quick",
                overrides=overrides,
                device=args.device,
                runs_dir=args.out,
                console=progress,
                speed=_speed(args),
                settings_file=args.settings_file,
            )
    except KeyboardInterrupt:
        print("nnlab: interrupted", file=sys.stderr)
        return 130
    if quiet or ctx is None:
        return 0
    console = _console()
    for title, rows in ctx.tables:
        console.print(_result_table(title, rows))
    console.print(f"Report: {ctx.run.path / 'report.html'}")
    return 0


def _engine(args: argparse.Namespace):
    """The `EngineChoice` of --engine, --workers, --cpus-per-run and --gpus-per-run."""
    from nnlab.experiments.study import EngineChoice

    name = args.engine or ("ray" if os.environ.get("RAY_ADDRESS") else "local")
    if name == "ray" and args.workers:
        raise ConfigError(
            "--workers is the local engine's; on Ray, --cpus-per-run / --gpus-per-run decide "
            "how many runs go at once."
        )
    if name == "local" and (args.cpus_per_run is not None or args.gpus_per_run is not None):
        raise ConfigError(
            "--cpus-per-run and --gpus-per-run reserve Ray resources; add --engine ray, or use "
            "--workers N (and --threads) on this machine."
        )
    return EngineChoice(
        name=name,
        workers=args.workers or 1,
        cpus=args.cpus_per_run or 1.0,
        gpus=args.gpus_per_run or 0.0,
        threads=args.threads,
    )


def _run_study(args: argparse.Namespace, progress) -> int:
    """`nnlab run ID --seeds N --grid K=V,...` (or --resume STUDY): the exit status is the
    number of runs that did not end done (at most 125), 130 on Ctrl-C."""
    from nnlab.experiments import parse_assignments
    from nnlab.experiments.runner import settings_from
    from nnlab.experiments.study import parse_grid, parse_seeds, resume_study, run_study

    where = {
        "engine": _engine(args),
        "device": args.device,
        "runs_dir": args.out,
        "console": progress,
        "speed": _speed(args),
    }
    try:
        if args.resume:
            given = (args.experiment, args.settings, args.dataset, args.seed, args.scale)
            if any(given) or args.settings_file or args.seeds or args.grid:
                raise ConfigError(
                    "--resume STUDY continues a study with its own settings, seeds and grid; "
                    "give only the study (and optionally --workers / --engine / --device / "
                    "--out)."
                )
            outcome = resume_study(args.resume, **where)
        else:
            if not args.experiment:
                raise ConfigError("name the experiment of the study (`nnlab list`).")
            overrides = parse_assignments(args.settings)
            if args.dataset is not None:
                overrides["dataset"] = args.dataset
            if args.seed is not None:
                raise ConfigError("--seed is one run's; a study's seeds are --seeds (e.g. 0,3,7).")
            outcome = run_study(
                args.experiment,
                scale=args.scale or "quick",
                overrides=overrides,
                file=settings_from(args.settings_file) if args.settings_file else None,
                seeds=parse_seeds(args.seeds) if args.seeds else [0],
                grid=parse_grid(args.grid),
                **where,
            )
    except KeyboardInterrupt:
        print("nnlab: interrupted", file=sys.stderr)
        return 130
    console = _console()
    for title, rows in outcome.tables:
        console.print(_result_table(title, rows))
    total = len(outcome.state["cells"])
    if outcome.failed:
        console.print(
            f"{outcome.failed} of {total} runs did not finish; `nnlab run --resume "
            f"{outcome.path.name}` runs them again."
        )
    console.print(f"Study: {outcome.path / 'report.html'}")
    return min(outcome.failed, 125)


def _run_all(args: argparse.Namespace, progress) -> int:
    """`nnlab run --all`: the whole book; exit status 1 when an experiment did not finish."""
    from nnlab.experiments.book import resume_book, run_all
    from nnlab.experiments.study import parse_seeds
    from nnlab.runs import RunIndex

    if args.experiment or args.settings or args.dataset or args.settings_file or args.grid:
        raise ConfigError(
            "--all runs every experiment with its own settings at one --scale; give no ID, "
            "--set, --config, --grid or --dataset with it (only --scale, --seed or --seeds, "
            "--device, --out, --workers / --engine, or --resume BOOK)."
        )
    if args.resume and (args.scale or args.seed is not None or args.seeds):
        raise ConfigError(
            "--all --resume BOOK finishes a book at its own scale and seeds; give no --scale, "
            "--seed or --seeds with it."
        )
    if args.seed is not None and args.seeds:
        raise ConfigError("--seed and --seeds both given; a book over seeds takes --seeds.")
    where = {
        "device": args.device,
        "runs_dir": args.out,
        "console": progress,
        "speed": _speed(args),
        "engine": _engine(args),
    }
    if args.resume:
        page, entries = resume_book(args.resume, **where)
    else:
        seed = None if args.seed is None else {"seed": args.seed}
        seeds = parse_seeds(args.seeds) if args.seeds else None
        page, entries = run_all(args.scale or "quick", overrides=seed, seeds=seeds, **where)
    index = RunIndex(page.parent / "index.sqlite")
    table = _table("experiment", "status", "duration", "name")
    unfinished = 0
    for entry in entries:
        record = index.get(entry.run_id) if entry.run_id else None
        if entry.row is not None:  # a study
            status, duration = entry.row["status"], entry.row["duration"]
            name = f"{entry.row['href'].split('/')[0]} (claim {entry.row['verdict']})"
        else:
            status = record.status if record else "failed"
            duration = _duration(record) if record else ""
            name = entry.run_id or entry.error
        unfinished += status != "done"
        table.add_row(entry.label, _styled(status, _RUN_STYLE[status]), duration, name)
    console = _console()
    console.print(table)
    console.print(f"Book: {page}")
    return 1 if unfinished else 0


def _result_table(title: str, rows: list[dict]):
    """A run's result table for the terminal, numbers as the report shows them."""
    from rich.table import Table

    from nnlab.runs.report import format_value
    from nnlab.runs.tables import is_number

    table = Table(title=title)
    columns = list(dict.fromkeys(k for row in rows for k in row))
    for col in columns:
        table.add_column(col, justify="right" if is_number(rows[0].get(col)) else "left")
    for row in rows:
        table.add_row(*(format_value(row.get(col)) for col in columns))
    return table


def _runs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--experiment", metavar="ID", help="only the runs of this experiment")
    _runs_dir_argument(parser)


def _runs(args: argparse.Namespace) -> int:
    from nnlab.experiments import default_runs_dir
    from nnlab.runs import RunIndex
    from nnlab.runs.study import study_rows

    runs_dir = args.out or default_runs_dir()
    console = _console()
    records = RunIndex(runs_dir / "index.sqlite").runs(args.experiment) if runs_dir.is_dir() else []
    if not records:
        console.print(f"No runs recorded in {runs_dir}. Start one with `nnlab run ID`.")
        return 0
    table = _table("name", "experiment", "status", "started", "duration")
    for r in records:
        status = _styled(r.status, _RUN_STYLE.get(r.status, ""))
        table.add_row(r.id, r.experiment, status, _local_time(r.started), _duration(r))
    console.print(table)
    studies = [r for r in study_rows(runs_dir) if args.experiment in (None, r["experiment"])]
    if studies:
        table = _table("study", "experiment", "status", "claim", "run time")
        for row in studies:
            status = _styled(row["status"], _RUN_STYLE.get(row["status"], ""))
            table.add_row(row["id"], row["experiment"], status, row["verdict"], row["duration"])
        console.print(table)
    console.print(f"Reports: {runs_dir}/<name>/report.html; `nnlab report` writes an index.")
    return 0


def _local_time(iso: str) -> str:
    """ "2026-11-22T02:33:02+00:00" -> "2026-11-22 02:33:02"."""
    return iso[:19].replace("T", " ")


def _duration(record) -> str:
    """How long a run ran (a resumed run: its sessions, not the gaps); empty until it ends."""
    from nnlab.runs.report import format_duration, run_seconds

    return format_duration(run_seconds(record)) if record.ended else ""


#: how each run status of `nnlab runs` is coloured on a terminal
_RUN_STYLE = {"done": "green", "running": "cyan", "failed": "bold red", "interrupted": "yellow"}


def _report(args: argparse.Namespace) -> int:
    from nnlab.experiments import default_runs_dir
    from nnlab.runs import write_index_html

    runs_dir = args.out or default_runs_dir()
    if not runs_dir.is_dir():
        raise MissingDataError(
            f"no runs folder at {runs_dir}; run an experiment first (`nnlab run ID`) or give "
            f"--out DIR."
        )
    from nnlab.runs.study import study_rows

    _console().print(f"Index of runs: {write_index_html(runs_dir, study_rows(runs_dir))}")
    return 0


def _compare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "refs",
        nargs="+",
        metavar="RUN",
        help="runs (ids or folders) and studies (names or folders); two or more columns in all, "
        "a study over a grid giving one per setting",
    )
    _runs_dir_argument(parser)


def _compare(args: argparse.Namespace) -> int:
    from nnlab.experiments import default_runs_dir
    from nnlab.runs.compare import write_comparison

    page = write_comparison(args.refs, args.out or default_runs_dir())
    _console().print(f"Comparison: {page}")
    return 0


COMMANDS: list[Command] = [
    Command(
        ("list",),
        "list the experiments, what each tests and the study it comes from",
        _list,
        _list_arguments,
    ),
    Command(("models",), "list the model architectures nnlab can build by name", _models),
    Command(("run",), "run an experiment into a run folder with its report", _run, _run_arguments),
    Command(("runs",), "list the recorded runs and their status", _runs, _runs_arguments),
    Command(
        ("compare",),
        "put runs and studies side by side on one page: differing settings, metrics, curves",
        _compare,
        _compare_arguments,
    ),
    Command(
        ("report",),
        "write runs/index.html, linking every run's report",
        _report,
        _runs_dir_argument,
    ),
    Command(
        ("data", "list"),
        "list the datasets, whether their files are present, and where they go",
        _data_list,
    ),
    Command(
        ("data", "verify"),
        "check the dataset files against their pinned checksums",
        _data_verify,
        _verify_arguments,
    ),
    Command(
        ("data", "fetch"),
        "download a dataset from its publisher, checking its checksum",
        _data_fetch,
        _fetch_arguments,
    ),
]
