"""Runs: the run folder, the SQLite index of all runs, and the reports (Markdown and HTML).

`Run.create` makes `runs/<time>-<experiment>/` and records the run in `runs/index.sqlite`;
the experiment records tables, figures, metrics and notes through it, and `Run.finish` writes
metrics.json and the reports. `write_index_html` links every report from `runs/index.html`;
`write_book_html` links a chosen set of runs under headings (`nnlab run --all`).
This package knows nothing of torch: figures are matplotlib Figures, values plain numbers.
"""

from nnlab.runs.folder import Run, ShadowRun
from nnlab.runs.index import RunIndex, RunRecord
from nnlab.runs.machine import git_revision, machine_facts
from nnlab.runs.report import BookEntry, write_book_html, write_index_html

__all__ = [
    "BookEntry",
    "Run",
    "ShadowRun",
    "RunIndex",
    "RunRecord",
    "git_revision",
    "machine_facts",
    "write_book_html",
    "write_index_html",
]
