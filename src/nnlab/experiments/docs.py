"""The catalogue page, docs/experiments.md, written from the registry so it cannot drift.

Each experiment's section is its registration (title, what it tests, its claim), its module
docstring (the study, the choices made where the study is silent, measured results) and its
settings at every scale. `python -m nnlab.experiments.docs` rewrites the page; a test fails when
it is stale.
"""

import inspect
import sys
from pathlib import Path

from nnlab.experiments import EXPERIMENTS  # noqa: F401  (imports, so registers, every experiment)
from nnlab.experiments.catalog import STUDIES, Experiment, in_catalogue_order
from nnlab.experiments.config import describe_fields

#: where the page lives in a checkout
PAGE = Path("docs") / "experiments.md"
SCALES = ("full", "quick", "smoke")

_HEADER = """\
# The nnlab experiment catalogue

Every experiment of `nnlab list`: the claim it tests, the study it reproduces, the choices made
where the study is silent, and its settings at each scale (`full` is the study's own setting;
`quick` takes minutes on a laptop CPU; `smoke` seconds, for the tests). Change a setting with
`nnlab run ID --set NAME=VALUE`; `nnlab list ID` shows the same table.

This page is generated from the code (`python -m nnlab.experiments.docs`); do not edit it.
"""


def catalogue_page() -> str:
    """The whole page as Markdown, studies in order, experiments in the catalogue's order."""
    parts = [_HEADER]
    study = None
    for experiment in in_catalogue_order():
        if experiment.study != study:
            study = experiment.study
            parts.append(f"## {study}. {STUDIES[study]}\n")
        parts.append(_section(experiment))
    return "\n".join(parts)


def _section(experiment: Experiment) -> str:
    """One experiment: heading, what it tests, its module docstring, its settings table."""
    module_doc = inspect.getdoc(sys.modules[experiment.run.__module__]) or ""
    # the docstring's first line names the id and the question, already in the heading
    body = module_doc.split("\n", 1)[1].strip() if "\n" in module_doc else ""
    rows = [
        "| setting | type | " + " | ".join(SCALES) + " |",
        "|---|---|" + "---|" * len(SCALES),
    ]
    for name, kind, default in describe_fields(experiment.config):
        values = [default] + [experiment.scales.get(s, {}).get(name, default) for s in SCALES[1:]]
        cells = [_cell(name), _cell(kind), *(_cell(repr(v)) for v in values)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(
        [
            f"### `{experiment.id}`: {experiment.title}\n",
            f"**Tests:** {experiment.description}\n",
            *([f"**Claim:** {experiment.claim}\n"] if experiment.claim else []),
            *([body, ""] if body else []),
            *rows,
            "",
        ]
    )


def _cell(text: str) -> str:
    """Code-formatted table cell; a `|` (as in `int | None`) would end the cell, so escaped."""
    return "`" + text.replace("|", "\\|") + "`"


def main(argv: list[str] | None = None) -> int:
    """Write the page to PATH (default docs/experiments.md under the current folder)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else PAGE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(catalogue_page(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
