"""docs/experiments.md is the registry's own page: regenerated, it must equal the committed one."""

from pathlib import Path

from nnlab.experiments import EXPERIMENTS
from nnlab.experiments.docs import PAGE, catalogue_page, main

ROOT = Path(__file__).parents[2]


def test_committed_page_is_current():
    committed = (ROOT / PAGE).read_text(encoding="utf-8")
    assert committed == catalogue_page(), (
        f"{PAGE} is stale: run `python -m nnlab.experiments.docs` and commit what it writes"
    )


def test_page_has_every_experiment_and_its_settings(tmp_path):
    path = tmp_path / "catalogue.md"
    assert main([str(path)]) == 0
    page = path.read_text(encoding="utf-8")
    for name in EXPERIMENTS:
        section = page.split(f"### `{name}`:", 1)[1].split("\n### ", 1)[0]
        experiment = EXPERIMENTS.get(name)
        assert experiment.description in section
        assert "| `seed` | `int` |" in section  # every experiment's settings table
    assert page.count("\n### `") == len(EXPERIMENTS)
