"""Where a study's cells run: this process, local worker processes, or a Ray cluster.

Each engine turns a `CellSpec` into a `concurrent.futures.Future` of its `CellResult`, and says
how many cells it runs at once (`slots`), so the driver hands it a cell whenever one is free.
"""

import concurrent.futures
import multiprocessing
import os
from concurrent.futures.process import BrokenProcessPool

from nnlab.errors import ConfigError, NnlabError
from nnlab.experiments.study.cell import CellSpec, run_cell

#: how often a cell is tried again when its worker process is lost (killed, out of memory)
RETRIES = 3


def usable_cores() -> int:
    """The cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class InProcessEngine:
    """One cell after another in this process (`--workers 1`): a run's own progress is shown."""

    name = "in-process"
    slots = 1
    lost_worker_errors: tuple[type[BaseException], ...] = ()

    def __init__(self, console=None):
        self.console = console

    def submit(self, spec: CellSpec) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(run_cell(spec, self.console))
        except Exception as exc:  # as a worker's would; Ctrl-C propagates to the driver
            future.set_exception(exc)
        return future

    def threads(self) -> int | None:
        """Threads per cell: None leaves the process's own setting."""
        return None

    def restart(self) -> None:
        """Nothing to restart."""

    def close(self) -> None:
        """Nothing to close."""


class LocalEngine:
    """`workers` spawned processes on this machine, each cell limited to cores // workers
    threads, so the workers together never oversubscribe the cores."""

    name = "local"
    lost_worker_errors = (BrokenProcessPool,)

    def __init__(self, workers: int):
        self.slots = workers
        self._pool = self._start()

    def _start(self) -> concurrent.futures.ProcessPoolExecutor:
        context = multiprocessing.get_context("spawn")  # no fork of a process holding threads
        return concurrent.futures.ProcessPoolExecutor(self.slots, mp_context=context)

    def threads(self) -> int | None:
        return max(1, usable_cores() // self.slots)

    def submit(self, spec: CellSpec) -> concurrent.futures.Future:
        return self._pool.submit(run_cell, spec)

    def restart(self) -> None:
        """A new pool after a worker was lost (the old one is broken for every cell)."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = self._start()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class RayEngine:
    """Each cell a Ray task on the cluster at `address` (or RAY_ADDRESS; a local instance when
    neither is given), with `cpus` and `gpus` (fractions allowed) reserved per cell. Ray tries a
    cell again when its worker is lost (`RETRIES` times); a cell's own error is not retried."""

    name = "ray"

    def __init__(self, address: str | None, cpus: float, gpus: float):
        try:
            import ray
        except ImportError:
            raise ConfigError(
                '--engine ray needs Ray: pip install "nnlab[ray]" (and the same on every '
                "machine of the cluster)."
            ) from None
        if cpus <= 0 or gpus < 0:
            raise ConfigError("--cpus-per-run must be > 0 and --gpus-per-run >= 0.")
        self._ray = ray
        self._started_here = not ray.is_initialized()
        if self._started_here:
            address = address or os.environ.get("RAY_ADDRESS") or None
            try:
                ray.init(
                    address=address,
                    include_dashboard=False,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except ConnectionError as exc:
                raise NnlabError(
                    f"cannot reach the Ray cluster at {address}: {exc}. Start it (`ray start "
                    "--head` on the head node), or unset RAY_ADDRESS for a local instance."
                ) from None
        self.cpus, self.gpus = cpus, gpus
        self._task = ray.remote(
            num_cpus=cpus, num_gpus=gpus, max_retries=RETRIES, retry_exceptions=False
        )(run_cell)
        self.slots = self._slots(ray.cluster_resources())

    @property
    def lost_worker_errors(self) -> tuple[type[BaseException], ...]:
        return (self._ray.exceptions.RayError,)

    def _slots(self, resources: dict) -> int:
        """How many cells the cluster holds at once with their reservations."""
        slots = int(resources.get("CPU", 1) // self.cpus)
        if self.gpus > 0:
            if not resources.get("GPU"):
                raise ConfigError(
                    f"--gpus-per-run {self.gpus}: the Ray cluster has no GPU. Leave it out to "
                    "run on the CPUs."
                )
            slots = min(slots, int(resources["GPU"] // self.gpus))
        return max(1, slots)

    def threads(self) -> int | None:
        return max(1, int(self.cpus))

    def submit(self, spec: CellSpec) -> concurrent.futures.Future:
        return self._task.remote(spec).future()

    def restart(self) -> None:
        """Ray replaces lost workers itself."""

    def close(self) -> None:
        if self._started_here:
            self._ray.shutdown()


def make_engine(
    name: str,
    workers: int,
    console=None,
    *,
    address: str | None = None,
    cpus: float = 1.0,
    gpus: float = 0.0,
):
    """The engine `--engine` names ("local" or "ray"); local with 1 worker runs in-process."""
    if name == "ray":
        return RayEngine(address, cpus, gpus)
    if name != "local":
        raise ConfigError(f"--engine {name!r}: choose local or ray.")
    return InProcessEngine(console) if workers == 1 else LocalEngine(workers)
