"""The QGlyph bridge: programs, fused execution against op-by-op kernels and NumPy, fused loops."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import codexlab.qwave  # noqa: F401  (enables float64)
from codexlab.errors import CodexNameError, CodexValueError
from codexlab.lang import parse, parse_expr
from codexlab.photon import codex_to_photon_ast, rewrite
from codexlab.photon.ir import PLoop, PNode
from codexlab.qwave import kernels as K
from codexlab.qwave.bridge import NotFusable, compile_loop, compile_program
from codexlab.qwave.grid import Grid
from codexlab.qwave.qglyph import QInput, to_qglyph, to_wave_program

G2 = Grid.from_spec([("x", -4, 4, 64), ("y", -4, 4, 48)])
G3 = Grid.from_spec([("x", 0, 2 * np.pi, 16), ("y", 0, 2 * np.pi, 12), ("z", 0, 2 * np.pi, 10)])
GT = Grid.from_spec([("x", 0, 2 * np.pi, 32), ("t", 0, 1, 24)], {"x": "periodic", "t": "dirichlet"})
D2 = Grid.from_spec([("x", 0, 1, 33), ("y", 0, 1, 29)], "dirichlet")
AX2 = K.axis_specs(G2)


def expr(text: str) -> PNode:
    return codex_to_photon_ast(parse_expr(text))


def loop(text: str) -> PLoop:
    stmt = codex_to_photon_ast(parse(text)).statements[0]
    assert isinstance(stmt, PLoop)
    return stmt


def body(lp: PLoop) -> list[tuple[str, PNode]]:
    return [(s.name, s.expr) for s in lp.body]  # type: ignore[union-attr]


def gaussian(grid: Grid, width: float = 1.0) -> np.ndarray:
    X, Y = grid.mesh()[:2]
    return np.exp(-(X**2 + 2 * Y**2) / width)


def run(text: str, grid: Grid, **inputs: Any) -> np.ndarray:
    out = compile_program(expr(text), grid).run(inputs).outputs["_"]
    return np.asarray(out)


def close(a: Any, b: Any, tol: float = 1e-12) -> None:
    b = np.asarray(b)
    np.testing.assert_allclose(np.asarray(a), b, rtol=tol, atol=tol * max(1.0, float(np.max(np.abs(b)))))


# ------------------------------------------------------------------------------------------- programs


def test_shared_subexpressions_are_one_instruction() -> None:
    prog = to_qglyph(expr("∇ψ • ∇ψ + Δψ"))
    assert [i.op for i in prog.instructions] == ["∇", "•", "Δ", "+"]
    grad = prog.instructions[0]
    assert grad.args == (QInput("ψ"),)
    assert prog.instructions[1].args == (grad.id, grad.id)
    assert prog.inputs == ("ψ",) and prog.fusable and prog.why_not is None
    assert prog.outputs == (("_", prog.instructions[-1].id),)


def test_statements_are_ssa() -> None:
    prog = to_qglyph([("g", expr("∇ψ")), ("L", expr("g • g")), ("ψ", expr("ψ + L"))])
    assert prog.inputs == ("ψ",)
    g, dot, add = prog.instructions
    assert dot.args == (g.id, g.id) and add.args == (QInput("ψ"), dot.id)
    assert [n for n, _ in prog.outputs] == ["g", "L", "ψ"]
    assert to_qglyph([("g", expr("∇ψ")), ("L", expr("g • g"))], outputs=["L"]).outputs == (("L", dot.id),)


def test_ids_change_with_the_expression() -> None:
    base = to_qglyph(expr("∇ψ • ∇ψ + Δψ")).qglyph_id
    assert to_qglyph(expr("∇ψ • ∇ψ + Δψ")).qglyph_id == base
    assert to_qglyph(expr("∇ψ • ∇ψ + Δφ")).qglyph_id != base
    assert to_qglyph(expr("ψ + 1")).qglyph_id != to_qglyph(expr("ψ + 1.0")).qglyph_id
    assert to_qglyph(expr("ψ + 1"), outputs=["a"]).qglyph_id != to_qglyph(expr("ψ + 1")).qglyph_id


def test_ids_are_stable_across_processes() -> None:
    code = (
        "from codexlab.lang import parse_expr\n"
        "from codexlab.photon import codex_to_photon_ast\n"
        "from codexlab.qwave.qglyph import to_qglyph\n"
        "p = to_qglyph(codex_to_photon_ast(parse_expr('∇ψ • ∇ψ + Δψ * sin(x) + 0.5')))\n"
        "print(p.qglyph_id, *[i.id for i in p.instructions])\n"
    )
    here = to_qglyph(expr("∇ψ • ∇ψ + Δψ * sin(x) + 0.5"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.split() == [here.qglyph_id, *(i.id for i in here.instructions)]


def test_coordinates_and_constants_are_leaves() -> None:
    prog = to_qglyph(expr("sin(x) * y + 2 * i"))
    assert prog.coords == ("x", "y") and prog.inputs == ()
    assert QInput("x", "coord") in prog.instructions[0].args
    X, Y = G2.mesh()
    close(run("sin(x) * y + 2 * i", G2), np.sin(X) * Y + 2j)


def test_wave_program_of_a_derivation() -> None:
    derivation = rewrite(expr("∇·(∇ψ)"))
    prog = to_wave_program(derivation)
    assert [i.op for i in prog.instructions] == ["Δ"]
    psi = gaussian(G2)
    close(compile_program(prog, G2).run({"ψ": psi}).outputs["_"], K.lap(psi, AX2))


def test_not_fusable_reasons() -> None:
    cases = {
        "a ⊕ b": "`⊕` cannot run in a fused program \\(it normalizes a superposition",
        "a ↔ b": "`↔` cannot run .*entangled pair",
        "⧖ψ": "`⧖` cannot run .*measurement",
        "random(seed=3) + ψ": "`random` cannot run .*random field",
        'load("f.nc")': "`load` cannot run .*reads data",
        "foo(ψ) + 1": "`foo` cannot run .*not an elementary function",
    }
    for text, reason in cases.items():
        prog = to_qglyph(expr(text))
        assert not prog.fusable
        assert prog.why_not is not None
        with pytest.raises(NotFusable, match=reason):
            compile_program(prog, G2)


def test_grid_and_operand_checks_are_not_fusable() -> None:
    with pytest.raises(NotFusable, match="`∂z` needs the axis `z`"):
        compile_program(expr("∂z ψ"), G2)
    with pytest.raises(NotFusable, match="Coordinate `z` is not an axis"):
        compile_program(expr("z + ψ"), G2)
    with pytest.raises(NotFusable, match="Spectral derivatives need periodic axes"):
        compile_program(expr("Δψ"), D2, method="spectral")
    psi = gaussian(G2)
    with pytest.raises(NotFusable, match="`⊗` of these operands is an entangled pair"):
        compile_program(expr("a ⊗ b"), G2)({"a": psi, "b": psi})
    with pytest.raises(CodexNameError, match="Input `ψ` is missing"):
        compile_program(expr("Δψ"), G2)({"φ": psi})
    with pytest.raises(CodexValueError, match="`keep='some'` is unknown"):
        compile_program(expr("Δψ"), G2, keep="some")


# ------------------------------------------------------------------------------------ fused execution


def test_grad_dot_grad_plus_laplacian_matches_kernels_and_numpy() -> None:
    psi = gaussian(G2)
    g = K.grad(psi, AX2)
    reference = np.asarray(K.dot(g, g)) + np.asarray(K.lap(psi, AX2))
    close(run("∇ψ • ∇ψ + Δψ", G2, ψ=psi), reference)
    hx, hy = G2.spacing
    dx = (np.roll(psi, -1, 0) - np.roll(psi, 1, 0)) / (2 * hx)
    dy = (np.roll(psi, -1, 1) - np.roll(psi, 1, 1)) / (2 * hy)
    lap = (np.roll(psi, -1, 0) - 2 * psi + np.roll(psi, 1, 0)) / hx**2
    lap += (np.roll(psi, -1, 1) - 2 * psi + np.roll(psi, 1, 1)) / hy**2
    close(run("∇ψ • ∇ψ + Δψ", G2, ψ=psi), dx**2 + dy**2 + lap)


def test_keep_all_returns_every_intermediate() -> None:
    psi = gaussian(G2)
    prog = to_qglyph(expr("∇ψ • ∇ψ + Δψ"))
    values = compile_program(prog, G2, keep="all")({"ψ": psi})
    grad, dot, lap, total = prog.instructions
    assert set(values) == {i.id for i in prog.instructions}
    close(values[grad.id], K.grad(psi, AX2))
    close(values[lap.id], K.lap(psi, AX2))
    only = compile_program(prog, G2, keep="outputs")({"ψ": psi})
    assert set(only) == {total.id}
    close(only[total.id], values[total.id])


@pytest.mark.parametrize("method", ["fd2", "fd4", "spectral"])
def test_divergence_of_gradient(method: str) -> None:
    psi = gaussian(G2)
    reference = K.div(K.grad(psi, AX2, method), AX2, method)
    close(compile_program(expr("∇·(∇ψ)"), G2, method=method).run({"ψ": psi}).outputs["_"], reference)


def test_density_plus_laplacian_of_a_complex_state() -> None:
    X, Y = G2.mesh()
    psi = gaussian(G2) * np.exp(1j * (2 * X - Y))
    reference = np.abs(psi) ** 2 + np.asarray(K.lap(psi, AX2))
    out = run("|ψ|² + Δψ", G2, ψ=psi)
    assert np.iscomplexobj(out)
    close(out, reference)


def test_vector_ops_in_3d() -> None:
    X, Y, Z = G3.mesh()
    ax = K.axis_specs(G3)
    F = np.stack([np.sin(Y) * np.cos(Z), np.sin(Z) * X, np.cos(X) + Y])
    H = np.stack([np.cos(Z), np.sin(X * Y), Z])
    f = np.sin(X) * np.cos(Y) * np.sin(2 * Z)
    close(run("∇×F", G3, F=F), K.curl(F, ax))
    close(run("∇·F + f", G3, F=F, f=f), np.asarray(K.div(F, ax)) + f)
    close(run("F × H", G3, F=F, H=H), np.cross(F, H, axis=0))
    close(run("F • H", G3, F=F, H=H), np.einsum("i...,i...->...", F, H))
    T = np.einsum("i...,j...->ij...", F, H)
    close(run("F ⊗ H", G3, F=F, H=H), T)
    close(run("(F ⊗ H) • F", G3, F=F, H=H), np.einsum("ij...,j...->i...", T, F))
    close(run("F • (F ⊗ H)", G3, F=F, H=H), np.einsum("i...,ij...->j...", F, T))
    close(
        run("(F ⊗ H) • (H ⊗ F)", G3, F=F, H=H),
        np.einsum("ij...,jk...->ik...", T, np.einsum("i...,j...->ij...", H, F)),
    )
    close(run("∂z f + 2 * ΔF", G3, F=F, f=f), K.derivative(f, ax, 2) + 2 * np.asarray(K.lap(F, ax)))


def test_two_d_curl_cross_vector_literal_and_norm() -> None:
    X, Y = G2.mesh()
    F = np.stack([-Y, X * Y])
    close(run("∇×F", G2, F=F), K.curl(F, AX2))
    close(run("F × [y, x]", G2, F=F), F[0] * X - F[1] * Y)
    psi = gaussian(G2)
    norm = np.sqrt(np.sum(psi**2) * G2.cell_volume)
    close(run("‖ψ‖", G2, ψ=psi), norm)
    close(run("‖F‖ + ‖-2‖", G2, F=F), np.sqrt(np.sum(F**2) * G2.cell_volume) + 2)


def test_interference_elementary_calls_and_arithmetic() -> None:
    a, b = gaussian(G2), gaussian(G2, 2.0)
    close(run("a ⋈[0.7] b", G2, a=a, b=b), a + np.exp(0.7j) * b)
    close(
        run("exp(-a) / (1 + b^2) - sqrt(abs(a - b))", G2, a=a, b=b),
        np.exp(-a) / (1 + b**2) - np.sqrt(np.abs(a - b)),
    )
    w = a * np.exp(1j * b)
    close(
        run("re(w) * im(conj(w)) + log(1 + a) - tan(b) * cos(a)", G2, w=w, a=a, b=b),
        w.real * (-w.imag) + np.log(1 + a) - np.tan(b) * np.cos(a),
    )
    close(run("2^-1 * s + 3", G2, s=4.0), 5.0)


def test_time_derivatives_and_dalembertian() -> None:
    X, T = GT.mesh()
    ax = K.axis_specs(GT)
    u = np.sin(X - 2 * T)
    out = compile_program(expr("□u + d/dt u"), GT, c=2.0).run({"u": u}).outputs["_"]
    close(out, np.asarray(K.dalembert(u, ax, c=2.0)) + np.asarray(K.derivative(u, ax, 1)))


def test_float32_and_cost_analysis_and_cache() -> None:
    psi = gaussian(G2)
    prog = to_qglyph(expr("∇ψ • ∇ψ + Δψ"))
    c32 = compile_program(prog, G2, dtype="float32")
    out = c32.run({"ψ": psi}).outputs["_"]
    assert out.dtype == np.float32
    close(out, run("∇ψ • ∇ψ + Δψ", G2, ψ=psi), tol=1e-4)
    compiled = compile_program(prog, G2)
    assert compile_program(prog, G2) is compiled
    cost = compiled.cost_analysis()
    assert cost["flops"] > G2.size and cost["bytes_accessed"] > 8 * G2.size


def test_outputs_that_are_inputs_or_constants() -> None:
    prog = to_qglyph([("a", expr("ψ")), ("b", expr("2")), ("c", expr("a + b"))])
    result = compile_program(prog, G2).run({"ψ": gaussian(G2)})
    close(result.outputs["a"], gaussian(G2))
    assert float(result.outputs["b"]) == 2.0
    close(result.outputs["c"], gaussian(G2) + 2)


# ------------------------------------------------------------------------------------------------ loops


def test_heat_loop_equals_a_python_loop() -> None:
    lp = loop("⟲ 50 { ψ = ψ + 0.001*Δψ }")
    psi = gaussian(G2)
    result = compile_loop(body(lp), ["ψ"], G2, count=50)({"ψ": psi})
    reference = psi.copy()
    for _ in range(50):
        reference = reference + 0.001 * np.asarray(K.lap(reference, AX2))
    assert result.iterations == 50 and result.condition_met and result.attractor is None
    close(result.values["ψ"], reference)


def test_a_watched_fused_loop_reports_progress_and_computes_the_same() -> None:
    lp = loop("⟲ 40 { ψ = ψ + 0.001*Δψ }")
    psi = gaussian(G2)
    compiled = compile_loop(body(lp), ["ψ"], G2, count=40)
    seen: list[int] = []
    watched = compiled({"ψ": psi}, progress=seen.append, every=10)
    plain = compiled({"ψ": psi})
    assert sorted(seen) == [10, 20, 30, 40]
    assert watched.iterations == plain.iterations == 40
    close(watched.values["ψ"], plain.values["ψ"])
    until = loop("⟲ until a > 1.99 max 100 { a = 0.5*a + 1 }")
    counts: list[int] = []
    compiled_until = compile_loop(body(until), ["a"], G2, until=until.until, max_iter=100)
    result = compiled_until({"a": 0.0}, progress=counts.append, every=3)
    assert result.iterations == 8 and sorted(counts) == [3, 6, 8]  # after each chunk, the last one too


def test_constants_are_arguments_not_baked_in() -> None:
    lp = loop("⟲ 3 { ψ = ψ + dt*Δψ }")
    psi = gaussian(G2)
    first = compile_loop(body(lp), ["ψ"], G2, count=3)
    second = compile_loop(body(lp), ["ψ"], G2, count=5)
    assert first._kernel is second._kernel
    for dt, compiled, n in ((0.001, first, 3), (0.002, second, 5)):
        reference = psi.copy()
        for _ in range(n):
            reference = reference + dt * np.asarray(K.lap(reference, AX2))
        close(compiled({"ψ": psi, "dt": dt}).values["ψ"], reference)


def test_until_is_a_do_while() -> None:
    lp = loop("⟲ until a > 1.99 max 100 { a = 0.5*a + 1 }")
    a, k = 0.0, 0
    while True:
        a, k = 0.5 * a + 1, k + 1
        if a > 1.99:
            break
    result = compile_loop(body(lp), ["a"], G2, until=lp.until, max_iter=100)({"a": 0.0})
    assert (result.iterations, result.condition_met, float(result.values["a"])) == (k, True, a) == (8, True, 1.9921875)
    once = compile_loop(body(lp), ["a"], G2, until=expr("a > 0"), max_iter=100)({"a": 5.0})
    assert (once.iterations, float(once.values["a"])) == (1, 3.5)
    capped = compile_loop(body(lp), ["a"], G2, until=expr("a > 5"), max_iter=10)({"a": 0.0})
    assert (capped.iterations, capped.condition_met) == (10, False)
    never = compile_loop(body(lp), ["a"], G2, until=expr("a > 5"), max_iter=0)({"a": 0.0})
    assert (never.iterations, never.condition_met, float(never.values["a"])) == (0, False, 0.0)


def test_fixed_point_matches_the_python_tracker() -> None:
    from codexlab.runtime.attractors import AttractorTracker

    lp = loop("⟲ 200 { a = 0.5*a + 1 }")
    result = compile_loop(body(lp), ["a"], G2, count=200)({"a": 0.0})
    tracker, a = AttractorTracker(["a"]), 0.0
    for k in range(200):
        a = 0.5 * a + 1
        tracker.observe(k, {"a": a}, lambda v: v)
    assert result.attractor == tracker.attractor()
    # |aₖ − aₖ₋₁| = 2⁻ᵏ falls below 1e-10·2 first at k = 33.
    assert result.attractor == {"kind": "fixed_point", "iteration": 33, "residual": 2.0**-33}


def test_two_cycle_of_numbers_and_of_fields() -> None:
    lp = loop("⟲ 10 { a = 1 - a }")
    result = compile_loop(body(lp), ["a"], G2, count=10)({"a": 0.3})
    assert result.attractor == {"kind": "cycle", "period": 2, "iteration": 2, "first_seen": 0}
    flip = loop("⟲ 7 { ψ = -ψ }")
    out = compile_loop(body(flip), ["ψ"], G2, count=7)({"ψ": gaussian(G2)})
    assert out.attractor is not None and out.attractor["period"] == 2
    close(out.values["ψ"], -gaussian(G2))


def test_three_cycle_rotation() -> None:
    lp = loop("⟲ 10 { tmp = a\na = b\nb = c\nc = tmp }")
    result = compile_loop(body(lp), ["tmp", "a", "b", "c"], G2, count=10)({"a": 1.0, "b": 2.0, "c": 3.0})
    assert result.attractor == {"kind": "cycle", "period": 3, "iteration": 3, "first_seen": 0}
    assert {k: float(v) for k, v in result.values.items()} == {"tmp": 1.0, "a": 2.0, "b": 3.0, "c": 1.0}


def test_long_cycle_found_by_brent_beyond_the_window() -> None:
    lp = loop("⟲ 100 { tmp = a\na = b\nb = c\nc = d\nd = e\ne = tmp }")
    start = {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0, "e": 5.0}
    exact = compile_loop(body(lp), list(start), G2, count=100)(start)
    assert exact.attractor == {"kind": "cycle", "period": 5, "iteration": 5, "first_seen": 0}
    brent = compile_loop(body(lp), list(start), G2, count=100, window=2)(start)
    assert brent.attractor is not None
    assert brent.attractor["period"] == 5 and brent.attractor["iteration"] <= 2 * 5 + 5


def test_loop_values_become_complex_when_the_body_makes_them() -> None:
    lp = loop("⟲ 4 { ψ = ψ * exp(i*0.25) }")
    psi = gaussian(G2)
    result = compile_loop(body(lp), ["ψ"], G2, count=4)({"ψ": psi})
    close(result.values["ψ"], psi * np.exp(1j))


def test_not_fusable_loop_bodies_and_bad_bounds() -> None:
    lp = loop("⟲ 3 { ψ = ψ ⊕ φ }")
    with pytest.raises(NotFusable, match="`⊕` cannot run in a fused program"):
        compile_loop(body(lp), ["ψ"], G2, count=3)
    heat = body(loop("⟲ 3 { ψ = ψ + 0.1*Δψ }"))
    with pytest.raises(CodexValueError, match="either `count=` or `until=`"):
        compile_loop(heat, ["ψ"], G2)
    with pytest.raises(CodexValueError, match="needs a bound"):
        compile_loop(heat, ["ψ"], G2, until=expr("1 > 0"))
    with pytest.raises(CodexValueError, match="`count` must be a whole number"):
        compile_loop(heat, ["ψ"], G2, count=-1)
    with pytest.raises(NotFusable, match="condition of `⟲ until` must be a comparison"):
        compile_loop(heat, ["ψ"], G2, until=expr("‖ψ‖"), max_iter=3)({"ψ": gaussian(G2)})
    with pytest.raises(CodexNameError, match="Input `ψ` is missing"):
        compile_loop(heat, ["ψ"], G2, count=3)({})
