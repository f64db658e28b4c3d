"""Fusion: the most frequent chain of fusable ops among approved beams becomes one named, jitted glyph.

A chain is a parent→child path of approved op beams (wave or symbolic, whichever path ran them) whose
tokens are all fusable. Each step after the first records where its predecessor enters it (`slot`): the
index among its parents, or `both` when a vector product (`•`, `×`, `⊗`) has the predecessor as its only
parent (as in `∇ψ • ∇ψ`); an operand that is not the predecessor becomes a template input (a number when
an arithmetic op has no other parent beam, since a constant leaves no beam). `⋈` and `vec` are left out.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from codexlab.lang import parse_expr
from codexlab.ops import find_spec, iter_specs
from codexlab.patterns._beams import field as beam_field
from codexlab.patterns._beams import op_chains
from codexlab.photon.adapter import codex_to_photon_ast
from codexlab.photon.ir import PNode
from codexlab.photon.printing import to_unicode
from codexlab.qwave import kernels as K
from codexlab.qwave.bridge import compile_program
from codexlab.qwave.fields import make_field
from codexlab.qwave.grid import Grid
from codexlab.qwave.qglyph import QGlyphProgram, QInput, QInstr, Ref, to_qglyph

__all__ = [
    "BINARY_OPS",
    "CHAINABLE",
    "FusionGlyph",
    "UNARY_OPS",
    "chain_supports",
    "measure_speedup",
    "traffic_gain",
    "recombine_from_beams",
    "run_op_by_op",
]


def _chainable(arity: int) -> frozenset[str]:
    """Ops of a fixed arity whose spec is fusable and has an array rule."""
    return frozenset(
        s.key for s in iter_specs() if s.arity == (arity, arity) and s.fusable is not False and s.array is not None
    )


UNARY_OPS: frozenset[str] = _chainable(1)
BINARY_OPS: frozenset[str] = _chainable(2)
#: Tokens a fusion chain may hold (fusable ops with a fixed arity).
CHAINABLE: frozenset[str] = UNARY_OPS | BINARY_OPS
_SELF_PRODUCTS = frozenset({"•", "×", "⊗"})
_AXES = ("x", "y", "z")

Step = tuple[str, str]  # (token, slot): slot "-" for the first op, else "0", "1", ... or "both"


@dataclass(frozen=True)
class FusionGlyph:
    """A named fused glyph: Photon template over placeholder inputs, its QGlyph program, the memory traffic
    it saves (`traffic_gain`, a static fact from the op specs, which decides whether a Lab keeps it) and
    its measured speedup (a report)."""

    name: str
    template: PNode
    program: QGlyphProgram
    inputs: tuple[str, ...]
    support: int
    speedup: float | None
    measured_on: tuple[int, ...] | None
    chain: tuple[str, ...] = ()
    input_kinds: Mapping[str, str] = field(default_factory=dict)
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    traffic_gain: float = 1.0

    @property
    def text(self) -> str:
        """The template as CodexLang text."""
        return to_unicode(self.template)

    def kernel(self, grid: Grid, *, method: str = "fd2", dtype: Any = jnp.float64) -> Callable[..., Any]:
        """A callable `f(*inputs)` or `f(**inputs)` running the one fused kernel on `grid`.

        Inputs are DataArrays or arrays (numbers for number slots); a result of the grid's shape (or
        with component axes) comes back as a DataArray named after the glyph, anything else as an array.
        """
        compiled = compile_program(self.program, grid, method=method, dtype=dtype, keep="outputs")

        def run(*args: Any, **kwargs: Any) -> Any:
            if len(args) > len(self.inputs):
                raise TypeError(f"`{self.name}` takes {len(self.inputs)} inputs ({', '.join(self.inputs)})")
            values = dict(zip(self.inputs, args, strict=False))
            values.update(kwargs)
            arrays = {k: (v.values if isinstance(v, xr.DataArray) else v) for k, v in values.items()}
            result = compiled.run(arrays).outputs["_"]
            if np.ndim(result) >= grid.ndim and tuple(np.shape(result)[-grid.ndim :]) == grid.shape:
                return make_field(np.asarray(result), grid, name=self.name, with_id=False)
            return result

        return run


# ------------------------------------------------------------------------------------------ chains


def _slot(prev: Any, beam: Any) -> str | None:
    """Where `prev` enters `beam` (see the module doc), or None when the beam is no chain step."""
    token = str(beam_field(beam, "token"))
    parents = list(dict.fromkeys(beam_field(beam, "parents", [])))
    pid = beam_field(prev, "beam_id")
    if pid not in parents:
        return None
    if token in UNARY_OPS:
        return "0"
    if len(parents) == 1:
        return "both" if token in _SELF_PRODUCTS else "0"
    index = parents.index(pid)
    return str(index) if index < 2 else None


def _steps(chain: Sequence[Any]) -> tuple[Step, ...] | None:
    tokens = [str(beam_field(b, "token")) for b in chain]
    if any(t not in CHAINABLE for t in tokens):
        return None
    steps: list[Step] = [(tokens[0], "-")]
    for prev, beam, token in zip(chain, chain[1:], tokens[1:], strict=False):
        slot = _slot(prev, beam)
        if slot is None:
            return None
        steps.append((token, slot))
    return tuple(steps)


def chain_supports(
    beams: Iterable[Any], lengths: Sequence[int] = (2, 3, 4)
) -> dict[tuple[Step, ...], list[tuple[Any, ...]]]:
    """Fusable chains of approved op beams → their distinct occurrences (beam paths), across runs."""
    pool = list(beams)
    found: dict[tuple[Step, ...], dict[tuple[str, ...], tuple[Any, ...]]] = defaultdict(dict)
    for n in lengths:
        for chain in op_chains(pool, n):
            key = _steps(chain)
            if key is not None:
                found[key][tuple(beam_field(b, "beam_id") for b in chain)] = chain
    return {k: list(v.values()) for k, v in found.items()}


# ---------------------------------------------------------------------------------------- template


def _kind_of(beam: Any | None) -> str:
    if beam is None:
        return "number"
    kind = beam_field(beam, "result", {}).get("kind")
    return {"field": "field", "vector": "vector", "number": "number"}.get(str(kind), "field")


def _apply(token: str, args: list[str]) -> str:
    if token in BINARY_OPS:
        return f"({args[0]}) {token} ({args[1]})"
    if token == "neg":
        return f"-({args[0]})"
    if token == "norm":
        return f"‖{args[0]}‖"
    if token == "density":
        return f"|{args[0]}|²"
    return f"{token}({args[0]})"


def _template(
    steps: Sequence[Step], occurrence: Sequence[Any], by_id: Mapping[str, Any]
) -> tuple[str, tuple[str, ...], dict[str, str]]:
    """CodexLang text of a chain over placeholders `q0, q1, …`, the placeholders, and their kinds."""
    names: list[str] = []
    kinds: dict[str, str] = {}

    def fresh(kind: str) -> str:
        name = f"q{len(names)}"
        names.append(name)
        kinds[name] = kind
        return name

    first = occurrence[0]
    parents = [by_id.get(p) for p in dict.fromkeys(beam_field(first, "parents", []))]
    token = steps[0][0]
    if token in BINARY_OPS:
        if len(parents) == 1:
            a = fresh(_kind_of(parents[0]))
            b = a if token in _SELF_PRODUCTS else fresh("number")
        else:
            a = fresh(_kind_of(parents[0] if parents else None))
            b = fresh(_kind_of(parents[1] if len(parents) > 1 else None))
        text = _apply(token, [a, b])
    else:
        text = _apply(token, [fresh(_kind_of(parents[0] if parents else None))])
    for (token, slot), prev, beam in zip(steps[1:], occurrence, occurrence[1:], strict=False):
        if token in UNARY_OPS:
            text = _apply(token, [text])
        elif slot == "both":
            text = _apply(token, [text, text])
        else:
            others = [p for p in dict.fromkeys(beam_field(beam, "parents", [])) if p != beam_field(prev, "beam_id")]
            other = fresh(_kind_of(by_id.get(others[0])) if others else "number")
            text = _apply(token, [text, other] if slot == "0" else [other, text])
    return text, tuple(names), kinds


def _name_for(program: QGlyphProgram) -> str:
    return "fuse_" + hashlib.blake2b(program.qglyph_id.encode(), digest_size=4).hexdigest()


# ------------------------------------------------------------------------------------- measurement


def _grid_for(shape: Sequence[int]) -> Grid:
    return Grid.from_spec([(_AXES[i], -1.0, 1.0, int(n)) for i, n in enumerate(shape)])


def sample_inputs(kinds: Mapping[str, str], grid: Grid) -> dict[str, Any]:
    """Smooth test inputs on `grid` per placeholder kind: a Gaussian field, its position-weighted vector,
    or a number."""
    mesh = [np.asarray(m) for m in grid.mesh()]
    g = np.exp(-sum(m**2 for m in mesh) / (2 * 0.2**2))
    out: dict[str, Any] = {}
    for i, (name, kind) in enumerate(sorted(kinds.items())):
        if kind == "vector":
            out[name] = np.stack([m * g for m in mesh[: len(grid.space_axes)]])
        elif kind == "number":
            out[name] = 1.5 + 0.25 * i
        else:
            out[name] = g * (1.0 + 0.1 * i)
    return out


def _single(ins: QInstr, args: list[Any]) -> tuple[QGlyphProgram, dict[str, Any]]:
    """A one-instruction program of `ins` over named inputs, with the inputs it reads."""
    refs: list[Ref] = []
    env: dict[str, Any] = {}
    for i, value in enumerate(args):
        if isinstance(value, (int, float, complex)) and not isinstance(value, bool):
            refs.append(value)
        else:
            refs.append(QInput(f"a{i}"))
            env[f"a{i}"] = value
    single = QInstr.make(ins.op, refs, dict(ins.attrs))
    program = QGlyphProgram((single,), (("_", single.id),), tuple(sorted(env)), (), f"op1-{single.id}")
    return program, env


def run_op_by_op(program: QGlyphProgram, grid: Grid, inputs: Mapping[str, Any], *, method: str = "fd2") -> Any:
    """Run a program one op at a time: a kernel call per instruction, each result materialized.

    Derivatives and vector products call `qwave.kernels` directly; other ops run as one-instruction
    jitted programs. This is the dispatch a fused glyph saves.
    """
    axes = K.axis_specs(grid)
    space = len(grid.space_axes)
    names = [a.name for a in axes]
    values: dict[str, Any] = {}

    def get(ref: Ref) -> Any:
        if isinstance(ref, str):
            return values[ref]
        if isinstance(ref, QInput):
            if ref.kind == "coord":
                return jnp.asarray(grid.mesh()[names.index(ref.name)])
            v = inputs[ref.name]
            return v if isinstance(v, (int, float, complex)) else K.as_array(v)
        return ref

    for ins in program.instructions:
        args = [get(a) for a in ins.args]
        op = ins.op
        rank = [np.ndim(a) - len(axes) for a in args]
        if op == "∇" and rank[0] == 0:
            out = K.grad(args[0], axes, method, backend="jax")
        elif op == "∇·" and rank[0] == 1:
            out = K.div(args[0], axes, method, backend="jax")
        elif op == "∇×" and rank[0] == 1:
            out = K.curl(args[0], axes, method, backend="jax")
        elif op == "Δ":
            out = K.lap(args[0], axes, method, backend="jax")
        elif op.startswith("∂") and op[1:] in names:
            out = K.derivative(args[0], axes, names.index(op[1:]), 1, method, backend="jax")
        elif op == "•" and rank == [1, 1] and np.shape(args[0])[0] == space:
            out = K.dot(args[0], args[1])
        elif op == "×" and rank == [1, 1]:
            out = K.cross(args[0], args[1])
        else:
            single, env = _single(ins, args)
            compiled = compile_program(single, grid, method=method, keep="outputs")
            out = compiled(env)[single.output("_")]  # type: ignore[index]
        values[ins.id] = jax.block_until_ready(out)
    ref = program.output("_")
    return get(ref)


def traffic_gain(program: QGlyphProgram) -> float:
    """Bytes per grid point that op-by-op dispatch moves (each op reads its operands and writes its result:
    the specs' `bytes`) over what the fused kernel moves (each input read once, each output written once,
    8 bytes a value). A pure function of the program, so keeping a glyph never depends on a timing."""
    keys = (dict(ins.attrs).get("fn", ins.op) if ins.op == "call" else ins.op for ins in program.instructions)
    op_by_op = sum(spec.bytes for key in keys if (spec := find_spec(str(key))) is not None)
    fused = 8.0 * (len(program.inputs) + len(program.outputs))
    return op_by_op / fused if fused else 1.0


def _median_ms(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append((time.perf_counter() - start) * 1e3)
    return float(statistics.median(times))


def measure_speedup(
    program: QGlyphProgram,
    grid: Grid,
    inputs: Mapping[str, Any],
    *,
    repeats: int = 7,
    method: str = "fd2",
) -> dict[str, float]:
    """Median wall time (ms) of the fused kernel and of op-by-op dispatch after a warm-up, and their ratio."""
    fused = compile_program(program, grid, method=method, keep="outputs")
    for _ in range(2):
        jax.block_until_ready(fused(inputs))
        run_op_by_op(program, grid, inputs, method=method)
    fused_ms = _median_ms(lambda: fused(inputs), max(5, repeats))
    eager_ms = _median_ms(lambda: run_op_by_op(program, grid, inputs, method=method), max(5, repeats))
    return {"fused_ms": fused_ms, "op_by_op_ms": eager_ms, "speedup": eager_ms / fused_ms if fused_ms > 0 else 0.0}


# ---------------------------------------------------------------------------------------- recombine


def _grid_shape(beams: Iterable[Any]) -> tuple[int, ...] | None:
    shapes: Counter[tuple[int, ...]] = Counter()
    for b in beams:
        result = beam_field(b, "result", {})
        shape = result.get("shape")
        if not isinstance(shape, (list, tuple)) or not shape:
            continue
        lead = {"vector": 1, "tensor": 2}.get(str(result.get("kind")), 0)
        spatial = tuple(int(n) for n in shape[lead:])
        if 1 <= len(spatial) <= 3:
            shapes[spatial] += 1
    return shapes.most_common(1)[0][0] if shapes else None


def recombine_from_beams(
    beams: Iterable[Any],
    min_support: int = 3,
    shapes: Sequence[Sequence[int]] | None = None,
    *,
    measure: bool = True,
    repeats: int = 7,
) -> list[FusionGlyph]:
    """The fusion glyph of the most frequent fusable chain (≥2 ops) among approved beams, or `[]`.

    Support is the number of distinct occurrences; ties go to the longer chain. `shapes` are the grid
    shapes to measure the speedup on (default: the most common grid shape the chain's beams ran on; the
    best measured speedup is kept). With `measure=False` the speedup is left None.
    """
    pool = list(beams)
    by_id = {beam_field(b, "beam_id"): b for b in pool}
    supports = chain_supports(pool)
    ranked = sorted(
        ((len(occ), len(key), key) for key, occ in supports.items() if len(occ) >= min_support),
        key=lambda t: (-t[0], -t[1], t[2]),
    )
    if not ranked:
        return []
    support, _, steps = ranked[0]
    occurrences = supports[steps]
    text, inputs, kinds = _template(steps, occurrences[0], by_id)
    template = codex_to_photon_ast(parse_expr(text))
    program = to_qglyph(template)
    speedup: float | None = None
    measured_on: tuple[int, ...] | None = None
    timings: dict[str, float] = {}
    if measure and program.fusable:
        observed = _grid_shape(b for occ in occurrences for b in occ)
        candidates = [tuple(int(n) for n in s) for s in shapes] if shapes else ([observed] if observed else [])
        for shape in candidates:
            grid = _grid_for(shape)
            result = measure_speedup(program, grid, sample_inputs(kinds, grid), repeats=repeats)
            if speedup is None or result["speedup"] > speedup:
                speedup, measured_on, timings = result["speedup"], shape, result
    return [
        FusionGlyph(
            name=_name_for(program),
            template=template,
            program=program,
            inputs=inputs,
            support=support,
            speedup=speedup,
            measured_on=measured_on,
            chain=tuple(t for t, _ in steps),
            input_kinds=kinds,
            timings_ms=timings,
            traffic_gain=traffic_gain(program) if program.fusable else 0.0,
        )
    ]
