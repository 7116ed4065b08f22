"""Reports (Markdown and self-contained HTML), the runs' index page, atomic writes, the
Markdown subset, value formatting, machine facts and the git revision."""

import base64
import html.parser
import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from nnlab.files import atomic_write
from nnlab.runs import Run, git_revision, machine_facts, write_index_html
from nnlab.runs import folder as folder_module
from nnlab.runs.atomic import write_json, write_text
from nnlab.runs.markup import markdown_html
from nnlab.runs.report import format_duration, format_value

NOTICE = "Substitute dataset: digits (8x8) stands in for MNIST."


def _finished_run(runs_dir, status="done", error=None):
    run = Run.create(
        runs_dir,
        "mlp-vs-cnn",
        {"lr": 0.0125, "optimizer": "sgd-momentum", "net": {"width": 96}},
        title="Convolutions against permuted pixels",
        description="Whether a CNN's advantage needs the **pixel order**.",
        scale="quick",
        device="cpu (2 threads)",
    )
    run.note("Before the table: <script>alert('x')</script> & `a < b`.")
    run.table(
        "accuracy",
        [
            {"model": "CNN", "input": "plain", "test_acc": 0.987654},
            {"model": "CNN", "input": "permuted", "test_acc": 0.5},
        ],
        title="Test accuracy",
    )
    run.notice(NOTICE)
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().bar([0, 1], [3, 4])
    run.figure("bars", fig, caption="Two bars")
    run.note("After the figure.")
    run.finish(status, error)
    return run


class _Parsed(html.parser.HTMLParser):
    """Text, image sources, links and stylesheet/script references of an HTML page."""

    def __init__(self, text):
        super().__init__()
        self.text, self.images, self.links, self.external = [], [], [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a["src"])
        if tag == "a":
            self.links.append(a["href"])
        if tag == "script" or (tag == "link" and a.get("rel") == "stylesheet"):
            self.external.append(a)

    def handle_data(self, data):
        self.text.append(data)


def test_html_report_stands_alone_in_the_documented_order(tmp_path):
    run = _finished_run(tmp_path)
    page = (run.path / "report.html").read_text()
    parsed = _Parsed(page)
    text = " ".join("".join(parsed.text).split())
    png = (run.path / "figures" / "bars.png").read_bytes()
    assert parsed.images == ["data:image/png;base64," + base64.b64encode(png).decode()]
    assert parsed.external == []  # no script, no stylesheet file: one self-contained page
    assert "<title>Convolutions against permuted pixels</title>" in page
    # the note's markup is shown as text, never run
    assert "<script" not in page.lower() and "<script>alert('x')</script> &" in text
    assert "<code>a &lt; b</code>" in page and "<strong>pixel order</strong>" in page
    order = [
        "Convolutions against permuted pixels",
        NOTICE,
        "Status: done",
        "What this tests",
        "Before the table",
        "Test accuracy",
        "After the figure",
        "Metrics",
        "accuracy.cnn_plain.test_acc",
        "Configuration",
        "sgd-momentum",
        "Run",
        run.id,
    ]
    at = 0
    for s in order:  # each one after the one before
        at = text.find(s, at)
        assert at >= 0, f"{s!r} missing or out of order"
    assert "0.9877" in text and "0.987654" not in text  # 4 significant digits
    for value in ("0.0125", "net.width", "96", "cpu (2 threads)", "quick"):
        assert value in text


def test_markdown_report_has_pipe_tables_and_relative_figures(tmp_path):
    run = _finished_run(tmp_path)
    md = (run.path / "report.md").read_text()
    lines = md.splitlines()
    assert lines[0] == "# Convolutions against permuted pixels"
    assert lines.index(f"> **Notice:** {NOTICE}") < lines.index("## What this tests")
    table_at = lines.index("| model | input | test_acc |")
    assert lines[table_at + 1 : table_at + 4] == [
        "|---|---|---:|",
        "| CNN | plain | 0.9877 |",
        "| CNN | permuted | 0.5 |",
    ]
    assert "![Two bars](figures/bars.png)" in lines
    assert (run.path / "figures" / "bars.png").is_file()
    assert "| lr | 0.0125 |" in lines and "| net.width | 96 |" in lines
    assert lines.index("## Metrics") < lines.index("## Configuration") < lines.index("## Run")


@pytest.mark.parametrize("status", ["failed", "interrupted"])
def test_unfinished_runs_say_so_first_and_keep_what_they_recorded(tmp_path, status):
    run = _finished_run(tmp_path, status, error="ValueError: loss became NaN at step 12")
    for name in ("report.md", "report.html"):
        text = (run.path / name).read_text()
        head = text[: text.find("What this tests")]
        assert ("This run failed" if status == "failed" else "This run was interrupted") in head
        assert "loss became NaN at step 12" in head
        assert f"nnlab run --resume {run.id}" in head
        assert "Test accuracy" in text and "0.9877" in text  # recorded before the end
    done = _finished_run(tmp_path / "ok")
    assert "This run" not in (done.path / "report.md").read_text()


def test_index_page_links_every_run_newest_first(tmp_path, monkeypatch):
    # a clock a minute further on each call, so "newest" does not depend on timing
    minutes = iter(range(1000))
    start = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    monkeypatch.setattr(folder_module, "_now", lambda: start + timedelta(minutes=next(minutes)))
    runs = [_finished_run(tmp_path, s) for s in ("done", "failed")]
    unfinished = Run.create(
        tmp_path, "other", {}, title="T", description="D", scale="smoke", device="cpu"
    )
    page_path = write_index_html(tmp_path)
    assert page_path == tmp_path / "index.html"
    parsed = _Parsed(page_path.read_text())
    assert len(parsed.links) == 3
    # newest first; finished runs link their report, the running one its folder; all relative
    assert parsed.links == [unfinished.id, f"{runs[1].id}/report.html", f"{runs[0].id}/report.html"]
    assert all((tmp_path / href).exists() for href in parsed.links)
    text = " ".join("".join(parsed.text).split())
    assert "failed" in text and "running" in text and "Convolutions against" in text
    assert "accuracy.cnn_plain.test_acc 0.9877" in text  # a headline metric


def test_atomic_writes_leave_no_temporary_files(tmp_path):
    target = tmp_path / "a.json"
    write_json(target, {"b": 1, "a": float("nan")}, sort_keys=True)
    assert target.read_text() == '{\n  "a": null,\n  "b": 1\n}\n'
    write_text(target, "new")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_a_failing_write_leaves_the_old_file_intact(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("old and complete")
    with pytest.raises(RuntimeError, match="died"), atomic_write(target) as f:
        f.write("half of the new")
        f.flush()
        assert target.read_text() == "old and complete"  # not visible while being written
        raise RuntimeError("died mid-write")
    assert target.read_text() == "old and complete"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]
    with pytest.raises(RuntimeError), atomic_write(tmp_path / "never.md"):
        raise RuntimeError
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        (
            "a **b** `<c>` <i>d</i>",
            "<p>a <strong>b</strong> <code>&lt;c&gt;</code> &lt;i&gt;d&lt;/i&gt;</p>",
        ),
        ("one\ntwo\n\nthree", "<p>one two</p>\n<p>three</p>"),
        (
            "intro:\n- x\n- *y*\n  z\n\n1. p\n2) q",
            "<p>intro:</p>\n<ul><li>x</li><li><em>y</em> z</li></ul>\n"
            "<ol><li>p</li><li>q</li></ol>",
        ),
        (
            '[doc](https://a.org/?x=1&y="2) [rel](figures/a.png)',
            '<p><a href="https://a.org/?x=1&amp;y=&quot;2">doc</a> '
            '<a href="figures/a.png">rel</a></p>',
        ),
        ("[click](javascript:alert(1)) [x](data:text/html,hi)", "<p>click) x</p>"),
        ("```\n<b> & **no**\n```", "<pre><code>&lt;b&gt; &amp; **no**</code></pre>"),
        ("2 * 3 * 4", "<p>2 * 3 * 4</p>"),
    ],
)  # fmt: skip
def test_markdown_subset(markdown, expected):
    assert markdown_html(markdown) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.987654, "0.9877"),
        (0.5, "0.5"),
        (1e-5, "1e-05"),
        (12345.6, "12346"),
        (123.456, "123.5"),
        (float("nan"), "NaN"),
        (float("-inf"), "-inf"),
        (7, "7"),
        (True, "True"),
        ("CNN", "CNN"),
        (None, ""),
    ],
)
def test_format_value(value, text):
    assert format_value(value) == text


def test_format_duration():
    assert [format_duration(s) for s in (None, 4.25, 185, 7380)] == [
        "",
        "4.2 s",
        "3 min 05 s",
        "2 h 03 min",
    ]


def test_machine_facts():
    facts = machine_facts()
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kib = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        assert facts["memory_gib"] == round(kib / 2**20, 1)
    assert facts["cpu_count"] >= 1 and facts["host"] and facts["python"].split()[-1][0] == "3"
    json.dumps(facts)  # goes into run.json as it is


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_revision(tmp_path):
    def git(*args):
        return subprocess.run(
            ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t", *args],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

    assert git_revision(tmp_path) is None  # not a checkout
    git("init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    git("add", "a.py")
    git("commit", "-q", "-m", "one")
    head = git("rev-parse", "--short", "HEAD")
    assert git_revision(tmp_path) == head and git_revision(tmp_path / "a.py") == head
    (tmp_path / "a.py").write_text("x = 2\n")
    assert git_revision(tmp_path) == f"{head}-dirty"
