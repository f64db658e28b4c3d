"""Guards before work: requests past the limits are refused before they run, with one located sentence;
and nothing but a `CodexError` leaves a cell."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
import sympy

from codexlab.errors import CodexError, CodexEvaluationError, CodexValueError, ResourceError
from codexlab.photon.bounds import MAX_EXACT_BITS, power_bits
from codexlab.runtime import Lab
from codexlab.runtime.codex_scheduler import MAX_EXACT_DEPTH, MAX_GROUP_OPS
from codexlab.runtime.program import LIMITS

GRID = "@grid x:-1..1:16, y:-1..1:16\n"


def _outcome(lab: Lab, code: str, wait_s: float = 10.0) -> Any:
    """`lab.run(code)`'s run or the exception it raised, from a thread that must finish within `wait_s`
    (a guard that let the work start would hang here instead of answering)."""
    box: dict[str, Any] = {}

    def go() -> None:
        try:
            box["run"] = lab.run(code)
        except BaseException as err:  # noqa: BLE001 - the test inspects whatever came out
            box["error"] = err

    worker = threading.Thread(target=go, daemon=True)
    worker.start()
    worker.join(wait_s)
    assert not worker.is_alive(), f"`{code}` was not refused within {wait_s} s"
    return box.get("error", box.get("run"))


def _refused(lab: Lab, code: str, kind: type[CodexError]) -> CodexError:
    err = _outcome(lab, code)
    assert isinstance(err, kind), f"expected {kind.__name__}, got {type(err).__name__}: {err}"
    return err


def _only_error_beam(lab: Lab) -> None:
    """The failed cell left exactly one beam, its error beam."""
    beams = lab.store.frame("beams")
    assert list(beams["stage"]) == ["error"]


# --------------------------------------------------------------------------------------------- grids


def test_an_op_whose_operands_and_result_pass_the_memory_limit_is_refused_before_it_runs(lab):
    # 32³ points; v ⊗ v holds 3 + 3 + 9 complex components (3,932,160 bytes), a field op 4 (1,048,576):
    # with max_bytes between the two the field op runs and the tensor product is refused before it allocates.
    points = 32**3
    lab.configure(thresholds={"max_bytes": 2 * 1024 * 1024})
    code = "@grid x:-1..1:32, y:-1..1:32, z:-1..1:32\nv := [x, y, z]\nf := x*y\nL = Δf\nT = v ⊗ v\n"
    err = _refused(lab, code, ResourceError)
    assert f"{points * 16 * 15:,} estimated bytes" in str(err), str(err)
    assert err.line == 5
    _only_error_beam(lab)


def test_a_grid_whose_point_count_overflows_int64_is_refused_with_its_exact_count(lab):
    err = _refused(lab, "@grid x:0..1:65536, y:0..1:65536, z:0..1:65536, t:0..1:65536\nf := x", ResourceError)
    assert f"{65536**4:,}" in str(err) and f"{LIMITS['grid_points']:,}" in str(err)
    assert err.line == 1
    _only_error_beam(lab)


def test_a_grid_spacing_too_small_to_divide_by_is_a_located_value_error(lab):
    err = _refused(lab, "a = 1\n@grid x:0..1e-320:16, y:0..1:16\nf := x\nA = Δf", CodexValueError)
    assert "spacing" in str(err) and err.line == 2


# --------------------------------------------------------------------------------------------- loops


def test_nested_loops_are_refused_on_the_product_of_their_counts_before_any_runs(lab):
    err = _refused(lab, "a = 0\n⟲ 1000000 { ⟲ 1000000 { a = a + 1 } }", ResourceError)
    assert "1,000,000,000,000 iterations" in str(err) and (err.line, err.column) == (2, 1)
    _only_error_beam(lab)  # `a = 0` did not run either: the nest was refused at planning


def test_sequential_inner_loops_add_and_a_nest_under_the_limit_runs(lab):
    run = lab.run("a = 0\n⟲ 3 { ⟲ 4 { a = a + 1 }\n⟲ 5 { a = a + 1 } }")
    assert run.values["a"] == 3 * (4 + 5)
    err = _refused(lab, "b = 0\n⟲ 1000 { ⟲ 600 { b = b + 1 }\n⟲ 600 { b = b + 1 } }", ResourceError)
    assert "1,200,000 iterations" in str(err)


# -------------------------------------------------------------------------------------- exact numbers


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("a = 10^10^10", "10^10000000000"),
        ("a = 2^2^2^2^2^2", "2^65536"),
        ("a = 1.5^2^2^2^2", "(3/2)^65536"),
        ("a = (2/3)^(10^6)", "(2/3)^1000000"),
    ],
)
def test_exact_powers_past_the_bit_bound_are_refused_before_sympy_computes_them(lab, code, shown):
    err = _refused(lab, code, ResourceError)
    assert f"`{shown}`" in str(err) and f"{MAX_EXACT_BITS:,}" in str(err) and err.line == 1


def test_an_exact_product_past_the_bit_bound_is_refused(lab):
    err = _refused(lab, "a = (10^2000)*(10^2000)*(10^2000)*(10^2000)*(10^2000)", ResourceError)
    assert "bits" in str(err) and err.line == 1


def test_exact_numbers_within_the_bound_keep_their_value(lab):
    run = lab.run("a = 10^300\nb = 2^2^2^2\nc = 10^400")
    assert run.values["a"] == pytest.approx(1e300, rel=1e-12)
    assert run.values["b"] == 65536
    # 10^400 is exact but past the float range: its value is Inf, which the finite law vetoes.
    assert run.values["c"].law == "finite"


@pytest.mark.parametrize(
    ("base", "exponent"), [(10, 7), (3, 100), (sympy.Rational(2, 3), 50), (sympy.Rational(-7, 5), 33), (12345, 1)]
)
def test_power_bits_bounds_the_real_size_from_above(base, exponent):
    value = sympy.Rational(base) ** exponent
    real = max(abs(int(value.p)).bit_length(), int(value.q).bit_length())
    estimate = power_bits(sympy.Rational(base), sympy.Integer(exponent))
    assert real <= estimate <= real + exponent  # at most one bit of slack per factor
    assert power_bits(sympy.Integer(1), sympy.Integer(10**12)) == 0


# ------------------------------------------------------------------------------------ symbolic budget


def test_nested_laplacians_of_a_growing_form_fall_back_to_the_grid(lab):
    code = GRID + "f := exp(sin(x*y)*cos(x+y))\nA = ΔΔΔΔΔf"
    run = _outcome(lab, code)
    assert not isinstance(run, BaseException), run
    paths = [b.result.get("path") for b in run.beams if b.token == "Δ" and b.stage != "schedule"]
    assert "grid" in paths  # the deep ones, whose exact form grew past the size bound
    assert np.isfinite(np.asarray(run.values["A"].values)).all()


def test_nested_laplacians_under_method_exact_are_refused_with_a_sentence(lab):
    err = _refused(lab, GRID + "@method exact\nf := exp(sin(x*y)*cos(x+y))\nA = ΔΔΔΔΔf", ResourceError)
    assert "grows past" in str(err) and "@method fd2" in str(err) and err.line == 4


# --------------------------------------------------------------------------------- only CodexErrors


@pytest.mark.parametrize("code", ["a = 1/0", "a = 0^-1", GRID + "a = ‖x/0‖", "a = log(0)"])
def test_divisions_by_zero_are_vetoed_values_not_raw_exceptions(lab, code):
    run = _outcome(lab, code)
    assert not isinstance(run, BaseException), run
    assert run.values["a"].law == "finite"


def _boom(*args: Any, **kwargs: Any) -> Any:
    raise KeyError("ComplexInfinity")


@pytest.mark.parametrize(
    ("target", "stage"),
    [
        ("codexlab.runtime.analysis._Rewriter.expression", "rewrite"),
        ("codexlab.runtime.codex_scheduler._Planner.statement", "plan"),
        ("codexlab.runtime.machine.Machine.compute", "execute"),
    ],
)
def test_an_unexpected_error_in_any_stage_is_a_located_evaluation_error(lab, monkeypatch, target, stage):
    monkeypatch.setattr(target, _boom)
    err = _refused(lab, "a = 1\n\nb = a + 2", CodexEvaluationError)
    assert err.line in (1, 3), stage  # the statement it happened at
    assert "KeyError" in str(err) and "ComplexInfinity" in str(err)
    assert isinstance(err.__cause__, KeyError)
    _only_error_beam(lab)


# ------------------------------------------------------------------------- found by the evaluator fuzz


def test_an_until_condition_on_a_vetoed_name_stops_the_loop_instead_of_a_name_error(lab):
    run = lab.run("a = log(0.0)\n⟲ until ‖a‖ < 1 max 3 { a = a * 0.5 }\nb = 1")
    assert run.values["a"].law == "finite" and run.values["b"] == 1
    loop = next(b for b in run.beams if b.stage == "loop" and "iterations" in b.result)
    assert loop.result["condition_met"] is False
    assert "the condition uses `a`, vetoed by `finite`" in loop.result["warning"]


def test_a_loop_bound_on_a_vetoed_name_leaves_the_loop_not_computed(lab):
    run = lab.run("n = log(0.0)\na = 1\n⟲ n { a = a * 0.5 }\nb = a + 1\nc = 2")
    assert run.values["a"].law == "finite" and "uses `n`" in run.values["a"].reason
    assert run.values["b"].law == "finite"  # reads `a`, which the loop could not compute
    assert run.values["c"] == 2
    assert not any(b.stage == "loop" for b in run.beams)


def test_a_long_chain_of_grid_ops_compiles_in_bounded_programs_with_the_same_value(tmp_path):
    lab = Lab(home=tmp_path / "home", flags={"COST_THRESHOLD": 0.0})  # every op on the grid
    chain = "f" + " + f" * 20  # 21 grid additions; one program would compile superlinearly in its length
    code = "@grid x:-1..1:16, y:-1..1:16\nf := sin(3*x)*cos(2*y)\nq = " + chain
    program = lab.compile(code)
    groups = [g for s in program.statements for g in s.groups]
    assert len(groups) >= 3 and all(len(g.regs) <= MAX_GROUP_OPS for g in groups)
    q = lab.run(code).values["q"]
    X, Y = np.meshgrid(q.x.values, q.y.values, indexing="ij")
    np.testing.assert_allclose(q.values, 21 * np.sin(3 * X) * np.cos(2 * Y), atol=1e-12)


def _nested_sin(depth: int) -> str:
    return "sin(" * depth + "x*y" + ")" * depth


def test_a_deeply_nested_exact_form_is_differentiated_on_the_grid_not_by_sympy(lab):
    run = _outcome(lab, GRID + f"a = Δ({_nested_sin(150)})")  # SymPy's chain rule recursed past the limit
    assert not isinstance(run, BaseException), run
    a = run.values["a"]
    X, Y = np.meshgrid(a.x.values, a.y.values, indexing="ij")
    f = X * Y
    for _ in range(150):
        f = np.sin(f)
    h = 2 / 16  # periodic fd2: the second difference along each axis, wrapping around
    ref = sum((np.roll(f, 1, k) + np.roll(f, -1, k) - 2 * f) / h**2 for k in (0, 1))
    np.testing.assert_allclose(a.values, ref, rtol=1e-9, atol=1e-9)


def test_a_deeply_nested_exact_form_under_method_exact_is_refused(lab):
    err = _refused(lab, GRID + f"@method exact\na = Δ({_nested_sin(150)})", ResourceError)
    assert f"deeper than {MAX_EXACT_DEPTH} levels" in str(err) and err.line == 3


def test_solver_steps_count_against_the_loop_iteration_limit(lab):
    base = GRID + "f := sin(x)\n"
    err = _refused(lab, base + "a = evolve(f, steps=10^12, dt=1e-4)", ResourceError)
    assert "1,000,000,000,000 time steps" in str(err) and err.line == 3
    err = _refused(lab, base + '⟲ 1000 { a = evolve(f, steps=10000, dt=1e-6, eq="heat") }', ResourceError)
    assert f"over the {LIMITS['loop_iterations'] // 1000:,}" in str(err)


def test_a_wave_speed_whose_square_overflows_is_refused_at_its_directive(lab):
    err = _refused(lab, "@grid x:-1..1:8, y:-1..1:8, t:0..1:8\n@wave c=1e308\nf := sin(x-t)\na = □f", CodexValueError)
    assert "`@wave c=1e+308` is too large" in str(err) and err.line == 2


def test_a_seed_out_of_range_is_refused_at_its_directive(lab):
    err = _refused(lab, "a = 1\n@seed 99999999999999999999999\nb = 2", CodexValueError)
    assert "0..2⁶³−1" in str(err) and err.line == 2  # not at the first draw that uses it
