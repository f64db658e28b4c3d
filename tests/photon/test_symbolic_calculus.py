"""Exact calculus: the symengine differentiation path against SymPy's, numbers, and box integrals."""

from __future__ import annotations

import functools
import math

import pytest
import sympy as sp

from codexlab.errors import CodexValueError
from codexlab.photon import _calculus
from codexlab.photon.ir import name, node
from codexlab.photon.symbolic import (
    SYMENGINE_THRESHOLD,
    NoSymbolicForm,
    T,
    X,
    Y,
    Z,
    choose_diff_backend,
    differentiate,
    integrate_over,
    to_sympy,
)
from codexlab.qwave.grid import Grid


@functools.cache
def _large_sum() -> sp.Expr:
    """A 1000-term polynomial in x and y."""
    return sp.Add(*[sp.Rational(k, 3) * X**k * Y ** (k % 7) for k in range(1, 1001)])


def test_backend_choice_by_size_and_functions() -> None:
    assert choose_diff_backend(sp.sin(X) * Y) == "sympy"
    assert choose_diff_backend(_large_sum()) == "symengine"
    big_abs = sp.Add(*[sp.Abs(X - k) for k in range(SYMENGINE_THRESHOLD)])
    assert choose_diff_backend(big_abs) == "sympy"
    mixed_symbols = _large_sum() + sp.Symbol("x")
    assert choose_diff_backend(mixed_symbols) == "sympy"


@pytest.mark.slow
def test_symengine_and_sympy_give_the_same_expression() -> None:
    waves = sp.Add(*[sp.sin(k * X + Y) for k in range(1, 1001)])
    assert choose_diff_backend(waves) == "symengine"
    by_symengine = differentiate(waves, (X, 1), backend="symengine")
    assert by_symengine == sp.Add(*[k * sp.cos(k * X + Y) for k in range(1, 1001)])
    assert by_symengine == differentiate(waves, (X, 1), backend="sympy")
    assert all(s.is_real for s in by_symengine.free_symbols)


def test_symengine_handles_transcendental_terms() -> None:
    e = sp.Add(*[sp.sin(k * X + Y) * sp.exp(-X / k) for k in range(1, 30)]) + sp.log(X**2 + 1) * sp.tan(Y)
    assert differentiate(e, (X, 2), backend="symengine") == differentiate(e, (X, 2), backend="sympy")
    assert differentiate(e, (Z, 1), backend="symengine") == 0


def test_to_sympy_uses_symengine_for_large_expressions(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[int] = []
    original = _calculus._diff_symengine

    def spy(expr: sp.Expr, orders: tuple[tuple[sp.Symbol, int], ...]) -> sp.Expr:
        used.append(1)
        return original(expr, orders)

    monkeypatch.setattr(_calculus, "_diff_symengine", spy)
    grad = to_sympy(node("∇", name("ψ")), {"ψ": _large_sum()})
    assert len(used) == 2
    d_dx = sp.Add(*[sp.Rational(k * k, 3) * X ** (k - 1) * Y ** (k % 7) for k in range(1, 1001)])
    d_dy = sp.Add(*[sp.Rational(k * (k % 7), 3) * X**k * Y ** (k % 7 - 1) for k in range(1, 1001)])
    assert grad == sp.ImmutableMatrix([d_dx, d_dy])
    used.clear()
    to_sympy(node("∇", name("ψ")), {"ψ": sp.sin(X)})
    assert used == []


def test_unknown_backend() -> None:
    with pytest.raises(CodexValueError, match=r"Differentiation backend `maxima` is unknown"):
        differentiate(X, (X, 1), backend="maxima")  # type: ignore[arg-type]


def test_numbers_are_exact() -> None:
    assert _calculus.as_number(0.1) == sp.Rational(1, 10)
    assert _calculus.as_number(-2) == -2
    assert _calculus.as_number(1e-300) == sp.Rational(1, 10**300)
    assert _calculus.as_number(2j) == 2 * sp.I
    assert _calculus.as_number(math.inf) == sp.oo
    assert _calculus.as_number(math.nan) is sp.nan
    with pytest.raises(CodexValueError, match=r"`True` is a boolean"):
        _calculus.as_number(True)


def test_integrate_over_a_grid_box() -> None:
    grid = Grid.from_spec([("x", -1, 1, 8), ("y", 0, 0.5, 8)])
    assert integrate_over(X**2 + Y, grid) == sp.Rational(1, 3) + sp.Rational(1, 4)
    assert integrate_over(sp.Integer(3), grid) == 3
    assert integrate_over(sp.Matrix([1, X**2]), grid) == sp.ImmutableMatrix([1, sp.Rational(1, 3)])
    timed = Grid.from_spec([("x", 0, 1, 8), ("t", 0, 2, 8)])
    assert integrate_over(X * T, timed) == 1


def test_integrate_over_refuses_coordinates_off_the_grid() -> None:
    grid = Grid.from_spec([("x", -1, 1, 8), ("y", -1, 1, 8)])
    with pytest.raises(CodexValueError, match=r"depends on `z`, which is not an axis of the grid"):
        integrate_over(X * Z, grid)


def test_integral_that_runs_out_of_time() -> None:
    grid = Grid.from_spec([("x", -1, 1, 8), ("y", -1, 1, 8)])
    hard = sp.exp(sp.sin(X) * sp.cos(Y * X**2))
    with pytest.raises(NoSymbolicForm, match=r"no closed form for the integral within 0.5 s"):
        integrate_over(hard, grid, time_budget_s=0.5)
    assert integrate_over(X**2, grid) == sp.Rational(4, 3)
