"""Shared fixtures: skip-or-fail for absent real datasets, and a per-session tensor cache."""

import os
from pathlib import Path

import pytest

from nnlab.data import data_root


@pytest.fixture
def require_data():
    """A function `require_data(*relative) -> Path`: the data root, once the files are there.

    A missing file skips the test with the reason, or fails it when NNLAB_REQUIRE_DATA=1 (CI).
    """

    def check(*relative: str) -> Path:
        root = data_root()
        absent = [r for r in relative if not (root / r).exists()]
        if absent:
            reason = f"real data missing under {root}: {', '.join(absent)}"
            if os.environ.get("NNLAB_REQUIRE_DATA") == "1":
                pytest.fail(reason + " (NNLAB_REQUIRE_DATA=1)")
            pytest.skip(reason)
        return root

    return check


@pytest.fixture(autouse=True)
def _tensor_cache(tmp_path_factory, monkeypatch):
    """Keep the decoded-set cache of a test session in one temporary folder, never in ~/.cache."""
    monkeypatch.setenv("NNLAB_CACHE", str(tmp_path_factory.getbasetemp() / "tensor-cache"))
