"""The `nnlab` commands for experiments: list, run (its refusals), runs and report."""

import json

import pytest

from nnlab.cli import main
from nnlab.runs import Run, RunIndex


def _rows(out: str) -> dict[str, list[str]]:
    """Body rows of the rich table in `out`, keyed by their first cell."""
    rows = {}
    for line in out.splitlines():
        if line.startswith("│"):
            cells = [c.strip() for c in line.strip().strip("│").split("│")]
            rows.setdefault(cells[0], cells)
    return rows


def test_list_names_each_experiment_with_its_study(capsys):
    assert main(["list"]) == 0
    row = _rows(capsys.readouterr().out)["spatial-locality"]
    assert row[1].startswith("B. Classic analyses") and "permuted" in row[2]


def test_list_follows_the_catalogue_order(capsys):
    from nnlab.experiments.catalog import CATALOGUE_ORDER

    assert main(["list"]) == 0
    shown = list(_rows(capsys.readouterr().out))
    assert shown[0] == "scratch-mlp"
    known = [name for name in shown if name in CATALOGUE_ORDER]
    assert known == sorted(known, key=CATALOGUE_ORDER.index)


def test_models_lists_every_registered_architecture_with_its_summary(capsys):
    from nnlab.models import MODELS

    assert main(["models"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert set(MODELS) <= set(rows)
    assert rows["mlp"][1].startswith("Flatten, then Linear")


def test_list_of_one_experiment_shows_its_settings_per_scale(capsys):
    assert main(["list", "spatial-locality"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["epochs"][1:] == ["int > 0", "20", "8", "6"]
    assert rows["mlp_hidden"][1:] == ["Widths", "(512, 256)", "(512, 256)", "(512, 256)"]
    assert rows["dataset"][2:] == ["'notmnist'", "'notmnist'", "'glyphs'"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "spatial-locallity"], "Did you mean: spatial-locality"),
        (["run", "spatial-locality", "--set", "epoch=1"], "Did you mean epochs?"),
        (["run", "spatial-locality", "--set", "epochs=two"], "epochs expects an integer"),
        (["run", "spatial-locality", "--set", "epochs"], "expects key=value"),
        (["run", "spatial-locality", "--seed", "x"], "seed expects an integer"),
        (["run", "spatial-locality", "--device", "tpu"], "tpu"),
        (["run"], "name an experiment"),
        (["run", "spatial-locality", "--resume", "x"], "--resume continues a run"),
        (["run", "--resume", "x", "--scale", "smoke"], "--resume continues a run"),
        (["run", "--resume", "nope"], "nope"),
        (["run", "spatial-locality", "--precision", "fp16"], "invalid choice: 'fp16'"),
        (["run", "spatial-locality", "--threads", "0"], "at least 1, got '0'"),
    ],
)
def test_run_refuses_bad_settings_before_making_a_run(argv, expected, tmp_path, capsys):
    out = tmp_path / "runs"
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnlab: error: ") and expected in err
    assert not out.exists() or not [p for p in out.iterdir() if p.is_dir()]


def _recorded_run(runs_dir, experiment, status):
    run = Run.create(
        runs_dir,
        experiment,
        {"seed": 0},
        title=f"{experiment} title",
        description="d",
        scale="smoke",
        device="cpu",
    )
    run.table("accuracy", [{"model": "cnn", "test_acc": 0.5}])
    run.finish(status)
    return run


def test_runs_lists_recorded_runs_and_report_links_them(tmp_path, capsys):
    runs_dir = tmp_path / "runs"
    assert main(["runs", "--out", str(runs_dir)]) == 0
    assert "No runs recorded" in capsys.readouterr().out
    done = _recorded_run(runs_dir, "spatial-locality", "done")
    failed = _recorded_run(runs_dir, "other", "failed")
    assert main(["runs", "--out", str(runs_dir)]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows[done.id][1:3] == ["spatial-locality", "done"]
    assert rows[done.id][4].endswith(" s")  # a duration, the run has ended
    assert rows[failed.id][1:3] == ["other", "failed"]
    assert main(["runs", "--out", str(runs_dir), "--experiment", "other"]) == 0
    assert list(_rows(capsys.readouterr().out)) == [failed.id]
    assert main(["report", "--out", str(runs_dir)]) == 0
    assert str(runs_dir / "index.html") in capsys.readouterr().out
    html = (runs_dir / "index.html").read_text()
    assert f'href="{done.id}/report.html"' in html and failed.id in html


def test_report_without_runs_says_how_to_make_one(tmp_path, capsys):
    assert main(["report", "--out", str(tmp_path / "none")]) == 2
    assert "nnlab run ID" in capsys.readouterr().err


def _local_links(page):
    """The href/src targets of an HTML page that are files, not web addresses or anchors."""
    import re
    from urllib.parse import unquote

    links = re.findall(r'(?:href|src)="([^"#]+)"', page.read_text(encoding="utf-8"))
    return [unquote(link) for link in links if ":" not in link]


def test_a_moved_runs_folder_still_lists_and_links_its_runs(tmp_path, capsys):
    import shutil

    runs, moved = tmp_path / "runs", tmp_path / "elsewhere" / "moved"
    for experiment in ("pca-separability", "loss-convexity"):
        assert main(["run", experiment, "--scale", "smoke", "--out", str(runs)]) == 0
    shutil.move(runs, moved)
    capsys.readouterr()
    assert main(["runs", "--out", str(moved)]) == 0
    listed = _rows(capsys.readouterr().out)
    assert sum(name.endswith(("pca-separability", "loss-convexity")) for name in listed) == 2
    assert main(["report", "--out", str(moved)]) == 0
    links = _local_links(moved / "index.html")
    assert len(links) == 2
    for link in links:
        target = (moved / link).resolve()
        assert target.is_file() and target.is_relative_to(moved.resolve()), link


@pytest.mark.parametrize(
    ("dataset", "expected"),
    [("cifar100", "Did you mean: cifar10"), ("folder:/nonexistent", "is not a folder")],
)
def test_run_refuses_a_mistyped_dataset_before_making_a_run(dataset, expected, tmp_path, capsys):
    out = tmp_path / "runs"
    argv = ["run", "pca-separability", "--scale", "smoke", "--dataset", dataset, "--out", str(out)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnlab: error: ") and expected in err
    assert not out.exists() or not [p for p in out.iterdir() if p.is_dir()]
    assert not (out / "index.sqlite").exists() or not RunIndex(out / "index.sqlite").runs()


def test_a_full_disk_fails_the_run_cleanly(tmp_path):
    import resource
    import signal
    import subprocess
    import sys

    def small_files():  # writes over 100 kB raise OSError(EFBIG), as a full disk raises ENOSPC
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    runs = tmp_path / "runs"
    argv = ["-m", "nnlab", "run", "loss-convexity", "--scale", "smoke", "--out", str(runs)]
    proc = subprocess.run(
        [sys.executable, *argv], preexec_fn=small_files, capture_output=True, text=True
    )
    assert proc.returncode == 2, proc.stderr
    (error,) = [line for line in proc.stderr.splitlines() if line.startswith("nnlab: ")]
    assert "cannot write " in error and "the disk is full" in error and "--resume" in error
    assert "Traceback" not in proc.stderr
    (record,) = RunIndex(runs / "index.sqlite").runs()
    assert record.status == "failed"
    folder = runs / record.id
    assert str(folder) in error
    left = {p.name for p in folder.iterdir()}
    assert not left & {"report.md", "report.html", "metrics.json"}, left
    assert not [p for p in folder.rglob("*.tmp")]


def test_run_states_its_precision_and_threads(tmp_path, capsys):
    """--precision and --threads reach every fit: run.json and the report say what ran."""
    runs = tmp_path / "runs"
    argv = ["run", "mlp-lr-search", "--scale", "smoke", "--precision", "fp32", "--threads", "1"]
    assert main([*argv, "--out", str(runs)]) == 0
    (folder,) = [p for p in runs.iterdir() if p.is_dir()]
    info = json.loads((folder / "run.json").read_text())
    assert info["precision"]["policy"] == "fp32"
    fits = info["precision"]["fits"]
    assert fits and set(fits.values()) == {"fp32"}
    assert info["device"].startswith("cpu (1 thread,")
    report = (folder / "report.md").read_text()
    assert f"| Precision | fp32 for {', '.join(fits)} (--precision fp32) |" in report
