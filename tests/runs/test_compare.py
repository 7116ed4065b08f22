"""`nnlab compare`: runs and study settings side by side, on fake run and study folders."""

import csv
import json
from pathlib import Path

import pytest

from nnlab.cli import main
from nnlab.errors import ConfigError, UnknownNameError
from nnlab.runs.compare import differing_settings, metric_rows, read_columns, write_comparison

BASE = {"seed": 0, "dataset": "digits", "lr": 0.01, "epochs": 3, "hidden": [64, 32]}
HISTORY = ["step", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds"]


def _write(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value), encoding="utf-8")


def _write_csv(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _read_csv(path: Path) -> dict[str, dict]:
    """tables/metrics.csv's rows by their metric."""
    with path.open(newline="", encoding="utf-8") as f:
        return {row["metric"]: row for row in csv.DictReader(f)}


def _run(runs_dir: Path, name: str, config: dict, metrics: dict, *, held=True, histories=(),
         experiment="exp", scale="smoke") -> str:  # fmt: skip
    """A run folder as `Run.finish` leaves it; its id."""
    folder = runs_dir / name
    _write(folder / "config.json", config)
    _write(folder / "metrics.json", metrics)
    _write(
        folder / "run.json",
        {"id": name, "experiment": experiment, "title": "An experiment", "scale": scale,
         "status": "done", "histories": list(histories), "headline": ["test_acc"],
         "verdict": {"held": held, "sentence": "."}},
    )  # fmt: skip
    for history in histories:
        rows = [
            {"step": 10 * (i + 1), "epoch": i + 1, "train_loss": 1.0 / (i + 1),
             "train_acc": 0.5 + 0.1 * i, "val_loss": 1.2 / (i + 1), "val_acc": 0.4 + 0.1 * i,
             "lr": config["lr"], "seconds": 0.1 * i}
            for i in range(3)
        ]  # fmt: skip
        _write_csv(folder / "histories" / f"{history}.csv", rows)
    return name


def _study(runs_dir: Path, name: str = "20260101-120000-exp-study") -> str:
    """A study over seeds 0-2 and the grid lr=0.01,0.1, whose metrics.json says test_acc's mean
    is 0.9 at lr=0.01 (its runs average 0.8, so only metrics.json gives 0.9); its name."""
    cells = []
    for lr in ("0.01", "0.1"):
        for seed in range(3):
            run = _run(runs_dir, f"20260101-12000{seed}-exp-{lr}", BASE | {"seed": seed,
                       "lr": float(lr)}, {"test_acc": 0.8, "verdict.held": seed < 2})  # fmt: skip
            cells.append(
                {"setting": {"lr": lr}, "label": f"lr={lr}", "seed": seed, "run": run,
                 "status": "done", "verdict": seed < 2}
            )  # fmt: skip
    _write(
        runs_dir / name / "study.json",
        {"kind": "study", "name": name, "experiment": "exp", "title": "An experiment",
         "scale": "smoke", "overrides": {"epochs": 3}, "seeds": [0, 1, 2],
         "grid": {"lr": ["0.01", "0.1"]}, "cells": cells},
    )  # fmt: skip
    metrics = {"lr=0.01/verdict.held.count": 2, "lr=0.01/verdict.held.n": 3,
               "lr=0.1/verdict.held.count": 0, "lr=0.1/verdict.held.n": 3,
               "lr=0.1 - lr=0.01/test_acc.mean": -0.2}  # fmt: skip
    for label, mean in (("lr=0.01", 0.9), ("lr=0.1", 0.7)):
        stats = {"mean": mean, "std": 0.02, "n": 3, "ci_low": mean - 0.05, "ci_high": mean + 0.05}
        metrics |= {f"{label}/test_acc.{k}": v for k, v in stats.items()}
    _write(runs_dir / name / "metrics.json", metrics)
    curve = [
        {"setting": label, "metric": "val_loss", "step": step, "mean": mean, "std": 0.1, "n": 3,
         "ci_low": mean - 0.2, "ci_high": mean + 0.2}
        for label in ("lr=0.01", "lr=0.1")
        for step, mean in ((10, 1.5), (20, 0.75))
    ]  # fmt: skip
    _write_csv(runs_dir / name / "histories" / "mlp.csv", curve)
    return name


@pytest.fixture
def runs_dir(tmp_path):
    return tmp_path / "runs"


def test_the_differing_settings_are_exactly_those_that_differ(runs_dir):
    a = _run(runs_dir, "20260101-100000-exp", BASE, {})
    b = _run(runs_dir, "20260101-100001-exp", BASE | {"lr": 0.1, "hidden": [64, 16]}, {})
    c = _run(runs_dir, "20260101-100002-exp", BASE, {}, scale="quick")
    rows = differing_settings(read_columns([a, b, c], runs_dir))
    assert [r["setting"] for r in rows] == ["scale", "lr", "hidden"]
    by_name = {r["setting"]: r for r in rows}
    assert [by_name["lr"][k] for k in ("20260101-100000", "20260101-100001")] == ["0.01", "0.1"]
    assert by_name["hidden"]["20260101-100001"] == "[64, 16]"


def test_a_study_setting_has_its_runs_settings_its_seeds_and_its_grid_point(runs_dir):
    study = _study(runs_dir)
    run = _run(runs_dir, "20260101-100000-exp", BASE | {"lr": 0.1}, {})
    rows = {r["setting"]: r for r in differing_settings(read_columns([study, run], runs_dir))}
    assert set(rows) == {"lr", "seed"}  # epochs, dataset and hidden are the same everywhere
    assert rows["lr"]["20260101-120000-study [lr=0.01]"] == "0.01"
    assert rows["seed"]["20260101-120000-study [lr=0.1]"] == "0–2 (3 seeds)"
    assert rows["seed"]["20260101-100000"] == "0"


def test_the_metrics_side_by_side_are_the_files_numbers(runs_dir):
    a = _run(runs_dir, "20260101-100000-exp", BASE, {"extra": 7, "test_acc": 0.931254,
             "verdict.held": True, "verdict.margin": 0.05})  # fmt: skip
    b = _run(runs_dir, "20260101-100001-exp", BASE, {"test_acc": 0.5, "other": 1.5}, held=False)
    page = write_comparison([a, b], runs_dir)
    shown = {r["metric"]: r for r in metric_rows(read_columns([a, b], runs_dir))}
    # the claim, the verdict's numbers and the headline first; verdict.held is the claim row
    assert list(shown) == ["claim", "verdict.margin", "test_acc", "extra", "other"]
    assert shown["claim"] == {"metric": "claim", "20260101-100000": "held",
                              "20260101-100001": "did not hold"}  # fmt: skip
    assert shown["test_acc"]["20260101-100000"] == "0.9313"
    assert "20260101-100001" not in shown["extra"]
    numbers = _read_csv(page.parent / "tables" / "metrics.csv")
    assert float(numbers["test_acc"]["20260101-100000"]) == 0.931254
    assert float(numbers["test_acc"]["20260101-100001"]) == 0.5
    assert float(numbers["other"]["20260101-100001"]) == 1.5
    assert numbers["other"]["20260101-100000"] == ""
    assert [numbers["claim held"][k] for k in ("20260101-100000", "20260101-100001")] == [
        "1.0",
        "0.0",
    ]


def test_a_study_column_shows_the_mean_from_its_metrics_json(runs_dir):
    study = _study(runs_dir)
    run = _run(runs_dir, "20260101-100000-exp", BASE, {"test_acc": 0.95})
    page = write_comparison([study, run], runs_dir)
    columns = read_columns([study, run], runs_dir)
    assert [c.label for c in columns] == [
        "20260101-120000-study [lr=0.01]",
        "20260101-120000-study [lr=0.1]",
        "20260101-100000",
    ]
    shown = {r["metric"]: r for r in metric_rows(columns)}
    assert shown["test_acc"]["20260101-120000-study [lr=0.01]"] == "0.9 ± 0.05 (n=3)"
    assert shown["test_acc"]["20260101-120000-study [lr=0.1]"] == "0.7 ± 0.05 (n=3)"
    assert shown["claim"]["20260101-120000-study [lr=0.01]"] == "held in 2 of 3"
    assert shown["claim"]["20260101-120000-study [lr=0.1]"] == "held in 0 of 3"
    row = _read_csv(page.parent / "tables" / "metrics.csv")["test_acc"]
    label = "20260101-120000-study [lr=0.01]"
    stored = json.loads((runs_dir / study / "metrics.json").read_text(encoding="utf-8"))
    expected = [stored[f"lr=0.01/test_acc.{s}"] for s in ("mean", "ci_low", "ci_high", "n")]
    assert [float(row[f"{label}{s}"]) for s in ("", " ci_low", " ci_high", " n")] == expected
    assert float(row["20260101-100000"]) == 0.95


def test_curves_are_drawn_for_each_history_two_columns_have(runs_dir):
    study = _study(runs_dir)
    a = _run(runs_dir, "20260101-100000-exp", BASE, {}, histories=["mlp", "only-a"])
    b = _run(runs_dir, "20260101-100001-exp", BASE, {}, histories=["mlp"])
    columns = read_columns([study, a, b], runs_dir)
    study_curve = columns[0].histories["mlp"]["val_loss"]
    assert [(step, s.mean, s.ci_low) for step, s in study_curve] == [
        (10, 1.5, pytest.approx(1.3)),
        (20, 0.75, pytest.approx(0.55)),
    ]
    run_curve = columns[2].histories["mlp"]["val_loss"]
    assert [step for step, _ in run_curve] == [10, 20, 30]
    assert [s.mean for _, s in run_curve] == pytest.approx([1.2, 0.6, 0.4])
    figures = write_comparison([study, a, b], runs_dir).parent / "figures"
    assert sorted(p.name for p in figures.iterdir()) == ["curves-mlp.png"]
    assert (figures / "curves-mlp.png").read_bytes().startswith(b"\x89PNG")


def test_an_unknown_ref_is_named_with_the_latest_and_leaves_no_folder(runs_dir):
    a = _run(runs_dir, "20260101-100000-exp", BASE, {})
    study = _study(runs_dir)
    with pytest.raises(UnknownNameError, match="'no-such-run'") as caught:
        write_comparison([a, "no-such-run"], runs_dir)
    assert study in str(caught.value)
    assert "20260101-120002-exp-0.1" in str(caught.value)  # the newest run
    assert not list(runs_dir.glob("compare-*"))


def test_fewer_than_two_columns_is_refused_before_any_folder(runs_dir):
    a = _run(runs_dir, "20260101-100000-exp", BASE, {})
    with pytest.raises(ConfigError, match="two or more"):
        write_comparison([a], runs_dir)
    with pytest.raises(ConfigError, match="name each once"):
        write_comparison([a, str(runs_dir / a)], runs_dir)
    assert not list(runs_dir.glob("compare-*"))
    assert len(read_columns([_study(runs_dir)], runs_dir)) == 2  # a grid study alone suffices


def test_nnlab_compare_prints_the_page_it_wrote(runs_dir, capsys):
    study = _study(runs_dir)
    a = _run(runs_dir, "20260101-100000-exp", BASE | {"lr": 0.1}, {"test_acc": 0.95})
    assert main(["compare", str(runs_dir / study), a, "--out", str(runs_dir)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("Comparison: ")
    page = Path(line.removeprefix("Comparison: "))
    assert page.is_file() and page.parent.parent == runs_dir.absolute()
    html = page.read_text(encoding="utf-8")
    assert "Settings that differ" in html and "0.9 ± 0.05 (n=3)" in html
    assert main(["compare", a, "missing", "--out", str(runs_dir)]) == 2
    assert "'missing'" in capsys.readouterr().err
