"""Run files and tensor-cache entries get an ordinary file's mode under the umask, not 0600."""

import os
import stat

import pytest
import torch

from nnlab.cli import main
from nnlab.data.cache import cached
from nnlab.data.imageset import ImageSet
from nnlab.files import atomic_write


@pytest.fixture
def umask():
    """Set the process umask for one test; the old one is restored after."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def _modes(folder):
    return {
        p.relative_to(folder).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in folder.rglob("*")
        if p.is_file() and not p.name.startswith("index.sqlite")
    }


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_a_smoke_runs_files_follow_the_umask(mask, mode, umask, tmp_path, capsys):
    umask(mask)
    runs = tmp_path / "runs"
    assert main(["run", "pca-separability", "--scale", "smoke", "--out", str(runs)]) == 0
    assert main(["report", "--out", str(runs)]) == 0
    modes = _modes(runs)
    assert {"index.html"} < set(modes) and any(n.endswith("/report.html") for n in modes)
    assert any("/tables/" in n for n in modes) and any("/figures/" in n for n in modes)
    assert set(modes.values()) == {mode}, modes


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600)])
def test_a_cache_entry_and_a_binary_atomic_write_follow_the_umask(
    mask, mode, umask, tmp_path, monkeypatch
):
    umask(mask)
    monkeypatch.setenv("NNLAB_CACHE", str(tmp_path / "cache"))
    imageset = ImageSet(
        torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.tensor([0, 1]), ("a", "b"), "t"
    )
    cached("modes-train", [], lambda: imageset)
    (entry,) = (tmp_path / "cache").iterdir()
    assert stat.S_IMODE(entry.stat().st_mode) == mode
    with atomic_write(tmp_path / "model.pt", "wb") as f:
        torch.save({"w": torch.ones(1)}, f)
    assert stat.S_IMODE((tmp_path / "model.pt").stat().st_mode) == mode
