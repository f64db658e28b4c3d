"""The bridge from QGlyph programs to JAX: one jitted function per program, a `⟲` loop in one lax loop.

`compile_program(program, grid)` turns a fusable `QGlyphProgram` into ONE `jax.jit` function of the
input arrays that returns every instruction's result (`keep="all"`, so a caller can still show one
beam per op) or only the outputs' (`keep="outputs"`, which lets XLA keep intermediates in registers).
Inside, values are raw arrays: numbers are 0-d, a vector field carries a leading component axis and a
tensor two, as in `kernels`. The stencils are the `kernels` ones (JAX backend), so fused and op-by-op
results agree to rounding.

`compile_loop(body, carried, grid, count=…)` (or `until=…, max_iter=…`) runs a whole loop inside one
`lax.fori_loop` (or a do-while `lax.while_loop`) with the assigned values as the carry, and watches
for attractors in the same loop:

- fixed point: the first iteration k ≥ 1 with max over carried values of ‖xₖ − xₖ₋₁‖ below
  eps·max(max ‖xₖ‖, 1), as `runtime.attractors.AttractorTracker` does;
- cycle (period ≥ 2): a state hash h(x) = two fixed random projections of the carried arrays
  (separable per-axis weights from a fixed seed), each rounded to 12 significant digits (6 below
  float64): finer than the fixed-point tolerance, so a state converging to a fixed point is reported
  as one, not as a cycle. Each iteration's hash is compared with the last `window` hashes (the exact
  first occurrence, as the Python tracker reports it, for periods up to `window`) and with Brent's
  power-of-two checkpoint (any period λ after a tail μ, found by iteration 2·max(μ, λ) + λ at the
  latest; `first_seen` is then the checkpoint, a repeat but not necessarily the earliest).

  Limits of the hash: states whose two projections agree to 12 digits count as equal (for unequal
  states a coincidence of both, about 1e-24); a projection whose rounding noise (about 1e-16·√size
  relative) straddles a rounding boundary misses that repeat (rarely; later repeats still match);
  NaN states never match; parts of a state far below the rest's magnitude do not show in the hash.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ..errors import CodexError, CodexNameError, CodexTypeError, CodexValueError, did_you_mean
from ..ops import find_spec
from ..photon.ir import PNode
from . import kernels as K
from .arrays import ArraySpec, abs2, array_spec, rank
from .grid import Grid
from .qglyph import NotFusable, QGlyphProgram, QInput, QInstr, Ref, to_qglyph, to_wave_program
from .stats import field_stats, has_stats

__all__ = [
    "compile_program",
    "CompiledProgram",
    "ProgramResult",
    "compile_loop",
    "CompiledLoop",
    "LoopResult",
    "NotFusable",
    "to_qglyph",
    "to_wave_program",
    "clear_cache",
]

KEEP = ("all", "outputs")
_CACHE_SIZE = 256
_PROGRAMS: OrderedDict[tuple[Any, ...], CompiledProgram] = OrderedDict()
_LOOPS: OrderedDict[tuple[Any, ...], _LoopKernel] = OrderedDict()


def clear_cache() -> None:
    """Forget every compiled program and loop (their jitted functions go with them)."""
    _PROGRAMS.clear()
    _LOOPS.clear()


def _cached(cache: OrderedDict[tuple[Any, ...], Any], key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    value = make()
    cache[key] = value
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return value


# ----------------------------------------------------------------------------------------- static spec


def _grid_key(grid: Grid) -> tuple[Any, ...]:
    return tuple((a.name, float(a.lo), float(a.hi), int(a.n), a.bc) for a in grid.axes)


def _spec(grid: Grid, method: str, c: float, dtype: Any) -> ArraySpec:
    if not isinstance(grid, Grid):
        raise CodexTypeError(f"The bridge needs a `Grid`, got a `{type(grid).__name__}`.")
    return array_spec(grid, method, c, dtype)


def _axes_used(key: str, names: tuple[str, ...], space: tuple[str, ...]) -> tuple[str, ...]:
    """The axes an op's stencil reads: a partial its axis, □ every axis, other derivatives the space."""
    spec = find_spec(key)
    if spec is None or spec.order == 0:
        return ()
    if spec.axis is not None and key != "□":
        return (spec.axis,)
    return names if key == "□" else space


def _check_static(program: QGlyphProgram, grid: Grid, spec: ArraySpec) -> None:
    """Raise `NotFusable` for what the grid alone rules out (missing axes, spectral on a wall)."""
    if not program.fusable:
        raise NotFusable(program.why_not or "The program is not fusable; run it op by op.")
    names = grid.names
    space = tuple(a.name for a in grid.space_axes)
    for axis in program.coords:
        if axis not in names:
            raise NotFusable(f"Coordinate `{axis}` is not an axis of the grid `{grid.describe()}`; run it op by op.")
    for ins in program.instructions:
        key = _key(ins)
        op = find_spec(key)
        if op is not None and op.axis is not None and op.axis not in names:
            raise NotFusable(
                f"`{key}` needs the axis `{op.axis}`, which the grid `{grid.describe()}` lacks; run it op by op."
            )
        if key == "∇×" and len(space) not in (2, 3):
            raise NotFusable(f"`∇×` needs 2 or 3 spatial axes, the grid has {len(space)}; run it op by op.")
        used = _axes_used(key, names, space)
        try:
            K.check_method(spec.axes, [names.index(a) for a in used], spec.method)
        except CodexValueError as err:
            raise NotFusable(err.message) from err


def _key(ins: QInstr) -> str:
    """The spec key of an instruction: its glyph, or a call's function name."""
    return str(ins.attr("fn")) if ins.op == "call" else ins.op


def _rule(ins: QInstr) -> Any:
    spec = find_spec(_key(ins))
    rule = spec.array if spec is not None else None
    if rule is None:
        raise NotFusable(f"`{ins.token}` has no array rule; run it op by op.")
    return rule


def _is_array(v: Any) -> bool:
    return isinstance(v, (jax.Array, np.ndarray))


def _constant(v: Any) -> Any:
    """A constant operand as a weakly typed JAX scalar (ints as floats, so `2^-1` is 0.5)."""
    return jnp.asarray(float(v) if isinstance(v, int) else v)


def _mesh(spec: ArraySpec, axis: str) -> Any:
    """The coordinate mesh of `axis` (lo + k·h along it, broadcast to the grid), computed in-kernel."""
    index = [a.name for a in spec.axes].index(axis)
    k = lax.broadcasted_iota(jnp.float64, spec.shape, index)
    return (spec.lows[index] + spec.axes[index].h * k).astype(spec.dtype)


def _value(v: Any, spec: ArraySpec) -> Any:
    """A result as an array of the program's precision (constants become 0-d arrays)."""
    if _is_array(v):
        return v
    return jnp.asarray(v, spec.complex_dtype if isinstance(v, complex) else spec.dtype)


def _evaluate(program: QGlyphProgram, spec: ArraySpec, env: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Trace a program: every instruction's value by id, and the named outputs."""
    values: dict[str, Any] = {}
    meshes: dict[str, Any] = {}

    def get(ref: Ref) -> Any:
        if isinstance(ref, str):
            return values[ref]
        if isinstance(ref, QInput):
            if ref.kind == "coord":
                if ref.name not in meshes:
                    meshes[ref.name] = _mesh(spec, ref.name)
                return meshes[ref.name]
            return env[ref.name]
        return ref

    for ins in program.instructions:
        args = [get(a) for a in ins.args]
        if not any(_is_array(a) for a in args):
            args = [_constant(a) for a in args]
        try:
            values[ins.id] = _rule(ins)(args, spec, {})
        except NotFusable:
            raise
        except (CodexError, TypeError, ValueError) as err:
            raise NotFusable(f"`{ins.token}` cannot run fused on these operands ({err}); run it op by op.") from err
    return values, {name: _value(get(ref), spec) for name, ref in program.outputs}


def _prepare(program_inputs: Sequence[str], inputs: Mapping[str, Any], spec: ArraySpec) -> dict[str, Any]:
    """The inputs a program reads, as arrays of the program's precision; names checked."""
    missing = [n for n in program_inputs if n not in inputs]
    if missing:
        raise CodexNameError(
            f"Input `{missing[0]}` is missing{did_you_mean(missing[0], inputs)}; the program reads "
            f"{', '.join(f'`{n}`' for n in program_inputs)}."
        )
    return {n: _cast(inputs[n], spec, n) for n in program_inputs}


def _cast(v: Any, spec: ArraySpec, name: str) -> Any:
    if isinstance(v, bool) or isinstance(v, np.bool_):
        raise NotFusable(f"Input `{name}` is a boolean, not a value on the grid; run it op by op.")
    arr = K.as_array(v)
    target = spec.complex_dtype if jnp.iscomplexobj(arr) else spec.dtype
    arr = arr if arr.dtype == target else arr.astype(target)
    rank(arr, spec, name)
    return arr


def _shapes(arrays: Mapping[str, Any]) -> dict[str, jax.ShapeDtypeStruct]:
    return {k: jax.ShapeDtypeStruct(np.shape(v), v.dtype) for k, v in arrays.items()}


def _cost(lowered: Any) -> dict[str, float]:
    """XLA's flops / bytes / transcendentals of a compiled function (dict or list-of-dict forms)."""
    raw = lowered.compile().cost_analysis()
    if isinstance(raw, (list, tuple)):
        raw = raw[0] if raw else {}
    costs: dict[str, Any] = dict(raw or {})
    return {
        "flops": float(costs.get("flops", 0.0)),
        "bytes_accessed": float(costs.get("bytes accessed", costs.get("bytes_accessed", 0.0))),
        "transcendentals": float(costs.get("transcendentals", 0.0)),
    }


# ------------------------------------------------------------------------------------------ programs


class ProgramResult(NamedTuple):
    """One fused execution: every kept instruction's value by id, and the named outputs."""

    values: dict[str, Any]
    outputs: dict[str, Any]


class CompiledProgram:
    """A QGlyph program as one jitted function of its inputs (see `compile_program`)."""

    def __init__(self, program: QGlyphProgram, grid: Grid, spec: ArraySpec, keep: str) -> None:
        self.program = program
        self.grid = grid
        self.spec = spec
        self.keep = keep
        self._shapes: dict[str, jax.ShapeDtypeStruct] | None = None  # of the last call, not its arrays
        out_ids = {r for _, r in program.outputs if isinstance(r, str)}
        kept = {i.id for i in program.instructions} if keep == "all" else out_ids

        def fused(inputs: dict[str, Any]) -> dict[str, Any]:
            values, _ = _evaluate(program, spec, inputs)
            return {k: _value(v, spec) for k, v in values.items() if k in kept}

        def fused_stats(inputs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
            values = fused(inputs)
            return values, {k: field_stats(v, grid.ndim) for k, v in values.items() if has_stats(v, grid.ndim)}

        self._fused = fused
        self._jitted = jax.jit(fused)
        self._jitted_stats = jax.jit(fused_stats)
        self._executables: dict[tuple[Any, ...], Any] = {}

    @property
    def qglyph_id(self) -> str:
        """The program's id."""
        return self.program.qglyph_id

    def __call__(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Run once: instruction id → array (every instruction with keep="all", else the outputs')."""
        prepared = _prepare(self.program.inputs, inputs, self.spec)
        self._shapes = _shapes(prepared)
        return self._jitted(prepared)

    def run_timed(self, inputs: Mapping[str, Any], *, stats: bool = False) -> tuple[Any, float]:
        """Run once and say how long compiling took (ms; 0.0 when this program and these shapes were
        compiled before in this process — a persistent cache hit is counted as compile time).

        With `stats` the result is (values, stats): each field value's `qwave.stats.field_stats`
        (min, max, Σ|z|²), computed in the same program instead of by host passes over each result.
        """
        prepared = _prepare(self.program.inputs, inputs, self.spec)
        shapes = _shapes(prepared)
        key = (stats, *sorted((n, s.shape, s.dtype.str) for n, s in shapes.items()))
        exe = self._executables.get(key)
        compile_ms = 0.0
        if exe is None:
            started = time.perf_counter()
            exe = (self._jitted_stats if stats else self._jitted).lower(shapes).compile()
            compile_ms = (time.perf_counter() - started) * 1e3
            self._executables[key] = exe
        self._shapes = shapes
        return jax.block_until_ready(exe(prepared)), compile_ms

    def eager(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Run once without compiling (op by op): for programs of numbers, where compiling costs more."""
        return self._fused(_prepare(self.program.inputs, inputs, self.spec))

    def run(self, inputs: Mapping[str, Any]) -> ProgramResult:
        """Run once and also resolve the named outputs (an output may be an input or a constant)."""
        values = self(inputs)
        return ProgramResult(values, self.named(values, inputs))

    def named(self, values: Mapping[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The named outputs from one call's `values` and its `inputs`."""
        out: dict[str, Any] = {}
        for name, ref in self.program.outputs:
            if isinstance(ref, str):
                out[name] = values[ref]
            elif isinstance(ref, QInput) and ref.kind == "coord":
                out[name] = jnp.asarray(self.grid.mesh()[self.grid.names.index(ref.name)], self.spec.dtype)
            elif isinstance(ref, QInput):
                out[name] = _cast(inputs[ref.name], self.spec, ref.name)
            else:
                out[name] = _value(ref, self.spec)
        return out

    def cost_analysis(self, inputs: Mapping[str, Any] | None = None) -> dict[str, float]:
        """XLA's estimate for one call: `flops`, `bytes_accessed`, `transcendentals`.

        Shapes come from `inputs`, else from the last call, else every input is taken as a scalar
        field of the program's dtype.
        """
        if inputs is not None:
            shapes = _shapes(_prepare(self.program.inputs, inputs, self.spec))
        elif self._shapes is not None:
            shapes = self._shapes
        else:
            shapes = {n: jax.ShapeDtypeStruct(self.spec.shape, self.spec.dtype) for n in self.program.inputs}
        return _cost(self._jitted.lower(shapes))

    def __repr__(self) -> str:
        return (
            f"CompiledProgram({self.qglyph_id[:12]}, {len(self.program)} instructions, "
            f"grid={self.grid.describe()!r}, method={self.spec.method!r}, keep={self.keep!r})"
        )


def _as_program(program: QGlyphProgram | PNode | Sequence[Any]) -> QGlyphProgram:
    return program if isinstance(program, QGlyphProgram) else to_qglyph(program)


def compile_program(
    program: QGlyphProgram | PNode | Sequence[Any],
    grid: Grid,
    *,
    method: str = "fd2",
    c: float = 1.0,
    dtype: Any = jnp.float64,
    keep: str = "all",
) -> CompiledProgram:
    """Compile a fusable QGlyph program (or what `to_qglyph` takes) on `grid` into one jitted function.

    Parameters: `method` the derivative method (`fd2`, `fd4`, `spectral`); `c` the wave speed of `□`;
    `dtype` the real precision (complex inputs use the matching complex type); `keep="all"` returns
    every instruction's value, `"outputs"` only the outputs'. Compiled programs are cached by
    (program id, grid, method, c, dtype, keep).
    Raises `NotFusable` (with the reason) for a program the fused path cannot run on this grid; a
    caller then runs it op by op. Operand kinds are checked when the inputs arrive: a call can raise
    `NotFusable` too (e.g. `⊗` of two scalar fields, which makes a pair).
    """
    if keep not in KEEP:
        raise CodexValueError(f"`keep={keep!r}` is unknown{did_you_mean(str(keep), KEEP)}; use `all` or `outputs`.")
    prog = _as_program(program)
    spec = _spec(grid, method, c, dtype)
    _check_static(prog, grid, spec)
    key = (prog.qglyph_id, _grid_key(grid), spec.method, spec.c, spec.dtype.name, keep)
    return _cached(_PROGRAMS, key, lambda: CompiledProgram(prog, grid, spec, keep))


# --------------------------------------------------------------------------------------------- loops


@dataclass(frozen=True)
class LoopResult:
    """A finished loop: final values of the names the body assigns, iterations, condition, attractor, and
    `stopped_at`: the iteration (counting from 1) whose values were the first with a NaN or Inf (the loop
    stops there)."""

    values: dict[str, Any]
    iterations: int
    condition_met: bool
    attractor: dict[str, Any] | None
    stopped_at: int | None = None


_NO_ITER = np.iinfo(np.int32).max


#: Per tracked array, per part (real, imag): one (axis length, projections) weight matrix per axis.
_Weights = list[list[list[np.ndarray]]]
PROJECTIONS = 2


def _hash_weights(shapes: Sequence[tuple[int, ...]]) -> _Weights:
    """Fixed random weights (seeded by array index, part and shape, so every run agrees)."""
    out: _Weights = []
    for i, shape in enumerate(shapes):
        parts: list[list[np.ndarray]] = []
        for part in range(2):
            digest = hashlib.blake2b(f"{i}:{part}:{shape}".encode(), digest_size=4).digest()
            rng = np.random.default_rng(int.from_bytes(digest, "little"))
            parts.append([rng.standard_normal((n, PROJECTIONS)) for n in (shape or (1,))])
        out.append(parts)
    return out


def _project(x: Any, mats: list[np.ndarray]) -> Any:
    """(projections,): Σ x[i, j, …]·u_p[i]·v_p[j]·… in float64, one pass over x for all projections."""
    x = x.astype(jnp.float64)
    if x.ndim == 0:
        return x * jnp.asarray(mats[0][0])
    y = x @ jnp.asarray(mats[-1])
    for w in reversed(mats[:-1]):
        y = jnp.einsum("...ip,ip->...p", y, jnp.asarray(w))
    return y


def _state_hash(arrays: Sequence[Any], weights: _Weights, digits: int) -> Any:
    """(projections, 2): each projection's mantissa and decimal exponent, rounded to `digits` digits."""
    p = jnp.zeros((PROJECTIONS,), jnp.float64)
    for x, (w_re, w_im) in zip(arrays, weights, strict=True):
        p = p + _project(jnp.real(x), w_re)
        if jnp.iscomplexobj(x):
            p = p + _project(jnp.imag(x), w_im)
    a = jnp.abs(p)
    e = jnp.where(a > 0, jnp.floor(jnp.log10(jnp.where(a > 0, a, 1.0))), 0.0)
    m = jnp.round(p * 10.0 ** (digits - 1 - e))
    return jnp.stack([m, e], axis=-1)


def _l2(x: Any) -> Any:
    return jnp.sqrt(jnp.sum(abs2(x)))


class _Track(NamedTuple):
    """Attractor search state carried through the loop."""

    kind: Any  # 0 none, 1 fixed point, 2 cycle
    iteration: Any
    residual: Any
    period: Any
    first_seen: Any
    ring_h: Any
    ring_k: Any
    brent_h: Any
    brent_k: Any
    power: Any


def _track_init(window: int, projections: int) -> _Track:
    i32 = jnp.int32
    return _Track(
        jnp.zeros((), i32),
        jnp.full((), -1, i32),
        jnp.zeros((), jnp.float64),
        jnp.zeros((), i32),
        jnp.full((), -1, i32),
        jnp.zeros((window, projections, 2)),
        jnp.full((window,), -1, i32),
        jnp.zeros((projections, 2)),
        jnp.full((), -1, i32),
        jnp.ones((), i32),
    )


def _observe(
    k: Any, old: Sequence[Any], new: Sequence[Any], trk: _Track, eps: float, hasher: Callable[[Any], Any]
) -> _Track:
    """One iteration of the attractor search (only called while nothing has been found)."""
    delta = jnp.max(jnp.stack([_l2(a - b) for a, b in zip(new, old, strict=True)]))
    scale = jnp.maximum(jnp.max(jnp.stack([_l2(a) for a in new])), 1.0)
    fixed = (k >= 1) & ((delta < eps * scale) | (delta == 0))
    h = hasher(new)
    # Period 1 is left to the fixed-point test, which also catches exact repeats (‖xₖ − xₖ₋₁‖ = 0).
    ring_eq = (trk.ring_k >= 0) & (trk.ring_k < k - 1) & jnp.all(trk.ring_h == h, axis=(1, 2))
    ring_hit = jnp.any(ring_eq)
    ring_first = jnp.min(jnp.where(ring_eq, trk.ring_k, _NO_ITER))
    brent_hit = (trk.brent_k >= 0) & (trk.brent_k < k - 1) & jnp.all(trk.brent_h == h)
    cycle = ~fixed & (ring_hit | brent_hit)
    first = jnp.where(ring_hit, ring_first, trk.brent_k)
    kind = jnp.where(fixed, 1, jnp.where(cycle, 2, 0)).astype(jnp.int32)
    slot = k % trk.ring_k.shape[0]
    move = (trk.brent_k < 0) | (k - trk.brent_k >= trk.power)
    return _Track(
        kind=kind,
        iteration=jnp.where(kind > 0, k, trk.iteration).astype(jnp.int32),
        residual=jnp.where(fixed, delta.astype(jnp.float64), trk.residual),
        period=jnp.where(cycle, k - first, 0).astype(jnp.int32),
        first_seen=jnp.where(cycle, first, -1).astype(jnp.int32),
        ring_h=trk.ring_h.at[slot].set(h),
        ring_k=trk.ring_k.at[slot].set(k),
        brent_h=jnp.where(move, h, trk.brent_h),
        brent_k=jnp.where(move, k, trk.brent_k).astype(jnp.int32),
        power=jnp.where(move & (trk.brent_k >= 0), trk.power * 2, trk.power).astype(jnp.int32),
    )


def _attractor(trk: _Track) -> dict[str, Any] | None:
    kind = int(trk.kind)
    if kind == 1:
        return {"kind": "fixed_point", "iteration": int(trk.iteration), "residual": float(trk.residual)}
    if kind == 2:
        return {
            "kind": "cycle",
            "period": int(trk.period),
            "iteration": int(trk.iteration),
            "first_seen": int(trk.first_seen),
        }
    return None


def _promote(
    step: Callable[[dict[str, Any]], dict[str, Any]], state: dict[str, Any], names: Sequence[str]
) -> dict[str, Any]:
    """The initial carry in the dtypes and shapes the body keeps (complex if the body makes it so)."""
    for _ in range(4):
        out = jax.eval_shape(step, state)
        new, changed = {}, False
        for n in names:
            o = out[n]
            if n in state:
                v = state[n]
                dt = jnp.result_type(v.dtype, o.dtype)
                try:
                    shape = jnp.broadcast_shapes(v.shape, o.shape)
                except ValueError as err:
                    raise NotFusable(
                        f"`{n}` changes shape from `{v.shape}` to `{o.shape}` in the loop; run it op by op."
                    ) from err
                if (dt, shape) != (v.dtype, v.shape):
                    v, changed = jnp.broadcast_to(v.astype(dt), shape), True
            else:
                v, changed = jnp.zeros(o.shape, o.dtype), True
            new[n] = v
        state = new
        if not changed:
            return state
    raise NotFusable("The loop's values change type or shape from one iteration to the next; run it op by op.")


class _LoopKernel:
    """The jitted loop for one (body, condition, carried, grid, numerics); the bound is an argument."""

    def __init__(
        self,
        body: QGlyphProgram,
        until: QGlyphProgram | None,
        watch: tuple[str, ...],
        spec: ArraySpec,
        eps: float,
        track: bool,
        window: int,
    ) -> None:
        self.body, self.until, self.watch, self.spec = body, until, watch, spec
        self.names = tuple(n for n, _ in body.outputs)
        digits = 12 if spec.dtype == np.float64 else 6

        def step(state: dict[str, Any], consts: dict[str, Any]) -> dict[str, Any]:
            _, named = _evaluate(body, spec, {**consts, **state})
            return {n: named[n] for n in self.names}

        def condition(state: dict[str, Any], consts: dict[str, Any]) -> Any:
            assert until is not None
            _, named = _evaluate(until, spec, {**consts, **state})
            met = named["_"]
            if met.dtype != jnp.bool_ or met.ndim != 0:
                raise NotFusable("The condition of `⟲ until` must be a comparison of numbers; run it op by op.")
            return met

        def finite(state: dict[str, Any]) -> Any:
            """Every carried value finite: the loop stops at the first iterate with a NaN or Inf."""
            # max |x| (NaN-propagating) is finite exactly when every x is; XLA vectorizes this float
            # reduction, unlike `all(isfinite(x))`, a boolean one (+30 % per step at 256²). Sums of `0·x`
            # or of scaled values would do too, but XLA folds the constants into the step's arithmetic.
            inexact = [state[n] for n in self.names if jnp.issubdtype(state[n].dtype, jnp.inexact) and state[n].size]
            flags = [jnp.isfinite(jnp.max(jnp.abs(x))) for x in inexact]  # integers and booleans are finite
            return jnp.all(jnp.stack(flags)) if flags else jnp.array(True)

        def run(
            init: dict[str, Any], consts: dict[str, Any], bound: Any, every: Any, report: bool, sink: Any
        ) -> tuple[Any, ...]:
            state0 = _promote(lambda s: step(s, consts), init, self.names)
            weights = _hash_weights([tuple(state0[n].shape) for n in watch])

            def hasher(arrays: Any) -> Any:
                return _state_hash(arrays, weights, digits)

            def advance(k: Any, state: dict[str, Any], trk: _Track) -> tuple[dict[str, Any], _Track]:
                out = step(state, consts)
                new = {n: jnp.broadcast_to(out[n].astype(state[n].dtype), state[n].shape) for n in self.names}
                if track and watch:
                    old_w, new_w = [state[n] for n in watch], [new[n] for n in watch]
                    trk = lax.cond(
                        trk.kind == 0,
                        lambda t: _observe(k, old_w, new_w, t, eps, hasher),
                        lambda t: t,
                        trk,
                    )
                return new, trk

            def cond_fn(carry: tuple[Any, ...]) -> Any:
                _, _, k, met, ok = carry
                going = (k < bound) & ok
                return going if until is None else going & ~met

            def body_fn(carry: tuple[Any, ...]) -> tuple[Any, ...]:
                state, trk, k, met, _ = carry
                state, trk = advance(k, state, trk)
                met = condition(state, consts) if until is not None else met
                return state, trk, k + 1, met, finite(state)

            trk0 = _track_init(window, PROJECTIONS)
            init_carry = (state0, trk0, jnp.zeros((), jnp.int32), jnp.array(until is None), jnp.array(True))
            if not report:
                state, trk, k, met, ok = lax.while_loop(cond_fn, body_fn, init_carry)
                return state, k, met, trk, ok

            # With `report`, the loop runs in chunks of `every` iterations and reports after each chunk (the
            # inner loop is the plain one, so XLA optimizes it exactly as without reporting).
            def chunk_cond(carry: tuple[Any, ...]) -> Any:
                return cond_fn(carry[0])

            def chunk_body(carry: tuple[Any, ...]) -> tuple[Any, ...]:
                inner, start = carry
                stop = jnp.minimum(start + every, bound)
                inner = lax.while_loop(lambda c: cond_fn(c) & (c[2] < stop), body_fn, inner)
                jax.debug.callback(_report_progress, sink, inner[2])
                return inner, inner[2]

            (state, trk, k, met, ok), _ = lax.while_loop(chunk_cond, chunk_body, (init_carry, init_carry[2]))
            return state, k, met, trk, ok

        self._run = run
        self._jitted = jax.jit(self._with_sink, static_argnums=4)

    def _with_sink(
        self, init: dict[str, Any], consts: dict[str, Any], bound: Any, every: Any, report: bool, sink: Any
    ) -> tuple[Any, ...]:
        return self._run(init, consts, bound, every, report, sink)

    def __call__(
        self, init: dict[str, Any], consts: dict[str, Any], bound: int, every: int = 0, sink: int = 0
    ) -> tuple[Any, ...]:
        """Run the loop; with `every` > 0 the running kernel reports each `every`-th iteration to the
        progress sink `sink` (a separately compiled variant, so loops nobody watches pay nothing)."""
        args = (init, consts, jnp.asarray(bound, jnp.int32), jnp.asarray(max(every, 1), jnp.int32))
        return self._jitted(*args, every > 0, jnp.asarray(sink, jnp.int32))


#: Where running fused loops report their iteration counts: sink token → callback. Each call of a
#: loop with progress gets its own token, so loops in different threads never share (or wait for) one.
_PROGRESS_SINKS: dict[int, Callable[[int], None]] = {}
_SINK_IDS = itertools.count(1)


def _report_progress(sink: Any, done: Any) -> None:
    """Host callback of a fused loop: hand the iteration count to its sink (errors are dropped: progress
    must never break a loop)."""
    callback = _PROGRESS_SINKS.get(int(sink))
    if callback is not None:
        try:
            callback(int(done))
        except Exception:  # noqa: BLE001 - a failing progress display must not fail the computation
            pass


class CompiledLoop:
    """A `⟲` loop compiled into one lax loop (see `compile_loop`); call it with the inputs."""

    def __init__(self, kernel: _LoopKernel, count: int | None, max_iter: int | None) -> None:
        self._kernel = kernel
        self.count = count
        self.max_iter = max_iter
        self.body = kernel.body
        self.condition = kernel.until
        parts = [
            kernel.body.qglyph_id,
            kernel.until.qglyph_id if kernel.until else "-",
            ",".join(kernel.watch),
        ]
        self.qglyph_id = hashlib.blake2b("\x1f".join(["loop", *parts]).encode(), digest_size=12).hexdigest()

    @property
    def inputs(self) -> tuple[str, ...]:
        """Names the loop needs before it starts: values read before they are assigned, and constants."""
        names = set(self.body.inputs)
        if self.condition is not None:
            names |= set(self.condition.inputs) - set(self._kernel.names)
        return tuple(sorted(names))

    @property
    def assigned(self) -> tuple[str, ...]:
        """Names the body assigns, in order (the carry)."""
        return self._kernel.names

    def __call__(
        self, inputs: Mapping[str, Any], progress: Callable[[int], None] | None = None, every: int | None = None
    ) -> LoopResult:
        """Run the loop from `inputs` (initial values and constants, raw arrays or numbers).

        `progress(done)` is called from the running kernel every `every` iterations (default: 1/10 of
        the bound) — live progress for a loop that is a single XLA call.
        """
        spec = self._kernel.spec
        needed = self.inputs
        prepared = _prepare(needed, inputs, spec)
        assigned = set(self.assigned)
        init = {n: v for n, v in prepared.items() if n in assigned}
        init.update({n: _cast(inputs[n], spec, n) for n in self.assigned if n not in init and n in inputs})
        consts = {n: v for n, v in prepared.items() if n not in assigned}
        bound = self.count if self.count is not None else self.max_iter
        assert bound is not None
        step = 0 if progress is None else max(1, every if every is not None else bound // 10)
        try:
            if progress is None:
                state, k, met, trk, ok = self._kernel(init, consts, bound)
            else:
                token = next(_SINK_IDS)
                _PROGRESS_SINKS[token] = progress
                try:
                    state, k, met, trk, ok = self._kernel(init, consts, bound, step, token)
                    k = int(k)  # wait for the kernel while its sink is installed
                finally:
                    _PROGRESS_SINKS.pop(token, None)
        except NotFusable:
            raise
        except (CodexError, TypeError, ValueError) as err:
            raise NotFusable(f"The loop cannot run fused ({err}); run it op by op.") from err
        iterations = int(k)
        values = {n: state[n] for n in self.assigned if iterations > 0 or n in init}
        stopped = None if bool(ok) else iterations
        return LoopResult(values, iterations, bool(met), _attractor(trk), stopped)

    def __repr__(self) -> str:
        bound = f"count={self.count}" if self.count is not None else f"until, max_iter={self.max_iter}"
        return f"CompiledLoop({self.qglyph_id[:12]}, {len(self.body)} instructions, {bound})"


def _bound(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise CodexValueError(f"`{what}` must be a whole number ≥ 0, got `{value!r}`.")
    return int(value)


def compile_loop(
    body: Sequence[Any],
    carried: Sequence[str],
    grid: Grid,
    *,
    count: int | None = None,
    until: PNode | None = None,
    max_iter: int | None = None,
    eps: float = 1e-10,
    method: str = "fd2",
    c: float = 1.0,
    dtype: Any = jnp.float64,
    track: bool = True,
    window: int = 16,
) -> CompiledLoop:
    """Compile a `⟲` loop body into one `lax.fori_loop` (`count`) or do-while `lax.while_loop` (`until`).

    Parameters: `body` the assignments `(target, PNode)` (or `PAssign`s) in order; `carried` the names
    whose state the attractor search watches (normally every name the body assigns); `count` a fixed
    number of iterations, or `until` a condition tested after each run of the body with `max_iter` a
    bound; `eps` the fixed-point tolerance; `track=False` skips the attractor search; `window` the
    number of recent state hashes compared exactly (periods up to it get their first occurrence).
    Names the body reads before assigning them, and names it reads but never assigns, are inputs of
    the call (constants are arguments of the jitted function, not baked in).
    Raises `NotFusable` with the reason when the body or condition holds an op the fused path cannot
    run (the caller then runs the loop op by op), `CodexValueError` for bad bounds.
    """
    if (count is None) == (until is None):
        raise CodexValueError("Give a loop either `count=` or `until=` (with `max_iter=`), not both or neither.")
    if until is not None and max_iter is None:
        raise CodexValueError("`⟲ until` needs a bound: pass `max_iter=`.")
    count = None if count is None else _bound(count, "count")
    max_iter = None if max_iter is None else _bound(max_iter, "max_iter")
    if window < 1:
        raise CodexValueError(f"`window` must be at least 1, got `{window}`.")
    program = to_qglyph(list(body))
    condition = None if until is None else to_qglyph(until)
    spec = _spec(grid, method, c, dtype)
    _check_static(program, grid, spec)
    if condition is not None:
        _check_static(condition, grid, spec)
    names = {n for n, _ in program.outputs}
    watch = tuple(n for n in dict.fromkeys(carried) if n in names)
    key = (
        program.qglyph_id,
        condition.qglyph_id if condition else None,
        watch,
        _grid_key(grid),
        spec.method,
        spec.c,
        spec.dtype.name,
        float(eps),
        bool(track),
        int(window),
    )
    kernel = _cached(_LOOPS, key, lambda: _LoopKernel(program, condition, watch, spec, float(eps), track, window))
    return CompiledLoop(kernel, count, max_iter)
