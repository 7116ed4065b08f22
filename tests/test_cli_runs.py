"""The `nnlab` commands for experiments: list, run (its refusals), runs and report."""

import pytest

from nnlab.cli import main
from nnlab.runs import Run


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
    assert rows["epochs"][1:] == ["int", "20", "8", "6"]
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
