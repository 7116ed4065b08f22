"""`ocr`: the smoke run through the CLI reads rendered pages and writes its report and texts."""

import pytest

from nnlab.errors import NnlabError
from nnlab.experiments.runner import run_experiment


def test_smoke_run_through_the_cli_reads_rendered_pages(smoke_run, monkeypatch):
    # one torch thread: the smoke network is tiny, and on a CPU shared with other processes two
    # threads wait on each other (measured: 6 s with one, 53 s with two)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    run_dir, metrics = smoke_run("ocr")
    assert (run_dir / "tables" / "accuracy.csv").is_file()
    for name in ("boxes_page_1.png", "boxes_page_2.png"):
        assert (run_dir / "figures" / name).is_file()
    text = (run_dir / "text" / "page_1.txt").read_text()
    assert len(text.strip().split("\n")) == 3  # the sample page's three lines
    # even the smoke classifier reads well above chance (1/36) on rendered pages
    assert metrics["verdict.mean_char_acc"] > 0.5, metrics
    assert 0 <= metrics["verdict.min_char_acc"] <= 1
    report = (run_dir / "report.md").read_text()
    assert "Classifier: trained on glyphs36" in report
    assert "smoke-scale run" in report
    assert "character accuracy on every image" in report
    assert metrics["verdict.held"] == (metrics["verdict.min_char_acc"] >= 0.85)
    html = (run_dir / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 2


def test_an_image_that_is_not_one_is_refused_before_the_classifier_trains(tmp_path):
    (tmp_path / "note.jpg").write_text("not a photo")
    with pytest.raises(NnlabError, match="note.jpg: cannot decode the image .not in an image"):
        run_experiment(
            "ocr",
            scale="smoke",
            overrides={"image": str(tmp_path / "note.jpg")},
            runs_dir=tmp_path / "runs",
        )
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    assert not list(run_dir.glob("checkpoints/*"))  # no minutes spent training first


def test_a_classifier_trained_by_an_earlier_run_reads_the_same_without_training(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    runs = tmp_path / "runs"
    first = run_experiment("ocr", scale="smoke", runs_dir=runs).run
    reused = run_experiment(
        "ocr", scale="smoke", overrides={"classifier": f"run:{first.id}"}, runs_dir=runs
    ).run
    assert not list(reused.path.glob("checkpoints/*"))  # nothing trained
    for page in ("page_1", "page_2"):  # the same network reads the same pages alike
        assert (reused.path / "text" / f"{page}.txt").read_text() == (
            first.path / "text" / f"{page}.txt"
        ).read_text()
        assert reused.metrics[f"char_acc.{page}"] == first.metrics[f"char_acc.{page}"]
    assert f"Classifier: the one run {first.id} trained" in (reused.path / "report.md").read_text()
    with pytest.raises(NnlabError, match="holds no ocr run 'nope'"):
        run_experiment("ocr", scale="smoke", overrides={"classifier": "run:nope"}, runs_dir=runs)
    with pytest.raises(NnlabError, match="classifier must be run:<id>"):
        run_experiment("ocr", scale="smoke", overrides={"classifier": "x.pt"}, runs_dir=runs)
