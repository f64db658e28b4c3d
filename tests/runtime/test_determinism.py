"""The same cell gives bit-identical values and the same path every time: five runs in one process, and
in a fresh process, on periodic, Dirichlet and Neumann grids (the path is decided by a pure function of
the cell, never by timings)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from codexlab.runtime import Lab
from codexlab.runtime.values import Vetoed

BCS = ("periodic", "dirichlet", "neumann")


def cell(bc: str) -> str:
    """Exact and grid ops, a fused group, a loop, a reduction and a seeded measurement."""
    return (
        f"@grid x:-1..1:24, y:-1..1:20, bc={bc}\n"
        "@seed 7\n"
        "f := gaussian(x, y, σ=0.3)\n"
        "L = Δ(x^2 + y^2)\n"
        "g = ∇f\n"
        "E = ∇f • ∇f + Δf\n"
        "u = f\n"
        "⟲ 5 { u = u + 0.0001*Δu }\n"
        "m = ‖u‖\n"
        "ψ := gaussian(x, y, σ=0.25) * exp(i*3*x)\n"
        "k = ⧖ψ\n"
    )


def fingerprint(run) -> dict[str, str]:
    """A digest of every bound value (bytes, dtype, shape) and the ordered path of every op beam."""
    out: dict[str, str] = {}
    for name, value in sorted(run.values.items()):
        h = hashlib.sha256()
        if isinstance(value, xr.DataArray):
            arr = np.ascontiguousarray(value.values)
            h.update(f"{arr.dtype}{arr.shape}".encode())
            h.update(arr.tobytes())
        elif isinstance(value, Vetoed):
            h.update(f"vetoed:{value.law}".encode())
        else:
            h.update(repr(getattr(value, "outcome", value)).encode())
            for attr in ("probability", "position", "state"):
                part = getattr(value, attr, None)
                if part is not None:
                    h.update(np.ascontiguousarray(np.asarray(getattr(part, "values", part))).tobytes())
        out[name] = h.hexdigest()
    paths = [(b.stage, b.token, b.result.get("path"), b.result.get("precision")) for b in run.beams]
    out["#path"] = hashlib.sha256(json.dumps(paths).encode()).hexdigest()
    return out


@pytest.mark.parametrize("bc", BCS)
def test_five_runs_in_one_lab_are_bit_identical(tmp_path: Path, bc: str) -> None:
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    prints = [fingerprint(lab.run(cell(bc), f"c{i}")) for i in range(3)]
    prints += [fingerprint(lab.run(cell(bc), "c0")) for _ in range(2)]  # again in a container that has run it
    assert all(p == prints[0] for p in prints[1:])
    assert not any(isinstance(v, Vetoed) for v in lab.run(cell(bc), "c9").values.values())


def test_a_fresh_process_gives_the_same_values_and_path(tmp_path: Path) -> None:
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    here = {bc: fingerprint(lab.run(cell(bc), bc)) for bc in BCS}
    script = (
        "import json, sys\n"
        "from codexlab.runtime import Lab\n"
        "from tests.runtime.test_determinism import BCS, cell, fingerprint\n"
        "lab = Lab(home=sys.argv[1]); lab.progress = False\n"
        "print(json.dumps({bc: fingerprint(lab.run(cell(bc), bc)) for bc in BCS}))\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "other")],
        capture_output=True,
        text=True,
        env=env,
        cwd=root,
        timeout=600,
        check=True,
    )
    there = json.loads(out.stdout.strip().splitlines()[-1])
    assert there == here


def test_the_path_of_a_small_analytic_laplacian_never_changes(tmp_path: Path) -> None:
    """The review's case: `L = Δ(x^2 + y^2)` on a Dirichlet 8² grid gave a veto, then the number 4. It
    is a field every time: 4 inside, and at the walls the grid operator's values (its odd reflection makes
    the second difference across a wall 0, so 2 on an edge and 0 at a corner)."""
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    expected = np.full((8, 8), 4.0)
    expected[[0, -1], :] -= 2.0
    expected[:, [0, -1]] -= 2.0
    for _ in range(4):
        L = lab.run("@grid x:-1..1:8, y:-1..1:8, bc=dirichlet\nL = Δ(x^2 + y^2)").values["L"]
        assert isinstance(L, xr.DataArray) and L.shape == (8, 8)
        np.testing.assert_allclose(L.values, expected, atol=1e-12)
