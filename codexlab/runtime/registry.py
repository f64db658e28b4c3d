"""The instruction registry: one entry per glyph with its symbolic rule, wave kernel, stage and cost class.

A new glyph is one `@instruction(...)` entry here plus its kernel in `codexlab.qwave`. The symbolic
rule of every glyph lives in `codexlab.photon.symbolic.to_sympy`; an entry says whether it has one.
Wave kernels take materialized operand data (DataArrays, numbers, pairs) and an `ExecContext`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ..errors import BackendError, CodexTypeError, CodexValueError, did_you_mean
from ..qwave.grid import Grid

__all__ = ["ExecContext", "Instruction", "INSTRUCTIONS", "instruction", "lookup", "PRECISION_CLASSES"]

#: How an op's rounding error scales, for the precision model (see SEMANTICS.md, precision profile).
PRECISION_CLASSES = ("stencil2", "stencil1", "pointwise", "reduction", "state", "none")


@dataclass
class ExecContext:
    """What a kernel may read besides its operands: the grid, derivative method, constants, keys."""

    grid: Grid
    method: str = "fd2"
    c: float = 1.0
    dtype: str = "fp64"
    seed: int = 0
    statement_hash: str = ""
    step: int = 0
    data_roots: tuple[Any, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)


Kernel = Callable[[list[Any], ExecContext, dict[str, Any]], Any]


@dataclass(frozen=True)
class Instruction:
    """One glyph: its name, beam stage on the wave path, precision class and kernel."""

    glyph: str
    name: str
    stage: str
    precision_class: str
    symbolic: bool
    wave: Kernel | None
    doc: str = ""


INSTRUCTIONS: dict[str, Instruction] = {}


def instruction(
    glyph: str,
    *,
    name: str,
    stage: str = "wave",
    precision_class: str = "pointwise",
    symbolic: bool = True,
    override: bool = False,
) -> Callable[[Kernel], Kernel]:
    """Register `fn` as the wave kernel of `glyph` (a duplicate raises unless `override=True`)."""
    if precision_class not in PRECISION_CLASSES:
        raise CodexValueError(
            f"Unknown precision class `{precision_class}`{did_you_mean(precision_class, PRECISION_CLASSES)}."
        )

    def register(fn: Kernel) -> Kernel:
        if glyph in INSTRUCTIONS and not override:
            raise CodexValueError(f"Glyph `{glyph}` is already registered; pass `override=True` to replace it.")
        INSTRUCTIONS[glyph] = Instruction(glyph, name, stage, precision_class, symbolic, fn, (fn.__doc__ or "").strip())
        return fn

    return register


def lookup(glyph: str) -> Instruction:
    """The instruction for `glyph`, or a `BackendError` naming what is missing."""
    try:
        return INSTRUCTIONS[glyph]
    except KeyError:
        raise BackendError(
            f"No instruction is registered for `{glyph}`{did_you_mean(glyph, INSTRUCTIONS)}; register one "
            "with `codexlab.runtime.registry.instruction`."
        ) from None


# ------------------------------------------------------------------------------------------- kernels


def _ops() -> Any:
    from ..qwave import operators

    return operators


def _method_kw(ctx: ExecContext) -> dict[str, Any]:
    return {"method": ctx.method}


def _need_field(value: Any, glyph: str, what: str = "a field") -> xr.DataArray:
    if not isinstance(value, xr.DataArray):
        raise CodexTypeError(f"`{glyph}` needs {what}, got a {type(value).__name__}.")
    return value


@instruction("∇", name="grad", precision_class="stencil1")
def _grad(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """Gradient of a scalar field: a vector field (dim `component`)."""
    return _ops().grad(_need_field(args[0], "∇"), **_method_kw(ctx))


@instruction("∇·", name="div", precision_class="stencil1")
def _div(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """Divergence of a vector field."""
    return _ops().div(_need_field(args[0], "∇·", "a vector field"), **_method_kw(ctx))


@instruction("∇×", name="curl", precision_class="stencil1")
def _curl(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """Curl: 2-D gives the scalar ∂xFy − ∂yFx, 3-D a vector."""
    return _ops().curl(_need_field(args[0], "∇×", "a vector field"), **_method_kw(ctx))


@instruction("Δ", name="lap", precision_class="stencil2")
def _lap(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """Laplacian Σ ∂²f/∂xᵢ²."""
    return _ops().lap(_need_field(args[0], "Δ"), **_method_kw(ctx))


@instruction("□", name="dalembert", precision_class="stencil2")
def _dalembert(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """d'Alembertian ∂²f/∂t² − c²Δf along the grid's `t` axis."""
    return _ops().dalembert(_need_field(args[0], "□"), c=ctx.c, **_method_kw(ctx))


@instruction("d/dt", name="ddt", precision_class="stencil1")
def _ddt(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """Time derivative along the grid's `t` axis."""
    return _ops().ddt(_need_field(args[0], "d/dt"), **_method_kw(ctx))


def _partial(axis: str) -> Kernel:
    def kernel(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
        return _ops().partial(_need_field(args[0], f"∂{axis}"), axis, **_method_kw(ctx))

    kernel.__doc__ = f"Partial derivative along `{axis}`."
    return kernel


for _axis in "xyzt":
    instruction(f"∂{_axis}", name=f"d{_axis}", precision_class="stencil1")(_partial(_axis))


@instruction("•", name="dot")
def _dot(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """Pointwise dot product (bilinear, no conjugation); scalars multiply."""
    a, b = args
    if isinstance(a, xr.DataArray) and isinstance(b, xr.DataArray):
        return _ops().dot(a, b)
    return a * b


@instruction("×", name="cross")
def _cross(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """Cross product of vector fields (2-D gives the z component)."""
    return _ops().cross(_need_field(args[0], "×", "a vector field"), _need_field(args[1], "×", "a vector field"))


@instruction("⊗", name="tensor", stage="wave", precision_class="state")
def _tensor(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """Dyadic product of vector fields, or a rank-1 entangled pair of two states."""
    a, b = args
    if isinstance(a, xr.DataArray) and isinstance(b, xr.DataArray) and "component" in a.dims:
        return _ops().outer(a, b)
    from ..qwave import pairs

    return pairs.tensor(_need_field(a, "⊗", "a state"), _need_field(b, "⊗", "a state"))


def _arith(fn: Callable[[Any, Any], Any]) -> Kernel:
    def kernel(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
        return fn(args[0], args[1])

    return kernel


def _div_op(a: Any, b: Any) -> Any:
    return a / b


instruction("+", name="add")(_arith(lambda a, b: a + b))
instruction("-", name="sub")(_arith(lambda a, b: a - b))
instruction("*", name="mul")(_arith(lambda a, b: a * b))
instruction("/", name="truediv")(_arith(_div_op))
instruction("^", name="pow")(_arith(lambda a, b: a**b))


@instruction("neg", name="neg")
def _neg(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """Negation."""
    return -args[0]


def _compare(fn: Callable[[Any, Any], Any], glyph: str) -> Kernel:
    def kernel(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
        a, b = args
        if isinstance(a, xr.DataArray) or isinstance(b, xr.DataArray):
            raise CodexTypeError(
                f"`{glyph}` compares numbers, got a field; compare a reduction such as `‖f‖` or `max(f)`."
            )
        if isinstance(a, complex) or isinstance(b, complex):
            raise CodexTypeError(f"`{glyph}` needs real numbers, got a complex one; compare `abs(…)` instead.")
        return bool(fn(a, b))

    return kernel


for _g, _f in {
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "≤": lambda a, b: a <= b,
    "≥": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "≠": lambda a, b: a != b,
}.items():
    instruction(_g, name=f"cmp{len(INSTRUCTIONS)}", precision_class="none")(_compare(_f, _g))


@instruction("⊕", name="superpose", stage="wave", precision_class="pointwise", symbolic=False)
def _superpose(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """Normalized sum of two states."""
    from ..qwave import states

    return states.superpose(_need_field(args[0], "⊕", "a state"), _need_field(args[1], "⊕", "a state"))


@instruction("⊖", name="cancel", stage="wave", precision_class="pointwise", symbolic=False)
def _cancel(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """Normalized difference of two states."""
    from ..qwave import states

    return states.cancel(_need_field(args[0], "⊖", "a state"), _need_field(args[1], "⊖", "a state"))


@instruction("⋈", name="interfere", precision_class="pointwise")
def _interfere(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """a + e^{iφ} b, not normalized."""
    a, b, phase = args
    return a + np.exp(1j * complex(phase)) * b


@instruction("↔", name="entangle", stage="entangle", precision_class="state", symbolic=False)
def _entangle(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """Entangled pair (a⊗b + b⊗a)/√2 in Schmidt form."""
    from ..qwave import pairs

    return pairs.entangle(_need_field(args[0], "↔", "a state"), _need_field(args[1], "↔", "a state"))


@instruction("⧖", name="collapse", stage="collapse", precision_class="state", symbolic=False)
def _collapse(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """Gaussian-pointer (or projective) measurement with a key from seed, statement hash and step."""
    from ..qwave import measure, prng

    key = prng.derive_key(ctx.seed, ctx.statement_hash, ctx.step)
    mode = str(kw.get("mode", "pointer"))
    return measure.collapse(_need_field(args[0], "⧖", "a state"), key, mode=mode)


@instruction("norm", name="norm", precision_class="reduction", symbolic=False)
def _norm(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """‖e‖: (Σ|e|²ΔA)^½ of a field, |e| of a number."""
    a = args[0]
    if isinstance(a, xr.DataArray):
        return float(np.sqrt(float(np.sum(np.abs(np.asarray(a)) ** 2)) * ctx.grid.cell_volume))
    return abs(a)


@instruction("density", name="density", precision_class="pointwise")
def _density(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """|e|², pointwise."""
    a = args[0]
    if isinstance(a, xr.DataArray):
        return np.abs(a) ** 2
    return abs(a) ** 2


@instruction("vec", name="vector", precision_class="none")
def _vector(args: list[Any], ctx: ExecContext, kw: dict[str, Any]) -> Any:
    """A vector field from its components."""
    from ..qwave.fields import make_field

    comps = [np.broadcast_to(np.asarray(a), ctx.grid.shape) for a in args]
    if len(comps) != len(ctx.grid.space_axes):
        raise CodexTypeError(f"A vector on this grid needs {len(ctx.grid.space_axes)} components, got {len(comps)}.")
    return make_field(np.stack(comps), ctx.grid)


def ensure_available(glyph: str, *, wave_on: bool) -> Instruction:
    """The instruction, checking that its wave kernel exists when the wave path is asked for."""
    ins = lookup(glyph)
    if wave_on and ins.wave is None:
        raise BackendError(f"`{glyph}` has no wave kernel registered; register one with `instruction`.")
    return ins
