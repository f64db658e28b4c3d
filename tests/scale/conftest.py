"""Fixtures for the scale-out tests: a Lab per test, the test PostgreSQL server (own schema per Lab)."""

from __future__ import annotations

import pytest

from codexlab.runtime import Lab
from tests.store.conftest import pg_schemas, pg_url  # noqa: F401  (the store tests' server fixtures)

# A scroll with two free names: a Gaussian of width `s` diffused for 30 steps of size `dt` between
# Dirichlet walls, and its norm. Small enough for a test, with a field, a loop and a scalar.
HEAT = """@grid x:-1..1:48, y:-1..1:48, bc=dirichlet
u := gaussian(x, y, σ=s)
u0 = u
⟲ 30 { u = u + dt*Δu }
m = ‖u‖
"""


def heat_point(s: float, dt: float) -> str:
    """The point scroll written out by hand: what a user would run serially for these values."""
    head, body = HEAT.split("\n", 1)
    return f"{head}\ns := {s!r}\ndt := {dt!r}\n{body}"


@pytest.fixture
def lab(tmp_path) -> Lab:
    """A Lab on SQLite in a fresh home, without progress bars."""
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    return lab
