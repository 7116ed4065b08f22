"""The experiment contract, checked on every registered experiment: a smoke run through the CLI
ends with one verdict under the one schema, a report that opens with it, and a history per fit;
settings declare their ranges; no experiment imports another."""

import ast
import csv
import dataclasses
import inspect
import json
import pkgutil
import re
import sys
import types
import typing
from pathlib import Path

import pytest

import nnlab.experiments as experiments_package
from nnlab.errors import ConfigError
from nnlab.experiments import EXPERIMENTS, Context
from nnlab.experiments.config import Range, _hints
from nnlab.train import fit

IDS = sorted(EXPERIMENTS)


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("experiment_id", IDS)
def test_every_smoke_run_keeps_the_contract(experiment_id, smoke_run):
    run_dir, metrics = smoke_run(experiment_id)
    info = json.loads((run_dir / "run.json").read_text())
    experiment = EXPERIMENTS.get(experiment_id)

    held = metrics["verdict.held"]
    assert held in (True, False, None)
    assert (held is None) == (experiment.claim is None)
    assert info["verdict"]["held"] == held and info["verdict"]["sentence"]
    assert info["claim"] == experiment.claim

    report = (run_dir / "report.md").read_text()
    head = report.split("## What this tests")[0]
    outcome = {True: "Claim held.", False: "Claim did not hold."}.get(held, "No claim tested.")
    assert f"**{outcome}** {info['verdict']['sentence']}" in head
    if experiment.claim:
        assert f"**Claim:** {experiment.claim}" in report

    trained = sorted(p.stem for p in (run_dir / "checkpoints").glob("*.pt"))
    histories = info.get("histories", [])
    assert set(trained) <= set(histories)  # every fit through ctx.fit left its history
    for name in histories:
        path = run_dir / "histories" / f"{name}.csv"
        assert f"[histories/{name}.csv](histories/{name}.csv)" in report
        rows = list(csv.DictReader(path.open()))
        assert rows and {"step", "epoch", "train_loss", "seconds"} <= set(rows[0])
        steps = [int(r["step"]) for r in rows]
        assert steps == sorted(set(steps))  # one row per evaluation, none repeated


@pytest.mark.parametrize("experiment_id", IDS)
def test_every_declared_range_is_enforced(experiment_id):
    """A config whose own __post_init__ forgot super() would accept out-of-range values."""
    config = EXPERIMENTS.get(experiment_id).config
    for name, hint in _hints(config).items():
        bad = _bad_value(hint)
        if bad is None:
            continue
        with pytest.raises(ConfigError, match=name):
            config(**{name: bad})


def _bad_value(hint):
    """A value of type `hint` that breaks a Range it declares (on itself or its items), or
    None when it declares none."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        ranges = [m for m in hint.__metadata__ if isinstance(m, Range)]
        return _outside(ranges[0]) if ranges else _bad_value(args[0])
    if origin in (typing.Union, types.UnionType):
        return next((v for a in args if (v := _bad_value(a)) is not None), None)
    if origin in (tuple, list):
        item = _bad_value(args[0])
        return None if item is None else origin([item])
    return None


def _outside(r: Range) -> float:
    """A value just outside `r`'s interval (an int when the bound is whole)."""
    if r.low is not None:
        return r.low if r.closed in ("neither", "right") else r.low - 1
    return r.high if r.closed in ("neither", "left") else r.high + 1


def _experiment_modules() -> list[str]:
    """The package's modules that register an experiment (a line starting `@experiment(`);
    `_template.py` is skipped by the package, so by this too."""
    names = []
    for module in pkgutil.iter_modules(experiments_package.__path__):
        path = Path(experiments_package.__path__[0]) / f"{module.name}.py"
        registers = path.exists() and re.search(r"^@experiment\(", path.read_text(), re.M)
        if registers and not module.name.startswith("_"):
            names.append(module.name)
    return names


def test_every_experiment_module_is_discovered_and_none_imports_another():
    modules = _experiment_modules()
    assert len(modules) == len(IDS)
    prefix = "nnlab.experiments."
    for name in modules:
        source = (Path(experiments_package.__path__[0]) / f"{name}.py").read_text()
        imported = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "nnlab.experiments":
                    imported |= {alias.name for alias in node.names}
                imported.add(node.module.removeprefix(prefix))
            elif isinstance(node, ast.Import):
                imported |= {alias.name.removeprefix(prefix) for alias in node.names}
        assert not imported & (set(modules) - {name}), f"{name} imports another experiment"


def test_context_fit_has_fits_signature():
    """Context.fit is fit with a name first and the run's device: same parameters, same
    defaults (but seed / precision / sync_bn, which default to the run's), same kinds."""
    ours = inspect.signature(Context.fit).parameters
    theirs = inspect.signature(fit).parameters
    assert list(ours) == ["self", "name", *[p for p in theirs if p != "device"]]
    for name, param in theirs.items():
        if name in ("device",):
            continue
        mine = ours[name]
        assert mine.kind == param.kind, name
        if name not in ("seed", "precision", "sync_bn"):
            assert mine.default == param.default, name


def test_every_experiment_states_a_claim_or_says_it_has_none():
    for experiment_id in IDS:
        experiment = EXPERIMENTS.get(experiment_id)
        assert experiment.claim is None or experiment.claim.strip().endswith(".")
        assert dataclasses.is_dataclass(experiment.config)


@pytest.mark.parametrize("experiment_id", IDS)
def test_every_docstring_ends_with_its_measured_quick_result_and_machine(experiment_id):
    doc = inspect.getdoc(sys.modules[EXPERIMENTS.get(experiment_id).run.__module__])
    last = doc.strip().split("\n\n")[-1]
    assert last.startswith("Measured on ") and "at quick scale" in last, experiment_id
    assert " on an " in last or " on a " in last  # the machine it was measured on
