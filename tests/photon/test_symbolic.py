"""`to_sympy`: each glyph against hand-written SymPy, wrong kinds, names, and ops with no symbolic form."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy as sp
import xarray as xr

from codexlab.errors import CodexError, CodexNameError, CodexTypeError, CodexValueError
from codexlab.photon.ir import PNode, name, node, num
from codexlab.photon.symbolic import COORDS, NoSymbolicForm, T, X, Y, Z, to_sympy
from codexlab.qwave.grid import Grid

SIGMA = sp.Rational(3, 20)
GAUSS = sp.exp(-(X**2 + Y**2) / (2 * SIGMA**2))


def call(fn: str, *args: PNode, **kwargs: PNode) -> PNode:
    return node("call", *args, value=fn, kwargs=tuple(kwargs.items()))


def vec(*items: PNode) -> PNode:
    return node("vec", *items)


def zero(value: sp.Basic) -> bool:
    """Whether a scalar or every entry of a matrix simplifies to 0."""
    if isinstance(value, sp.MatrixBase):
        return all(sp.simplify(e) == 0 for e in value)
    return sp.simplify(value) == 0


ψ, φ, F, G = name("ψ"), name("φ"), name("F"), name("G")
x, y, z, t, i = name("x"), name("y"), name("z"), name("t"), name("i")


# ------------------------------------------------------------------------------------------------ leaves


def test_leaves_are_exact() -> None:
    assert to_sympy(num(3)) == sp.Integer(3)
    assert to_sympy(num(0.15)) == sp.Rational(3, 20)
    assert to_sympy(num(1.5 - 2j)) == sp.Rational(3, 2) - 2 * sp.I
    assert to_sympy(i) is sp.I
    assert [to_sympy(c) for c in (x, y, z, t)] == [X, Y, Z, T]
    assert all(s.is_real for s in (X, Y, Z, T))
    assert COORDS == {"x": X, "y": Y, "z": Z, "t": T}


def test_names_come_from_env_and_plain_coordinate_symbols_become_real() -> None:
    plain = sp.Symbol("x") ** 2
    assert to_sympy(ψ, {"ψ": plain}) == X**2
    assert to_sympy(ψ, {"ψ": 2.5}) == sp.Rational(5, 2)
    assert to_sympy(F, {"F": sp.Matrix([X, Y])}) == sp.ImmutableMatrix([X, Y])


def test_unknown_name_lists_env_and_suggests() -> None:
    with pytest.raises(
        CodexNameError,
        match=r"`ψ2` is not defined \(did you mean `ψ`\?\); the defined names are `φ`, `ψ`",
    ):
        to_sympy(name("ψ2"), {"ψ": X, "φ": Y})
    with pytest.raises(CodexNameError, match="nothing is defined"):
        to_sympy(ψ)


def test_a_bare_string_is_not_a_value() -> None:
    with pytest.raises(CodexTypeError, match=r"`\"a.nc\"` is a string, which is only an argument"):
        to_sympy(node("str", value="a.nc"))


def test_bad_coordinate_list() -> None:
    with pytest.raises(CodexValueError, match=r"`w` is not a coordinate"):
        to_sympy(num(1), coords=("x", "w"))


# -------------------------------------------------------------------------------- differential glyphs


def test_gradient_of_gaussian_matches_hand_derivative() -> None:
    got = to_sympy(node("∇", ψ), {"ψ": GAUSS})
    assert isinstance(got, sp.ImmutableMatrix) and got.shape == (2, 1)
    assert zero(got - sp.Matrix([-X / SIGMA**2 * GAUSS, -Y / SIGMA**2 * GAUSS]))


def test_gradient_dimension_follows_spatial_coords_not_t() -> None:
    f = X * Y * Z * T
    got = to_sympy(node("∇", ψ), {"ψ": f}, ("x", "y", "z", "t"))
    assert got == sp.ImmutableMatrix([Y * Z * T, X * Z * T, X * Y * T])


def test_div_grad_of_gaussian_is_the_explicit_laplacian() -> None:
    explicit = ((X**2 + Y**2) / SIGMA**4 - 2 / SIGMA**2) * GAUSS
    assert zero(to_sympy(node("∇·", node("∇", ψ)), {"ψ": GAUSS}) - explicit)
    assert zero(to_sympy(node("Δ", ψ), {"ψ": GAUSS}) - explicit)


def test_laplacian_in_3d_and_on_vectors() -> None:
    g3 = sp.exp(-(X**2 + Y**2 + Z**2) / 2)
    explicit = (X**2 + Y**2 + Z**2 - 3) * g3
    assert zero(to_sympy(node("Δ", ψ), {"ψ": g3}, ("x", "y", "z")) - explicit)
    got = to_sympy(node("Δ", F), {"F": sp.Matrix([X**3 * Y, sp.sin(X) * sp.cos(Y)])})
    assert zero(got - sp.Matrix([6 * X * Y, -2 * sp.sin(X) * sp.cos(Y)]))


def test_divergence_and_curl_2d() -> None:
    P, Q = sp.sin(X * Y), X**2 * sp.exp(Y)
    env = {"F": sp.Matrix([P, Q])}
    assert zero(to_sympy(node("∇·", F), env) - (Y * sp.cos(X * Y) + X**2 * sp.exp(Y)))
    assert zero(to_sympy(node("∇×", F), env) - (2 * X * sp.exp(Y) - X * sp.cos(X * Y)))
    assert to_sympy(node("∇×", vec(node("neg", y), x))) == 2


def test_curl_3d_against_hand_formula() -> None:
    F3 = sp.Matrix([Y * Z, X * Z**2, sp.sin(X * Y)])
    got = to_sympy(node("∇×", F), {"F": F3}, ("x", "y", "z"))
    hand = sp.Matrix([X * sp.cos(X * Y) - 2 * X * Z, Y - Y * sp.cos(X * Y), Z**2 - Z])
    assert isinstance(got, sp.ImmutableMatrix) and zero(got - hand)


def test_vector_identities_hold_exactly_in_3d() -> None:
    f = sp.Function("f")(X, Y, Z)
    Fg = sp.Matrix([sp.Function(n)(X, Y, Z) for n in ("P", "Q", "R")])
    coords = ("x", "y", "z")
    curl_grad = to_sympy(node("∇×", node("∇", ψ)), {"ψ": f}, coords)
    assert curl_grad == sp.ImmutableMatrix([0, 0, 0])
    assert to_sympy(node("∇·", node("∇×", F)), {"F": Fg}, coords) == 0
    concrete = sp.sin(X * Y) * sp.exp(Z) + X**2 * Y**3 * Z
    assert to_sympy(node("∇×", node("∇", ψ)), {"ψ": concrete}, coords) == sp.ImmutableMatrix([0, 0, 0])


def test_dalembert_of_travelling_waves() -> None:
    wave = call("sin", node("-", x, t))
    assert to_sympy(node("□", wave)) == 0
    fast = call("sin", node("-", x, node("*", num(2), t)))
    assert to_sympy(node("□", fast), constants={"c": 2}) == 0
    assert zero(to_sympy(node("□", wave), constants={"c": 2.0}) - 3 * sp.sin(X - T))


def test_dalembert_of_t_free_field_on_a_time_grid_is_minus_c2_laplacian() -> None:
    got = to_sympy(node("□", ψ), {"ψ": X**2 * Y**2}, ("x", "y", "t"), constants={"c": 3})
    assert zero(got + 9 * (2 * Y**2 + 2 * X**2))


def test_dalembert_needs_time() -> None:
    with pytest.raises(CodexTypeError, match=r"□ needs a time axis or a symbolic `t`; `ψ` has neither"):
        to_sympy(node("□", ψ), {"ψ": GAUSS})


def test_time_and_partial_derivatives() -> None:
    f = sp.sin(X) * sp.exp(-T) * Y**2 * Z
    env = {"ψ": f}
    assert zero(to_sympy(node("d/dt", ψ), env) + f)
    assert to_sympy(node("∂t", ψ), env) == to_sympy(node("d/dt", ψ), env)
    assert zero(to_sympy(node("∂x", ψ), env) - sp.cos(X) * sp.exp(-T) * Y**2 * Z)
    assert zero(to_sympy(node("∂y", ψ), env) - 2 * sp.sin(X) * sp.exp(-T) * Y * Z)
    assert zero(to_sympy(node("∂z", ψ), env) - sp.sin(X) * sp.exp(-T) * Y**2)
    assert to_sympy(node("d/dt", ψ), {"ψ": GAUSS}) == 0
    assert to_sympy(node("∂x", F), {"F": sp.Matrix([X**2, X * Y])}) == sp.ImmutableMatrix([2 * X, Y])


def test_wrong_kinds_for_differential_glyphs() -> None:
    env = {"ψ": GAUSS, "F": sp.Matrix([X, Y])}
    with pytest.raises(
        CodexTypeError,
        match=r"`∇` needs a scalar field, but `F` is a vector field; use `∇·`",
    ):
        to_sympy(node("∇", F), env)
    with pytest.raises(
        CodexTypeError,
        match=r"`∇·` needs a vector field with 2 components .* `ψ` is a scalar field",
    ):
        to_sympy(node("∇·", ψ), env)
    with pytest.raises(CodexTypeError, match=r"`∇×` needs a vector field .* `ψ` is a scalar field"):
        to_sympy(node("∇×", ψ), env)
    with pytest.raises(
        CodexTypeError,
        match=r"`∇·` needs a vector field with 3 components .*\(2 components\)",
    ):
        to_sympy(node("∇·", F), env, ("x", "y", "z"))
    with pytest.raises(CodexTypeError, match=r"`∇×` needs 2 or 3 spatial coordinates"):
        to_sympy(node("∇×", vec(x)), coords=("x",))


# ------------------------------------------------------------------------------------ algebraic glyphs


def test_dot_is_bilinear_without_conjugation() -> None:
    a, b = vec(x, y), vec(y, num(3))
    assert to_sympy(node("•", a, b)) == 2 * X * Y + 3 * Y - X * Y
    assert to_sympy(node("•", vec(i, num(1)), vec(i, num(1)))) == 0
    assert to_sympy(node("•", x, y)) == X * Y
    assert to_sympy(node("•", a, b)) == to_sympy(node("•", b, a))


def test_dot_of_scalar_and_vector_names_both_kinds() -> None:
    with pytest.raises(
        CodexTypeError,
        match=r"`•` cannot combine `ψ` \(a scalar field\) with `∇ψ` \(a vector field\)",
    ):
        to_sympy(node("•", ψ, node("∇", ψ)), {"ψ": GAUSS})
    with pytest.raises(CodexTypeError, match=r"the contracted lengths differ \(2 and 3\)"):
        to_sympy(node("•", vec(x, y), vec(x, y, z)))


def test_cross_products() -> None:
    a, b = sp.Matrix([X, Y, Z]), sp.Matrix([Y**2, 1, X])
    got = to_sympy(node("×", F, G), {"F": a, "G": b})
    assert got == sp.ImmutableMatrix([Y * X - Z, Z * Y**2 - X * X, X - Y * Y**2])
    assert to_sympy(node("×", vec(x, y), vec(num(2), num(5)))) == 5 * X - 2 * Y
    with pytest.raises(CodexTypeError, match=r"`×` takes two 3-vectors"):
        to_sympy(node("×", x, y))


def test_tensor_of_vectors_is_the_outer_product() -> None:
    got = to_sympy(node("⊗", vec(x, y), vec(num(1), t)))
    assert got == sp.ImmutableMatrix([[X, X * T], [Y, Y * T]])
    with pytest.raises(NoSymbolicForm, match=r"entangled pair"):
        to_sympy(node("⊗", ψ, φ), {"ψ": GAUSS, "φ": GAUSS})
    with pytest.raises(CodexTypeError, match=r"`⊗` cannot combine `ψ` \(a scalar field\)"):
        to_sympy(node("⊗", ψ, vec(x, y)), {"ψ": GAUSS})


def test_arithmetic_on_scalars_and_vectors() -> None:
    env = {"F": sp.Matrix([X, Y]), "G": sp.Matrix([1, X])}
    assert to_sympy(node("+", F, G), env) == sp.ImmutableMatrix([X + 1, X + Y])
    assert to_sympy(node("-", F, G), env) == sp.ImmutableMatrix([X - 1, Y - X])
    assert to_sympy(node("*", num(2), F), env) == sp.ImmutableMatrix([2 * X, 2 * Y])
    assert to_sympy(node("*", F, x), env) == sp.ImmutableMatrix([X**2, X * Y])
    assert to_sympy(node("/", F, num(2)), env) == sp.ImmutableMatrix([X / 2, Y / 2])
    assert to_sympy(node("^", x, num(3))) == X**3
    assert to_sympy(node("neg", F), env) == sp.ImmutableMatrix([-X, -Y])
    assert to_sympy(node("-", node("*", num(2), x), num(0.5))) == 2 * X - sp.Rational(1, 2)


@pytest.mark.parametrize(
    ("op", "fix"),
    [
        ("+", "same kind"),
        ("*", "use `•` for the dot product"),
        ("/", "divide by a scalar"),
        ("^", "scalar powers"),
    ],
)
def test_arithmetic_wrong_kinds(op: str, fix: str) -> None:
    env = {"F": sp.Matrix([X, Y]), "G": sp.Matrix([1, X])}
    left = x if op in ("+", "/") else F
    with pytest.raises(CodexTypeError, match=re.escape(f"`{op}` cannot combine") + ".*" + re.escape(fix)):
        to_sympy(node(op, left, G), env)


def test_comparisons_are_relationals() -> None:
    assert to_sympy(node("<", x, num(1))) == sp.Lt(X, 1)
    assert to_sympy(node("≥", x, y)) == sp.Ge(X, Y)
    assert to_sympy(node("≠", x, y)) == sp.Ne(X, Y)
    assert to_sympy(node("==", x, x)) == sp.true
    with pytest.raises(CodexTypeError, match=r"`<` needs real values"):
        to_sympy(node("<", i, num(1)))
    with pytest.raises(CodexTypeError, match=r"compare norms instead, e.g. `‖F‖`"):
        to_sympy(node("<", F, num(1)), {"F": sp.Matrix([X, Y])})


def test_density_and_interference() -> None:
    env = {"ψ": sp.exp(sp.I * 8 * X) * GAUSS, "φ": sp.exp(sp.I * Y), "π": sp.pi}
    assert zero(to_sympy(node("density", ψ), env) - GAUSS**2)
    assert to_sympy(node("density", vec(i, x))) == 1 + X**2
    assert to_sympy(node("⋈", φ, φ, name("π")), env) == 0
    both = to_sympy(node("⋈", φ, φ, num(0)), env)
    assert both == 2 * sp.exp(sp.I * Y)
    with pytest.raises(CodexTypeError, match=r"phase `F` of `⋈` must be a number"):
        to_sympy(node("⋈", φ, φ, F), {**env, "F": sp.Matrix([X, Y])})


def test_vector_literal_needs_scalar_components() -> None:
    with pytest.raises(CodexTypeError, match=r"Vector components must be scalars, but `F` is a vector field"):
        to_sympy(vec(F, x), {"F": sp.Matrix([X, Y])})


# ---------------------------------------------------------------------------- reductions and no symbolic form


def test_norm_of_a_number_is_abs_and_of_a_field_has_no_symbolic_form() -> None:
    assert to_sympy(node("norm", num(-3))) == 3
    assert to_sympy(node("norm", node("+", num(3), node("*", num(4), i)))) == 5
    assert to_sympy(call("norm", vec(num(3), num(4)))) == 5
    with pytest.raises(NoSymbolicForm, match=r"`norm` of a field .* no symbolic form"):
        to_sympy(node("norm", ψ), {"ψ": GAUSS})
    for fn in ("mean", "integral", "max", "min"):
        with pytest.raises(NoSymbolicForm, match=rf"`{fn}` of a field"):
            to_sympy(call(fn, ψ), {"ψ": GAUSS})


def test_reductions_over_a_domain_are_exact_integrals() -> None:
    grid = Grid.from_spec([("x", -1, 1, 16), ("y", 0, 2, 16)])
    env = {"ψ": X**2 * Y}
    assert to_sympy(call("integral", ψ), env, domain=grid) == sp.Rational(4, 3)
    assert to_sympy(call("∫", ψ), env, domain=grid) == sp.Rational(4, 3)
    assert to_sympy(call("mean", ψ), env, domain=grid) == sp.Rational(1, 3)
    # ‖ψ‖² = ∫x⁴ dx ∫y² dy = 2/5 · 8/3
    assert to_sympy(node("norm", ψ), env, domain=grid) == sp.sqrt(sp.Rational(16, 15))
    assert to_sympy(node("norm", num(-2)), domain=grid) == 2
    assert to_sympy(call("mean", num(5)), domain=grid) == 5
    assert to_sympy(call("integral", num(5)), domain=grid) == 20
    unit = Grid.from_spec([("x", -1, 1, 16), ("y", -1, 1, 16)])
    got = to_sympy(node("norm", ψ), {"ψ": GAUSS}, domain=unit)
    assert sp.N(got, 30) == pytest.approx(float(sp.sqrt(sp.pi) * SIGMA * sp.erf(1 / SIGMA)), rel=1e-14)


def test_reduction_without_closed_form_says_so() -> None:
    grid = Grid.from_spec([("x", 0.5, 1, 16), ("y", 0, 1, 16)])
    with pytest.raises(NoSymbolicForm, match=r"no closed form") as info:
        to_sympy(call("integral", ψ), {"ψ": X**X * Y}, domain=grid)
    assert isinstance(info.value, CodexValueError)


@pytest.mark.parametrize(
    ("expr", "what"),
    [
        (node("⧖", ψ), "measurement"),
        (node("↔", ψ, φ), "Schmidt form"),
        (node("⊕", ψ, φ), "superposition"),
        (node("⊖", ψ, φ), "cancellation"),
        (call("load", node("str", value="data/fields/ring.nc")), "grid data"),
        (call("random", seed=num(7)), "grid data"),
        (call("evolve", ψ, num(10), num(0.01), eq=node("str", value="heat")), "grid data"),
        (call("relax", ψ), "grid data"),
    ],
)
def test_ops_without_symbolic_form(expr: PNode, what: str) -> None:
    with pytest.raises(NoSymbolicForm, match=what):
        to_sympy(expr, {"ψ": GAUSS, "φ": GAUSS})


def test_data_in_env_has_no_symbolic_form() -> None:
    da = xr.DataArray(np.zeros((3, 3)), dims=("x", "y"))
    with pytest.raises(NoSymbolicForm, match=r"`φ` holds DataArray data"):
        to_sympy(node("+", φ, x), {"φ": da})


def test_unknown_op_has_no_symbolic_rule() -> None:
    with pytest.raises(NoSymbolicForm, match=r"Photon op `mystery` has no symbolic rule"):
        to_sympy(node("mystery", x))


def test_errors_are_codex_errors() -> None:
    assert issubclass(NoSymbolicForm, CodexValueError) and issubclass(NoSymbolicForm, CodexError)


# --------------------------------------------------------------------------------- pipes, calls, sharing


def test_pipe_into_builtin_and_binding() -> None:
    assert to_sympy(node("->", x, name("sin"))) == sp.sin(X)
    assert to_sympy(node("->", x, call("gaussian", y, σ=num(1)))) == sp.exp(-(X**2 + Y**2) / 2)
    assert to_sympy(node("->", node("+", x, num(1)), name("result"))) == X + 1


def test_glyph_called_as_function() -> None:
    env = {"ψ": GAUSS}
    assert to_sympy(call("∇", ψ), env) == to_sympy(node("∇", ψ), env)
    assert to_sympy(call("•", vec(x, y), vec(y, x))) == 2 * X * Y
    with pytest.raises(CodexTypeError, match=r"positional arguments only"):
        to_sympy(call("∇", ψ, k=num(1)), env)


def test_deep_expressions_do_not_recurse() -> None:
    expr = x
    for k in range(3000):
        expr = node("+", expr, num(k))
    assert to_sympy(expr) == X + sum(range(3000))


def test_shared_subexpressions_are_evaluated_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from codexlab.photon import symbolic

    calls: list[str] = []
    original = symbolic._from_env

    def spy(ident: str, env: dict[str, sp.Basic]) -> sp.Basic:
        calls.append(ident)
        return original(ident, env)

    monkeypatch.setattr(symbolic, "_from_env", spy)
    lap = node("Δ", ψ)
    assert to_sympy(node("+", node("*", lap, lap), lap), {"ψ": X**3}) == 36 * X**2 + 6 * X
    assert calls == ["ψ"]
