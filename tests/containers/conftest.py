"""Fixtures for container tests: a Lab with a container of fields made by a real cell."""

from __future__ import annotations

from pathlib import Path

import pytest

from codexlab.runtime import Lab
from codexlab.runtime.run import Run

CELL = """\
@grid x:-1..1:32, y:-1..1:32, bc=periodic
@seed 7
u := gaussian(x, y, σ=0.25) * cos(2*y) + 0*x
w := random(seed=3)
E = ∇w • ∇w + Δw
n0 = ‖w‖
ψ := gaussian(x, y, σ=0.2) * exp(i*4*x)
"""


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    return lab


@pytest.fixture
def source_run(lab: Lab) -> Run:
    """The cell above, run in container `src`."""
    return lab.run(CELL, container="src")
