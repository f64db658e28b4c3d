"""Fixtures for sheet tests: a Lab in a fresh home, and sheets with a known dependency graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from codexlab.runtime import Lab

#: Six cells: `grid` sets the grid; `f` and `g` are independent definitions; `lap` and `grad` read `f`;
#: `mix` reads `lap`, `grad` and `g` (a diamond plus an independent branch); `loop` evolves its own copy.
DIAMOND = """\
# %% grid
@grid x:-1..1:32, y:-1..1:32
@seed 11

# %% f
f := gaussian(x, y, σ=0.3) * sin(2*x)

# %% g
g := random(seed=5)

# %% lap
L = Δf

# %% grad
G = ∇f • ∇f

# %% mix
M = L + G * g
m = ‖M‖

# %% loop
h = g
⟲ 5 { h = h + 0.0001*Δh }
"""


def new_lab(path: Path) -> Lab:
    """A Lab at `path` with progress bars off."""
    lab = Lab(home=path)
    lab.progress = False
    return lab


@pytest.fixture
def lab(tmp_path: Path) -> Lab:
    return new_lab(tmp_path / "home")
