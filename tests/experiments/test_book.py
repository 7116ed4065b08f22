"""`nnlab run --all`: every experiment in order, failures recorded, one page linking the runs."""

import json
from dataclasses import dataclass

import pytest

from nnlab.cli import main
from nnlab.errors import MissingDataError
from nnlab.experiments import EXPERIMENTS, Experiment, ExperimentConfig
from nnlab.experiments.book import resume_book, run_all
from nnlab.runs import RunIndex


@dataclass
class _Config(ExperimentConfig):
    value: int = 1


def _fine(cfg, ctx):
    ctx.table("result", [{"value": cfg.value, "seed": cfg.seed}])
    ctx.verdict(True, "It ran.")


def _no_data(cfg, ctx):
    raise MissingDataError("fer2013 is not in the data folder; `nnlab data fetch fer2013`.")


def _ctrl_c(cfg, ctx):
    raise KeyboardInterrupt


def _ctrl_c_once(cfg, ctx):
    """Interrupted the first time, done when resumed (a marker in its run folder)."""
    marker = ctx.run.path / "was-interrupted"
    if not marker.exists():
        marker.touch()
        raise KeyboardInterrupt
    ctx.table("result", [{"resumed": True}])
    ctx.verdict(None, "Resumed.")


def _experiment(id_, run, study="A", scales=None):
    return Experiment(
        id_, f"The {id_} experiment", "s", "d", study, _Config, run, scales or {}, "It runs."
    )


@pytest.fixture
def fakes(monkeypatch):
    """Five experiments in the registry for this test only: by id."""
    made = {
        "book-fine": _experiment("book-fine", _fine),
        "book-no-data": _experiment("book-no-data", _no_data, study="C"),
        "book-refused": _experiment("book-refused", _fine, scales={"smoke": {"nope": 1}}),
        "book-ctrl-c": _experiment("book-ctrl-c", _ctrl_c),
        "book-ctrl-c-once": _experiment("book-ctrl-c-once", _ctrl_c_once),
    }
    for id_, experiment in made.items():
        monkeypatch.setitem(EXPERIMENTS._entries, id_, experiment)
    return made


def test_the_book_goes_on_past_failures_and_links_every_run(fakes, tmp_path):
    chosen = [fakes["book-fine"], fakes["book-no-data"], fakes["book-refused"]]
    page, entries = run_all("smoke", experiments=chosen, runs_dir=tmp_path, overrides={"seed": 3})
    assert [e.label for e in entries] == ["book-fine", "book-refused", "book-no-data"]  # by study
    fine, refused, no_data = entries
    index = RunIndex(tmp_path / "index.sqlite")
    assert index.get(fine.run_id).status == "done" and fine.error is None
    assert index.get(fine.run_id).config["seed"] == 3  # the overrides reach every run
    assert index.get(no_data.run_id).status == "failed"
    assert "MissingDataError: fer2013 is not in the data folder" in no_data.error
    assert refused.run_id is None and "nope" in refused.error  # refused before a run existed
    html = page.read_text()
    assert page.parent == tmp_path and page.name.endswith("-smoke.html")
    assert html.index("A. From-scratch NumPy") < html.index("C. Representation and transfer")
    assert f'href="{fine.run_id}/report.html"' in html
    assert (tmp_path / fine.run_id / "report.html").is_file()
    assert "verdict.held" in html and "2 failed" in html and "1 done" in html
    assert '<td class="st-done">held</td>' in html  # the claim column


def test_ctrl_c_stops_the_book_and_the_page_lists_what_ran(fakes, tmp_path):
    chosen = [fakes["book-fine"], fakes["book-ctrl-c"], fakes["book-no-data"]]
    with pytest.raises(KeyboardInterrupt):
        run_all("smoke", experiments=chosen, runs_dir=tmp_path)
    (page,) = tmp_path.glob("book-*.html")
    html = page.read_text()
    assert "book-fine" in html and "book-ctrl-c" in html and "interrupted" in html
    assert "book-no-data" not in html  # never started
    statuses = sorted(r.status for r in RunIndex(tmp_path / "index.sqlite").runs())
    assert statuses == ["done", "interrupted"]


@pytest.mark.parametrize("extra", [["mnist-mlp"], ["--set", "epochs=2"], ["--dataset", "mnist"]])
def test_all_refuses_settings_meant_for_one_experiment(extra, tmp_path, capsys):
    status = main(["run", "--all", "--scale", "smoke", "--out", str(tmp_path), *extra])
    assert status == 2
    assert "--all runs every experiment with its own settings" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # refused before anything ran


def test_a_resumed_book_keeps_done_runs_resumes_the_interrupted_and_runs_the_rest(fakes, tmp_path):
    chosen = [fakes["book-fine"], fakes["book-ctrl-c-once"], fakes["book-no-data"]]
    with pytest.raises(KeyboardInterrupt):
        run_all("smoke", experiments=chosen, runs_dir=tmp_path, overrides={"seed": 5})
    (state,) = tmp_path.glob("book-*-smoke.json")
    first = json.loads(state.read_text())["runs"]
    assert list(first) == ["book-fine", "book-ctrl-c-once"]  # no-data never started
    page, entries = resume_book(state.stem, runs_dir=tmp_path)
    assert page == state.with_suffix(".html")  # the same page, rewritten
    by_label = {e.label: e for e in entries}
    assert by_label["book-fine"].run_id == first["book-fine"]  # kept, not run again
    assert by_label["book-ctrl-c-once"].run_id == first["book-ctrl-c-once"]  # resumed in place
    index = RunIndex(tmp_path / "index.sqlite")
    assert [r.experiment for r in index.runs()].count("book-fine") == 1
    assert index.get(first["book-ctrl-c-once"]).status == "done"
    no_data = index.get(by_label["book-no-data"].run_id)
    assert no_data.status == "failed" and no_data.config["seed"] == 5  # the book's own seed
    assert "3 done" not in page.read_text() and "2 done" in page.read_text()
    again_page, again = resume_book(str(page), runs_dir=tmp_path / "elsewhere")  # by its path
    assert again_page == page and [e.run_id for e in again][:2] == [e.run_id for e in entries][:2]


def test_resuming_a_book_that_is_not_there_lists_the_books(tmp_path, capsys):
    (tmp_path / "book-20261206-101500-quick.json").write_text("{}")
    status = main(["run", "--all", "--resume", "book-x", "--out", str(tmp_path)])
    assert status == 2
    err = capsys.readouterr().err
    assert "No book 'book-x'" in err and "Latest: book-20261206-101500-quick." in err
    assert main(["run", "--all", "--resume", "book-x", "--scale", "full"]) == 2
    assert "at its own scale and seed" in capsys.readouterr().err


def test_a_book_over_seeds_runs_each_experiment_as_a_study(fakes, tmp_path, capsys):
    chosen = [fakes["book-fine"], fakes["book-no-data"]]
    page, entries = run_all("smoke", experiments=chosen, runs_dir=tmp_path, seeds=[0, 1, 2])
    fine, no_data = entries
    assert fine.row["status"] == "done" and fine.row["verdict"] == "held in 3 of 3"
    assert no_data.row["status"] == "failed"  # every run of it failed; the book went on
    study = tmp_path / fine.row["href"].split("/")[0]
    seeds = sorted(RunIndex(tmp_path / "index.sqlite").get(c["run"]).config["seed"]
                   for c in json.loads((study / "study.json").read_text())["cells"])  # fmt: skip
    assert seeds == [0, 1, 2]
    html = page.read_text()
    assert f'href="{fine.row["href"]}"' in html and "held in 3 of 3" in html
    assert "1 done" in html and "1 failed" in html
    (state,) = tmp_path.glob("book-*-smoke.json")
    again, entries = resume_book(state.stem, runs_dir=tmp_path)  # done study kept
    assert entries[0].row["href"] == fine.row["href"]
    assert len(list(tmp_path.glob("*-study"))) == 2
