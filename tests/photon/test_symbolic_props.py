"""Properties of `to_sympy` on random expressions: derivatives against high-precision finite differences."""

from __future__ import annotations

import mpmath
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from codexlab.photon.ir import PNode, name, node, num
from codexlab.photon.symbolic import X, Y, to_sympy

_LEAVES = st.one_of(st.sampled_from([name("x"), name("y")]), st.integers(-3, 3).map(num))


def _extend(children: st.SearchStrategy[PNode]) -> st.SearchStrategy[PNode]:
    ops = st.sampled_from(["+", "-", "*"])
    binary = st.tuples(ops, children, children).map(lambda t: node(t[0], t[1], t[2]))
    unary = st.tuples(st.sampled_from(["sin", "cos"]), children).map(lambda t: node("call", t[1], value=t[0]))
    return st.one_of(binary, unary)


EXPRS = st.recursive(_LEAVES, _extend, max_leaves=6)
POINTS = st.tuples(st.floats(-1, 1), st.floats(-1, 1))


def _fd(expr: sp.Expr, point: tuple[float, float], kind: str) -> mpmath.mpf:
    """A central-difference derivative at 40 digits (error ~h², h = 1e-10)."""
    f = sp.lambdify((X, Y), expr, "mpmath")
    with mpmath.workdps(40):
        h = mpmath.mpf("1e-10")
        x0, y0 = mpmath.mpf(point[0]), mpmath.mpf(point[1])
        if kind == "dx":
            return (f(x0 + h, y0) - f(x0 - h, y0)) / (2 * h)
        return (f(x0 + h, y0) + f(x0 - h, y0) + f(x0, y0 + h) + f(x0, y0 - h) - 4 * f(x0, y0)) / h**2


def _at(expr: sp.Expr, point: tuple[float, float]) -> complex:
    return complex(expr.evalf(30, subs={X: point[0], Y: point[1]}))


@settings(max_examples=60, deadline=None)
@given(EXPRS, POINTS)
def test_gradient_and_laplacian_match_finite_differences(e: PNode, point: tuple[float, float]) -> None:
    f = to_sympy(e)
    grad = to_sympy(node("∇", e))
    lap = to_sympy(node("Δ", e))
    assert abs(_at(grad[0], point) - complex(_fd(f, point, "dx"))) <= 1e-8 * (1 + abs(_at(grad[0], point)))
    assert abs(_at(lap, point) - complex(_fd(f, point, "lap"))) <= 1e-6 * (1 + abs(_at(lap, point)))


@settings(max_examples=60, deadline=None)
@given(EXPRS)
def test_div_grad_is_the_laplacian_and_curl_grad_vanishes(e: PNode) -> None:
    assert sp.simplify(to_sympy(node("∇·", node("∇", e))) - to_sympy(node("Δ", e))) == 0
    assert sp.simplify(to_sympy(node("∇×", node("∇", e)))) == 0


@settings(max_examples=60, deadline=None)
@given(EXPRS, EXPRS, st.integers(-4, 4))
def test_laplacian_is_linear(a: PNode, b: PNode, k: int) -> None:
    combined = to_sympy(node("Δ", node("+", node("*", num(k), a), b)))
    separate = k * to_sympy(node("Δ", a)) + to_sympy(node("Δ", b))
    assert sp.expand(combined - separate) == 0
