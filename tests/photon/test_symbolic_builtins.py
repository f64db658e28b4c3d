"""The builtin registry: symbolic builders against hand-written SymPy, signature and keyword validation."""

from __future__ import annotations

import pytest
import sympy as sp

from codexlab.errors import CodexNameError, CodexTypeError, CodexValueError
from codexlab.photon import builtins
from codexlab.photon.builtins import BUILTINS, get_builtin, register_builtin
from codexlab.photon.ir import PNode, name, node, num
from codexlab.photon.symbolic import NoSymbolicForm, X, Y, Z, to_sympy

x, y, z, i = name("x"), name("y"), name("z"), name("i")


def call(fn: str, *args: PNode, **kwargs: PNode) -> PNode:
    return node("call", *args, value=fn, kwargs=tuple(kwargs.items()))


@pytest.mark.parametrize(
    ("fn", "ref"),
    [
        ("sin", sp.sin),
        ("cos", sp.cos),
        ("tan", sp.tan),
        ("exp", sp.exp),
        ("log", sp.log),
        ("sqrt", sp.sqrt),
        ("abs", sp.Abs),
        ("conj", sp.conjugate),
        ("re", sp.re),
        ("im", sp.im),
    ],
)
def test_math_functions(fn: str, ref: object) -> None:
    arg = node("+", node("*", num(2), x), node("*", i, y))
    assert to_sympy(call(fn, arg)) == ref(2 * X + sp.I * Y)  # type: ignore[operator]


def test_conj_re_im_act_per_component() -> None:
    v = node("vec", node("*", i, x), y)
    assert to_sympy(call("conj", v)) == sp.ImmutableMatrix([-sp.I * X, Y])
    assert to_sympy(call("im", v)) == sp.ImmutableMatrix([X, 0])


def test_scalar_functions_refuse_vectors() -> None:
    with pytest.raises(
        CodexTypeError,
        match=r"`sin` needs a scalar for `\[x, y\]`, got a vector field; call it as `sin\(e\)`",
    ):
        to_sympy(call("sin", node("vec", x, y)))


def test_gaussian_definition() -> None:
    assert to_sympy(call("gaussian", x, y)) == sp.exp(-50 * (X**2 + Y**2))
    got = to_sympy(call("gaussian", x, y, σ=num(0.15), x0=num(0.25), k=num(8)))
    s2 = sp.Rational(3, 20) ** 2
    hand = sp.exp(-((X - sp.Rational(1, 4)) ** 2 + Y**2) / (2 * s2)) * sp.exp(8 * sp.I * X)
    assert sp.simplify(got - hand) == 0
    assert to_sympy(call("gaussian", x, y, sigma=num(1))) == sp.exp(-(X**2 + Y**2) / 2)
    g3 = to_sympy(call("gaussian", x, y, z, z0=num(1), sigma=num(2)))
    assert sp.simplify(g3 - sp.exp(-(X**2 + Y**2 + (Z - 1) ** 2) / 8)) == 0
    assert to_sympy(call("gaussian", x, y, σ=num(1)), coords=("x", "y")).subs({X: 0, Y: 0}) == 1


def test_gaussian_keyword_errors() -> None:
    with pytest.raises(
        CodexTypeError,
        match=r"`gaussian` has no keyword `sgma` \(did you mean `sigma`\?\); its keywords are "
        r"`x0`, `y0`, `z0`, `σ`, `k`",
    ):
        to_sympy(call("gaussian", x, y, sgma=num(1)))
    with pytest.raises(CodexTypeError, match=r"got keyword `σ` twice"):
        to_sympy(call("gaussian", x, y, σ=num(1), sigma=num(2)))
    with pytest.raises(
        CodexTypeError,
        match=r"`gaussian` takes 2 to 3 positional arguments, got 1; call it as `gaussian\(x, "
        r"y\[, z\], x0=0",
    ):
        to_sympy(call("gaussian", x))
    with pytest.raises(CodexValueError, match=r"`gaussian`: keyword `σ` must be a positive number, got `-0.1`"):
        to_sympy(call("gaussian", x, y, σ=num(-0.1)))
    with pytest.raises(CodexTypeError, match=r"`gaussian` needs a scalar for `σ`, got a vector"):
        to_sympy(call("gaussian", x, y, σ=node("vec", num(1), num(2))))


def test_plane_wave_zeros_ones() -> None:
    assert to_sympy(call("plane_wave", num(3), num(-2))) == sp.exp(sp.I * (3 * X - 2 * Y))
    assert to_sympy(call("plane_wave", num(1), num(2), num(3))) == sp.exp(sp.I * (X + 2 * Y + 3 * Z))
    assert to_sympy(call("zeros")) == 0
    assert to_sympy(call("ones")) == 1
    with pytest.raises(CodexTypeError, match=r"`ones` takes 0 positional arguments, got 1"):
        to_sympy(call("ones", x))


def test_plane_wave_is_an_eigenfunction_of_the_laplacian() -> None:
    env = {"ψ": to_sympy(call("plane_wave", num(3), num(4)))}
    assert sp.simplify(to_sympy(node("Δ", name("ψ")), env) + 25 * env["ψ"]) == 0


def test_unknown_builtin_suggests() -> None:
    with pytest.raises(
        CodexNameError,
        match=r"`sine` is not a builtin function \(did you mean `sin`\?\); the builtins are",
    ):
        to_sympy(call("sine", x))
    with pytest.raises(CodexNameError, match=r"did you mean `gaussian`"):
        get_builtin("gausian")


def test_string_argument_to_a_symbolic_builtin() -> None:
    with pytest.raises(CodexTypeError, match=r"`exp` needs a scalar for `\"a\"`, got a string"):
        to_sympy(call("exp", node("str", value="a")))


def test_data_builtins_are_registered_without_a_symbolic_rule() -> None:
    for fn in ("load", "random", "evolve", "relax"):
        assert fn in BUILTINS and not BUILTINS[fn].symbolic
    for fn in ("sin", "gaussian", "plane_wave", "zeros", "ones", "norm", "mean", "integral", "∫"):
        assert BUILTINS[fn].symbolic
    with pytest.raises(NoSymbolicForm, match=r"`random\(seed=7\)` reads or makes grid data"):
        to_sympy(call("random", seed=num(7)))


def test_registry_refuses_duplicates_unless_override() -> None:
    with pytest.raises(CodexValueError, match=r"Builtin `sin` is already registered; pass `override=True`"):
        register_builtin("sin", ("e",))(sp.sin)
    try:
        register_builtin("twice", ("e",))(lambda e: 2 * e)
        assert to_sympy(call("twice", x)) == 2 * X
        register_builtin("twice", ("e",), override=True)(lambda e: 3 * e)
        assert to_sympy(call("twice", x)) == 3 * X
    finally:
        builtins.unregister_builtin("twice")


def test_signatures_read_like_calls() -> None:
    assert get_builtin("plane_wave").signature() == "plane_wave(kx, ky[, kz])"
    assert get_builtin("zeros").signature() == "zeros()"
    assert get_builtin("gaussian").signature() == "gaussian(x, y[, z], x0=0, y0=0, z0=0, σ=0.1, k=0)"
