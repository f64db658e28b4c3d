"""The built-in specs: one `OpSpec` per glyph and builtin of CodexLang (SEMANTICS.md, CODEXLANG.md).

Adding a glyph is one `register_op(OpSpec(...))` here plus its implementations (exact rule, array
rule or host kernel) and tests. Kind rules follow the exact semantics: a number is a constant field, a
derivative of a constant is a field (zero), `•` contracts the last index of its left operand with the
first of its right, `⊗` of vectors is the dyadic product and of scalar fields an entangled pair.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .spec import SCALAR_KINDS, Keyword, KindEnv, KindMismatch, OpSpec, register_op

__all__ = ["ELEMENTARY", "REDUCTIONS", "COMPARISONS"]

ELEMENTARY = ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "conj", "re", "im")
REDUCTIONS = ("norm", "mean", "integral", "∫", "max", "min")
COMPARISONS = ("<", ">", "≤", "≥", "==", "≠")

_WORDS = {
    "number": "a number",
    "bool": "a condition",
    "string": "a string",
    "field": "a scalar field",
    "vector": "a vector field",
    "tensor": "a tensor field",
    "pair": "an entangled pair",
    "measurement": "a measurement",
    "data": "a loaded field",
}


def words(kind: str) -> str:
    """A kind in words, with its article (`a vector field`)."""
    return _WORDS.get(kind, kind)


def _need(k: int, kind: str, allowed: frozenset[str] | set[str], what: str, fix: str) -> None:
    if kind not in allowed:
        raise KindMismatch(k, f"needs {what}", fix, got=kind)


# ------------------------------------------------------------------------------------ kind rules


def _scalar_field(kinds: tuple[str, ...], env: KindEnv) -> str:
    """A scalar field from scalars (a derivative of a number is the zero field)."""
    _need(0, kinds[0], SCALAR_KINDS, "a scalar field", "use `∇·` for a vector field's divergence")
    return "field"


def _grad(kinds: tuple[str, ...], env: KindEnv) -> str:
    _need(0, kinds[0], SCALAR_KINDS, "a scalar field", "use `∇·` for the divergence or `∇×` for the curl")
    return "vector"


def _div(kinds: tuple[str, ...], env: KindEnv) -> str:
    _need(0, kinds[0], {"vector"}, "a vector field", "use `∇` for the gradient of a scalar field")
    return "field"


def _curl(kinds: tuple[str, ...], env: KindEnv) -> str:
    if env.dims not in (2, 3):
        raise KindMismatch(None, f"needs 2 or 3 spatial axes, but the grid has {env.dims}", "add axes to `@grid`")
    _need(0, kinds[0], {"vector"}, "a vector field", "the curl of a scalar is not defined; take `∇×` of a vector")
    return "field" if env.dims == 2 else "vector"


def _componentwise(kinds: tuple[str, ...], env: KindEnv) -> str:
    """Δ, □, d/dt, ∂: per component of a vector, a field from a number."""
    _need(0, kinds[0], {"number", "field", "vector"}, "a scalar or vector field", "apply it to a field")
    return "field" if kinds[0] == "number" else kinds[0]


def _same(kinds: tuple[str, ...], env: KindEnv) -> str:
    _need(0, kinds[0], {"number", "field", "vector", "tensor"}, "a number or a field", "negate numbers or fields")
    return kinds[0]


def _rank(kind: str) -> int:
    return {"number": -1, "field": 0, "vector": 1, "tensor": 2}.get(kind, 9)


def _add(kinds: tuple[str, ...], env: KindEnv) -> str:
    a, b = kinds
    for k, kind in enumerate(kinds):
        _need(k, kind, {"number", "field", "vector", "tensor"}, "a number or a field", "add numbers or fields")
    if a in SCALAR_KINDS and b in SCALAR_KINDS:
        return "number" if a == b == "number" else "field"
    if a != b:
        raise KindMismatch(
            None, f"cannot combine {words(a)} with {words(b)}", "add values of the same kind (vector + vector)"
        )
    return a


def _mul(kinds: tuple[str, ...], env: KindEnv) -> str:
    a, b = kinds
    for k, kind in enumerate(kinds):
        _need(k, kind, {"number", "field", "vector", "tensor"}, "a number or a field", "multiply numbers or fields")
    if a in SCALAR_KINDS and b in SCALAR_KINDS:
        return "number" if a == b == "number" else "field"
    if a in SCALAR_KINDS:
        return b
    if b in SCALAR_KINDS:
        return a
    raise KindMismatch(
        None,
        f"cannot multiply {words(a)} by {words(b)}",
        "use `•` for the dot product, `×` for the cross product, `⊗` for the outer product",
    )


def _truediv(kinds: tuple[str, ...], env: KindEnv) -> str:
    a, b = kinds
    _need(0, a, {"number", "field", "vector", "tensor"}, "a number or a field", "divide numbers or fields")
    _need(1, b, SCALAR_KINDS, "a number or a scalar field", "divide by a scalar, or divide each component")
    return "number" if a == b == "number" else ("field" if a == "number" else a)


def _pow(kinds: tuple[str, ...], env: KindEnv) -> str:
    for k, kind in enumerate(kinds):
        _need(k, kind, SCALAR_KINDS, "a number or a scalar field", "raise scalars to scalar powers, e.g. `(F•F)^0.5`")
    return "number" if kinds == ("number", "number") else "field"


def _dot(kinds: tuple[str, ...], env: KindEnv) -> str:
    a, b = kinds
    for k, kind in enumerate(kinds):
        _need(k, kind, {"number", "field", "vector", "tensor"}, "a number or a field", "dot numbers or fields")
    ra, rb = _rank(a), _rank(b)
    if ra <= 0 and rb <= 0:
        return "number" if a == b == "number" else "field"
    if ra <= 0 or rb <= 0:
        raise KindMismatch(
            None, f"`•` of {words(a)} and {words(b)} is not defined", "use `*` to scale a vector or tensor field"
        )
    rank = ra + rb - 2
    return ("field", "vector", "tensor")[rank] if rank <= 2 else _too_high(a, b)


def _too_high(a: str, b: str) -> str:
    raise KindMismatch(None, f"`•` of {words(a)} and {words(b)} has rank above 2", "contract fewer indices")


def _dot_commutes(kinds: tuple[str, ...]) -> bool:
    """`•` commutes for scalars and for two vectors (Σ aᵢbᵢ), not once a tensor is involved."""
    return all(_rank(k) <= 1 for k in kinds) and "data" not in kinds


def _cross(kinds: tuple[str, ...], env: KindEnv) -> str:
    for k, kind in enumerate(kinds):
        _need(k, kind, {"vector"}, "a vector field", "`×` takes two 3-vectors, or two 2-vectors for the z component")
    if env.dims not in (2, 3):
        raise KindMismatch(None, f"needs 2 or 3 spatial axes, but the grid has {env.dims}", "add axes to `@grid`")
    return "vector" if env.dims == 3 else "field"


def _tensor(kinds: tuple[str, ...], env: KindEnv) -> str:
    a, b = kinds
    if a == b == "vector":
        return "tensor"
    if a == b == "field":
        return "pair"
    raise KindMismatch(
        None,
        f"`⊗` of {words(a)} and {words(b)} is not defined",
        "`⊗` takes two vector fields (outer product) or two states (a pair)",
    )


def _states(result: str) -> Callable[[tuple[str, ...], KindEnv], str]:
    def rule(kinds: tuple[str, ...], env: KindEnv) -> str:
        for k, kind in enumerate(kinds[:2]):
            _need(k, kind, {"field"}, "a state (a scalar field)", "superpose, entangle or measure scalar fields")
        for k, kind in enumerate(kinds[2:], start=2):
            _need(k, kind, {"number"}, "a number (the phase)", "write the phase as a number, e.g. `⋈[0.5]`")
        return result

    return rule


def _compare(kinds: tuple[str, ...], env: KindEnv) -> str:
    for k, kind in enumerate(kinds):
        _need(k, kind, {"number"}, "a number", "compare a reduction such as `‖f‖` or `max(f)`")
    return "bool"


def _norm(kinds: tuple[str, ...], env: KindEnv) -> str:
    _need(0, kinds[0], {"number", "field", "vector", "tensor"}, "a number or a field", "take the norm of a value")
    return "number"


def _density(kinds: tuple[str, ...], env: KindEnv) -> str:
    _need(0, kinds[0], {"number", "field", "vector"}, "a number or a field", "take `|e|²` of a value")
    return "number" if kinds[0] == "number" else "field"


def _vec(kinds: tuple[str, ...], env: KindEnv) -> str:
    for k, kind in enumerate(kinds):
        _need(k, kind, SCALAR_KINDS, "a scalar component", "build vectors from scalar components")
    if len(kinds) != env.dims:
        raise KindMismatch(
            None, f"a vector on this grid has {env.dims} components, got {len(kinds)}", f"give {env.dims} components"
        )
    return "vector"


def _elementary(kinds: tuple[str, ...], env: KindEnv) -> str:
    _need(0, kinds[0], SCALAR_KINDS, "a number or a scalar field", "apply it to each component")
    return kinds[0]


def _componentwise_call(kinds: tuple[str, ...], env: KindEnv) -> str:
    _need(0, kinds[0], {"number", "field", "vector"}, "a number or a field", "apply it to a value")
    return kinds[0]


def _field_maker(kinds: tuple[str, ...], env: KindEnv) -> str:
    for k, kind in enumerate(kinds):
        _need(k, kind, SCALAR_KINDS, "a number or a coordinate", "pass numbers or coordinates")
    return "field"


def _reduce(kinds: tuple[str, ...], env: KindEnv) -> str:
    _need(0, kinds[0], {"number", "field", "vector", "tensor"}, "a number or a field", "reduce a field")
    return "number"


def _scalar_reduce(kinds: tuple[str, ...], env: KindEnv) -> str:
    _need(0, kinds[0], SCALAR_KINDS, "a number or a scalar field", "reduce each component, e.g. `max(F•F)`")
    return "number"


def _source(result: str) -> Callable[[tuple[str, ...], KindEnv], str]:
    def rule(kinds: tuple[str, ...], env: KindEnv) -> str:
        return result

    return rule


def _solver(kinds: tuple[str, ...], env: KindEnv) -> str:
    _need(0, kinds[0], {"field"}, "a scalar field", "evolve or relax a scalar field")
    for k, kind in enumerate(kinds[1:], start=1):
        _need(k, kind, {"number", "string"}, "a number", "pass numbers for steps and dt")
    return "field"


def _measure(kinds: tuple[str, ...], env: KindEnv) -> str:
    _need(0, kinds[0], {"field"}, "a state (a scalar field)", "measure a state such as `ψ`")
    return "measurement"


# ---------------------------------------------------------------------------------- keyword checks


def _positive(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return f"must be a positive number, got `{value!r}`"
    return None


def _real(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return f"must be a finite real number, got `{value!r}`"
    return None


def _count(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or int(value) != value:
        return f"must be a whole number ≥ 0, got `{value!r}`"
    return None


def _one_of(*choices: str) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if value not in choices:
            listed = ", ".join(f"`{c}`" for c in choices)
            return f"must be one of {listed}, got `{value!r}`"
        return None

    return check


def _text(value: object) -> str | None:
    return None if isinstance(value, str) else f"must be a string, got `{value!r}`"


def _integer(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return f"must be an integer, got `{value!r}`"
    return None


# ---------------------------------------------------------------------------------------- the specs

_FD2_STENCIL = {"flops": 3.0, "bytes": 16.0}


def _always(kinds: tuple[str, ...]) -> bool:
    return "data" not in kinds


def _vectors(kinds: tuple[str, ...]) -> bool:
    """`⊗` fuses as the dyadic product of vector fields (of states it makes a pair on the host)."""
    return kinds == ("vector", "vector")


def _unary(key: str, name: str, kind: Callable[[tuple[str, ...], KindEnv], str], **facts: object) -> None:
    register_op(OpSpec(key, name, (1, 1), kind, **facts))  # type: ignore[arg-type]


_unary(
    "∇",
    "grad",
    _grad,
    order=1,
    linear=True,
    const_zero=True,
    precision_class="stencil1",
    doc="Gradient of a scalar field: a vector field (dim `component`).",
    **_FD2_STENCIL,
)
_unary(
    "∇·",
    "div",
    _div,
    order=1,
    linear=True,
    precision_class="stencil1",
    doc="Divergence of a vector field.",
    **_FD2_STENCIL,
)
_unary(
    "∇×",
    "curl",
    _curl,
    order=1,
    linear=True,
    precision_class="stencil1",
    doc="Curl: in 2-D the scalar ∂xFy − ∂yFx, in 3-D a vector.",
    **_FD2_STENCIL,
)
_unary(
    "Δ",
    "lap",
    _componentwise,
    order=2,
    linear=True,
    const_zero=True,
    precision_class="stencil2",
    doc="Laplacian Σ ∂²f/∂xᵢ², summed per axis as (u₋ − 2u + u₊)/h².",
    flops=4.0,
    bytes=16.0,
)
_unary(
    "□",
    "dalembert",
    _componentwise,
    order=2,
    linear=True,
    const_zero=True,
    precision_class="stencil2",
    axis="t",
    doc="d'Alembertian ∂²f/∂t² − c²Δf.",
    flops=5.0,
    bytes=16.0,
)
_unary(
    "d/dt",
    "ddt",
    _componentwise,
    order=1,
    linear=True,
    precision_class="stencil1",
    axis="t",
    doc="Time derivative along `t` (an axis, or symbolic `t`).",
    **_FD2_STENCIL,
)
for _axis in "xyzt":
    _unary(
        f"∂{_axis}",
        f"partial_{_axis}",
        _componentwise,
        order=1,
        linear=True,
        const_zero=_axis != "t",
        precision_class="stencil1",
        axis=_axis,
        doc=f"Partial derivative along `{_axis}`.",
        **_FD2_STENCIL,
    )
_unary("neg", "neg", _same, doc="Negation.")

register_op(OpSpec("+", "add", (2, 2), _add, commutes=_always, associative=True, doc="Sum."))
register_op(OpSpec("-", "sub", (2, 2), _add, doc="Difference."))
register_op(OpSpec("*", "mul", (2, 2), _mul, doc="Product; scales vectors and tensors."))
register_op(OpSpec("/", "truediv", (2, 2), _truediv, doc="Quotient by a scalar."))
register_op(OpSpec("^", "pow", (2, 2), _pow, flops=20.0, doc="Power of scalars (right associative)."))
register_op(
    OpSpec(
        "•",
        "dot",
        (2, 2),
        _dot,
        commutes=_dot_commutes,
        flops=2.0,
        doc="Pointwise dot product (bilinear, no conjugation): contracts the last index of a with the first of b.",
    )
)
register_op(OpSpec("×", "cross", (2, 2), _cross, flops=6.0, doc="Cross product (2-D: the z component)."))
register_op(
    OpSpec(
        "⊗",
        "tensor",
        (2, 2),
        _tensor,
        fusable=_vectors,
        precision_class="state",
        stage="wave",
        doc="Dyadic product of vector fields; of two states, a rank-1 entangled pair.",
    )
)
register_op(
    OpSpec(
        "⊕",
        "superpose",
        (2, 2),
        _states("field"),
        commutes=_always,
        fusable=False,
        precision_class="pointwise",
        doc="Normalized sum of two states.",
    )
)
register_op(
    OpSpec(
        "⊖",
        "cancel",
        (2, 2),
        _states("field"),
        fusable=False,
        precision_class="pointwise",
        doc="Normalized difference of two states.",
    )
)
register_op(OpSpec("⋈", "interfere", (3, 3), _states("field"), doc="a + e^{iφ} b, not normalized."))
register_op(
    OpSpec(
        "↔",
        "entangle",
        (2, 2),
        _states("pair"),
        fusable=False,
        precision_class="state",
        stage="entangle",
        doc="Entangled pair (a⊗b + b⊗a)/√2 in Schmidt form.",
    )
)
register_op(
    OpSpec(
        "⧖",
        "collapse",
        (1, 1),
        _measure,
        fusable=False,
        pure=False,
        precision_class="state",
        stage="collapse",
        doc="Gaussian-pointer (or projective) measurement of a state.",
        keywords={
            "mode": Keyword("pointer", _one_of("pointer", "projective"), doc="pointer or projective"),
            "resolution": Keyword(None, _positive, doc="pointer width floor σ = max(2h, resolution)"),
        },
    )
)
for _glyph in COMPARISONS:
    register_op(
        OpSpec(
            _glyph,
            f"cmp{COMPARISONS.index(_glyph)}",
            (2, 2),
            _compare,
            precision_class="none",
            doc=f"Comparison `{_glyph}` of real numbers.",
        )
    )
register_op(
    OpSpec(
        "norm",
        "norm",
        (1, 1),
        _norm,
        params=("e",),
        call_only=True,
        precision_class="reduction",
        reduction=True,
        doc="‖e‖ = (Σ|e|²ΔA)^½ of a field, |e| of a number.",
    )
)
register_op(OpSpec("density", "density", (1, 1), _density, doc="|e|², pointwise (summed over components)."))
register_op(OpSpec("vec", "vector", (1, 3), _vec, precision_class="none", doc="A vector from its components."))

for _fn in ELEMENTARY:
    register_op(
        OpSpec(
            _fn,
            _fn,
            (1, 1),
            _elementary if _fn not in ("conj", "re", "im") else _componentwise_call,
            elementary=True,
            call_only=True,
            params=("e",),
            flops=10.0,
            doc=f"`{_fn}` pointwise.",
        )
    )

_SIGMA = Keyword(0.1, _positive, aliases=("sigma",), doc="width σ > 0")
register_op(
    OpSpec(
        "gaussian",
        "gaussian",
        (2, 3),
        _field_maker,
        params=("x", "y", "z"),
        call_only=True,
        fusable=False,
        keywords={
            "x0": Keyword(0, _real),
            "y0": Keyword(0, _real),
            "z0": Keyword(0, _real),
            "σ": _SIGMA,
            "k": Keyword(0, _real),
        },
        doc="exp(−|r − r0|²/(2σ²))·exp(i·k·x): peak 1, phase along the first argument.",
    )
)
register_op(
    OpSpec(
        "plane_wave",
        "plane_wave",
        (2, 3),
        _field_maker,
        params=("kx", "ky", "kz"),
        call_only=True,
        fusable=False,
        doc="exp(i(kx·x + ky·y [+ kz·z])).",
    )
)
register_op(OpSpec("zeros", "zeros", (0, 0), _source("field"), call_only=True, fusable=False, doc="The zero field."))
register_op(OpSpec("ones", "ones", (0, 0), _source("field"), call_only=True, fusable=False, doc="The field 1."))
for _fn in ("mean", "integral", "∫"):
    register_op(
        OpSpec(
            _fn,
            _fn,
            (1, 1),
            _reduce,
            call_only=True,
            reduction=True,
            params=("e",),
            precision_class="reduction",
            doc=f"`{_fn}` over the grid (trapezoid weights at Dirichlet and Neumann walls).",
        )
    )
for _fn in ("max", "min"):
    register_op(
        OpSpec(
            _fn,
            _fn,
            (1, 1),
            _scalar_reduce,
            call_only=True,
            reduction=True,
            params=("e",),
            precision_class="none",
            doc=f"`{_fn}` of a real field over the grid.",
        )
    )
register_op(
    OpSpec(
        "load",
        "load",
        (1, 1),
        _source("data"),
        params=("path",),
        call_only=True,
        fusable=False,
        pure=False,
        source=True,
        stage="ingest",
        precision_class="none",
        keywords={"variable": Keyword(None, _text, doc="the variable of a Dataset")},
        doc="A field from a NetCDF or Zarr file inside the allowed data roots.",
    )
)
register_op(
    OpSpec(
        "random",
        "random",
        (0, 0),
        _source("field"),
        call_only=True,
        fusable=False,
        pure=False,
        source=True,
        stage="ingest",
        precision_class="none",
        keywords={"seed": Keyword(None, _integer, doc="PRNG seed (default: `@seed`)")},
        doc="Uniform random field in [0, 1) from the seed.",
    )
)
register_op(
    OpSpec(
        "evolve",
        "evolve",
        (1, 3),
        _solver,
        params=("ψ", "steps", "dt"),
        call_only=True,
        fusable=False,
        pure=False,
        precision_class="stencil2",
        keywords={
            "steps": Keyword(None, _count),
            "dt": Keyword(None, _positive),
            "eq": Keyword("schrodinger", _one_of("schrodinger", "wave", "heat")),
        },
        doc="Time steps of the Schrödinger, wave or heat equation.",
    )
)
register_op(
    OpSpec(
        "relax",
        "relax",
        (1, 1),
        _solver,
        params=("ψ",),
        call_only=True,
        fusable=False,
        precision_class="stencil2",
        doc="One Jacobi step of Δψ = 0 with the field's boundary conditions.",
    )
)

del _axis, _fn, _glyph
