"""Fixtures for the scroll VM's debugger and profiler: a Lab in a fresh home per test."""

from __future__ import annotations

import pytest

from codexlab.runtime import Lab


@pytest.fixture
def lab(tmp_path):
    """A Lab whose home (SQLite store, vault, traces) lives in a temporary folder."""
    return Lab(home=tmp_path / "home")
