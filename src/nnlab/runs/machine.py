"""What a run ran on: machine facts and the nnlab checkout's git revision, for the report.

Both are best effort: a fact that cannot be read is left out (or None), never an error, since a
missing CPU model must not stop an experiment.
"""

import os
import platform
import socket
import subprocess
from pathlib import Path


def machine_facts() -> dict:
    """Facts about this machine; never raises.

    Returns
    -------
    dict
        `platform`, `python`, `cpu` (model name), `cpu_count` (logical CPUs), `cpus_usable`
        (those this process may run on), `memory_gib` and `host`; a fact that could not be read
        is absent.
    """
    facts: dict = {}
    readers = {
        "platform": platform.platform,
        "python": lambda: f"{platform.python_implementation()} {platform.python_version()}",
        "cpu": _cpu_model,
        "cpu_count": os.cpu_count,
        "cpus_usable": lambda: len(os.sched_getaffinity(0)),
        "memory_gib": _memory_gib,
        "host": socket.gethostname,
    }
    for key, read in readers.items():
        try:
            value = read()
        except Exception:  # a fact we cannot read is simply not reported
            continue
        if value not in (None, ""):
            facts[key] = value
    return facts


def _cpu_model() -> str | None:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            # x86 says "model name"; some ARM kernels only give "Hardware" or "Processor"
            if key.strip() in {"model name", "Hardware", "Processor"} and value.strip():
                return value.strip()
    return platform.processor() or platform.machine() or None


def _memory_gib() -> float | None:
    """Total memory in GiB from /proc/meminfo (Linux), else None."""
    meminfo = Path("/proc/meminfo")
    if not meminfo.exists():
        return None
    for line in meminfo.read_text().splitlines():
        if line.startswith("MemTotal:"):
            kib = int(line.split()[1])
            return round(kib / 2**20, 1)
    return None


def git_revision(path: Path | None = None) -> str | None:
    """The short commit of the git checkout holding `path`, with "-dirty" if it has changes.

    Parameters
    ----------
    path : Path, optional
        A file or folder inside the checkout; defaults to the nnlab package's own folder.

    Returns
    -------
    str or None
        e.g. "a1b2c3d" or "a1b2c3d-dirty" (`git status --porcelain` lists something); None when
        `path` is not in a git checkout, git is missing, or git fails.
    """
    folder = Path(path) if path is not None else Path(__file__).resolve().parent
    if folder.is_file():
        folder = folder.parent
    rev = _git(folder, "rev-parse", "--short", "HEAD")
    if not rev:
        return None
    status = _git(folder, "status", "--porcelain")
    return f"{rev}-dirty" if status else rev


def _git(folder: Path, *args: str) -> str | None:
    """`git -C folder args...`'s stripped output, or None when it fails."""
    try:
        done = subprocess.run(
            ["git", "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
