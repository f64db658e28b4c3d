"""Every value that can be bound passes the vet stage: loop results (fused and op by op), pairs and
measurements, under the built-in laws and a container's own laws. A vetoed value is never bound, and
what reads it is not computed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codexlab.runtime import Lab
from codexlab.runtime.values import Vetoed


@pytest.fixture
def lab(tmp_path) -> Lab:
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    return lab


def _loop_beams(run) -> list:
    return [b for b in run.beams if b.stage == "loop"]


def test_a_number_loop_that_overflows_is_vetoed_at_its_first_infinite_step(lab: Lab) -> None:
    run = lab.run("a = 1.0\n⟲ 400 { a = a * 10.0 }\nb = 1/a")
    a_ref, first_inf = 1.0, None  # the same iteration in Python floats: inf once past ~1.8e308
    for k in range(1, 401):
        a_ref *= 10.0
        if math.isinf(a_ref):
            first_inf = k
            break
    a, b = run.values["a"], run.values["b"]
    assert isinstance(a, Vetoed) and a.law == "finite" and f"iteration {first_inf}" in a.reason
    assert isinstance(b, Vetoed) and "not computed: it uses `a`" in b.reason
    assert "a" not in lab.memory().bindings and "b" not in lab.memory().bindings
    whole, named = _loop_beams(run)
    assert whole.verdict == "veto" and whole.result["stopped_at"] == first_inf == whole.result["iterations"]
    assert named.result["name"] == "a" and named.verdict == "veto"
    assert "⟲" not in run.values  # the loop as a whole binds no name
    assert not [b for b in run.beams if b.result.get("name") == "b" and b.stage != "error"]


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "op-by-op"])
def test_an_unstable_heat_step_never_binds_a_nan_field(lab: Lab, fused: bool) -> None:
    # explicit Euler for u_t = Δu is stable for dt ≤ h²/4 (2-D, fd2); dt = 1 with h = 2/31 is ~240× over
    lab.configure("c", fuse=fused)
    code = "@grid x:-1..1:32, y:-1..1:32, bc=dirichlet\nu := gaussian(x, y, σ=0.2)\n⟲ 300 { u = u + 1.0*Δu }\nm = ‖u‖"
    run = lab.run(code, "c")
    u, m = run.values["u"], run.values["m"]
    assert isinstance(u, Vetoed) and u.law == "finite" and isinstance(m, Vetoed)
    whole = _loop_beams(run)[0]
    assert whole.result["finite"] is False and 1 <= whole.result["stopped_at"] < 300
    assert lab.status("c").status != "CLOSED"


def test_the_fused_and_op_by_op_loops_stop_at_the_same_iteration(lab: Lab) -> None:
    code = "@grid x:-1..1:24, y:-1..1:24, bc=dirichlet\nu := gaussian(x, y, σ=0.2)\n⟲ 400 { u = u + 1.0*Δu }"
    lab.configure("f", fuse=True)
    lab.configure("p", fuse=False)
    steps = [_loop_beams(lab.run(code, c))[0].result["stopped_at"] for c in ("f", "p")]
    assert steps[0] == steps[1]


CAP = [{"name": "cap", "when": "max > 2", "verdict": "veto", "reason": "over the cap"}]


def test_a_container_law_applies_to_loop_results_as_to_any_value(lab: Lab) -> None:
    lab.configure("c", laws=CAP)
    field = "@grid x:-1..1:16, y:-1..1:16\nu := ones()\n"
    plain = lab.run(field + "w = u * 3", "c")
    assert isinstance(plain.values["w"], Vetoed) and plain.values["w"].law == "cap"
    looped = lab.run(field + "v = u\n⟲ 4 { v = v + u }\nw0 = v * 0", "c")
    v = looped.values["v"]
    assert isinstance(v, Vetoed) and v.law == "cap" and "over the cap" in v.reason
    assert isinstance(looped.values["w0"], Vetoed)
    ok = lab.run(field + "s = u\n⟲ 1 { s = s + u }", "c")  # max 2: not over the cap
    assert not isinstance(ok.values["s"], Vetoed)
    np.testing.assert_array_equal(ok.values["s"].values, np.full((16, 16), 2.0))


def test_pairs_and_measurements_pass_the_vet_stage(lab: Lab) -> None:
    states = "@grid x:-1..1:16, y:-1..1:16\na := gaussian(x, y, σ=0.3)\nb := gaussian(x, y, σ=0.2)\n"
    lab.configure("pairs", laws=[{"name": "no_pairs", "when": "schmidt_rank >= 1", "verdict": "veto"}])
    run = lab.run(states + "p = a ↔ b", "pairs")
    assert isinstance(run.values["p"], Vetoed) and run.values["p"].law == "no_pairs"
    memory = lab.memory("pairs")
    assert "p" not in memory.bindings and not memory.members  # a vetoed pair entangles nothing
    lab.configure("meas", laws=[{"name": "no_looking", "when": "probability >= 0", "verdict": "veto"}])
    run = lab.run(states + "m = ⧖a", "meas")
    assert isinstance(run.values["m"], Vetoed) and run.values["m"].law == "no_looking"
