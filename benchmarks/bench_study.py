"""How fast a study's engines run its cells, against running the same runs one after another.

Four smoke runs (seeds 0-3) of one experiment, each contender into its own temporary runs
folder, each through the command line in a fresh process (its wall time, time.perf_counter
around the subprocess, includes Python's start, nnlab's imports and, for Ray, `ray.init`):

a. sequential: 4 separate `nnlab run ID --scale smoke --seed S` processes, one after another
   (what a user does without studies);
b. `nnlab run ID --scale smoke --seeds 4` (`--workers 1`: the cells in one process, in turn);
c. `--seeds 4 --workers 2` (2 spawned processes, cores // 2 threads each);
d. `--seeds 4 --engine ray` (a local Ray instance, 1 CPU and 1 thread per cell).

For each, the wall time, the sum of the runs' own run.json "seconds" (a run's time from its
start to its end, inside its worker) and the engine overhead per cell:

    overhead = (wall x slots - sum of run seconds) / cells

`slots` is how many cells the engine runs at once (study.json's engine.slots; 1 for a). Over the
wall time, the engine holds `slots` places for cells; what of that slot-time the runs themselves
did not use (start-up, imports, spawning workers, Ray, writing the study, and slots left idle)
is the engine's cost, shared out over the cells. A parallel engine whose runs slow each other
down (two runs sharing 2 cores) shows that as longer run seconds, not as overhead. Then the
speed-up of c and d over a and over b, and a check that every run's metrics (metrics.json less
the keys holding "seconds") are identical, seed for seed, across the contenders: a benchmark
comparing different work would be useless. Run by hand, never by the tests:

    NNLAB_DATA=/path/to/data python benchmarks/bench_study.py [--experiment mlp-lr-search]
        [--repeat 1]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nnlab.experiments.study.engines import usable_cores

SEEDS = 4
CONTENDERS = {
    "a. sequential, 4 processes": None,
    "b. --seeds 4 (--workers 1)": ["--workers", "1"],
    "c. --seeds 4 --workers 2": ["--workers", "2"],
    "d. --seeds 4 --engine ray": ["--engine", "ray"],
}


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown CPU"


def nnlab(*args: str) -> None:
    """Run `nnlab ARGS` in a fresh process; its output is kept back, shown only on failure."""
    done = subprocess.run(
        [sys.executable, "-m", "nnlab", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"nnlab {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def read_runs(out: Path, runs: list[str]) -> dict[int, tuple[float, dict]]:
    """Seed -> (run.json seconds, metrics less the keys holding "seconds") of these runs."""
    found = {}
    for name in runs:
        folder = out / name
        info = json.loads((folder / "run.json").read_text())
        if info["status"] != "done":
            sys.exit(f"{folder} ended {info['status']}: {info.get('error')}")
        seed = json.loads((folder / "config.json").read_text())["seed"]
        metrics = json.loads((folder / "metrics.json").read_text())
        found[seed] = (info["seconds"], {k: v for k, v in metrics.items() if "seconds" not in k})
    return found


def measure(experiment: str, engine_args: list[str] | None) -> dict:
    """One timed try of a contender: wall seconds, slots and each seed's run."""
    with tempfile.TemporaryDirectory(prefix="bench-study-") as tmp:
        out = Path(tmp)
        start = time.perf_counter()
        if engine_args is None:
            for seed in range(SEEDS):
                nnlab("run", experiment, "--scale", "smoke", "--seed", str(seed), "--out", tmp)
        else:
            base = ["run", experiment, "--scale", "smoke", "--seeds", str(SEEDS), "--out", tmp]
            nnlab(*base, *engine_args)
        wall = time.perf_counter() - start
        if engine_args is None:
            runs, slots = [p.parent.name for p in out.glob("*/run.json")], 1
        else:
            (study_json,) = out.glob("*-study/study.json")
            study = json.loads(study_json.read_text())
            runs, slots = [c["run"] for c in study["cells"]], study["engine"]["slots"]
        found = read_runs(out, runs)
    if sorted(found) != list(range(SEEDS)):
        sys.exit(f"expected seeds 0-{SEEDS - 1}, found {sorted(found)}")
    return {"wall": wall, "slots": slots, "runs": found}


def differences(reference: dict, other: dict) -> list[str]:
    """The metric keys whose values differ between two runs' metrics (or that only one has)."""
    keys = sorted(set(reference) | set(other))
    return [k for k in keys if reference.get(k, "(absent)") != other.get(k, "(absent)")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="mlp-lr-search")
    parser.add_argument("--repeat", type=int, default=1, help="best of N per contender")
    args = parser.parse_args()
    print(f"machine: {cpu_model()}, {usable_cores()} usable cores, Python {sys.version.split()[0]}")
    print(f"experiment {args.experiment}, scale smoke, seeds 0-{SEEDS - 1}, best of {args.repeat}")
    best: dict[str, dict] = {}
    tries: dict[str, list[dict]] = {}
    for _ in range(args.repeat):
        for name, engine_args in CONTENDERS.items():
            result = measure(args.experiment, engine_args)
            tries.setdefault(name, []).append(result)
            if name not in best or result["wall"] < best[name]["wall"]:
                best[name] = result
    seq = best["a. sequential, 4 processes"]["wall"]
    inproc = best["b. --seeds 4 (--workers 1)"]["wall"]
    header = f"{'contender':<28} {'wall s':>7} {'runs s':>7} {'slots':>5} {'overhead/cell s':>16}"
    print(f"\n{header} {'vs a':>6} {'vs b':>6}")
    for name, r in best.items():
        run_seconds = sum(seconds for seconds, _ in r["runs"].values())
        overhead = (r["wall"] * r["slots"] - run_seconds) / SEEDS
        print(
            f"{name:<28} {r['wall']:>7.2f} {run_seconds:>7.2f} {r['slots']:>5} {overhead:>16.2f}"
            f" {seq / r['wall']:>5.2f}x {inproc / r['wall']:>5.2f}x"
        )
    reference = tries["a. sequential, 4 processes"][0]["runs"]
    same = True
    for name, results in tries.items():
        for i, result in enumerate(results):
            for seed in range(SEEDS):
                diff = differences(reference[seed][1], result["runs"][seed][1])
                if diff:
                    same = False
                    shown = ", ".join(
                        f"{k} {reference[seed][1].get(k)} vs {result['runs'][seed][1].get(k)}"
                        for k in diff[:4]
                    )
                    more = f" (+{len(diff) - 4} more)" if len(diff) > 4 else ""
                    print(f"DIFFERS: {name} try {i + 1}, seed {seed}: {shown}{more}")
    verdict = "identical" if same else "NOT identical"
    print(f"\nmetrics (less *seconds*) of each seed across all contenders and tries: {verdict}")


if __name__ == "__main__":
    main()
