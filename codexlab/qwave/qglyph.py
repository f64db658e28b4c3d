"""QGlyph programs: a linear SSA form of Photon expressions that the bridge compiles into one jitted kernel.

A program is a tuple of `QInstr(id, op, args, attrs)` in dependency order. An argument (a *ref*) is an
instruction id (str), an input slot `QInput(name)` (a user binding, or `QInput(axis, "coord")` for the
coordinate mesh of a grid axis) or a number (int, float or complex constant). An instruction's id is
the content hash of its op, attrs and argument refs, so equal subexpressions are one instruction, and
`qglyph_id` hashes the instructions and the named outputs: both are stable across processes.

```python
prog = to_qglyph(codex_to_photon_ast(parse_expr("∇ψ • ∇ψ + Δψ")))
prog.fusable, prog.inputs          # True, ("ψ",)
prog = to_wave_program(rewrite(expr))   # the program of a derivation's result
```

Ops whose spec (`codexlab.ops`) is fusable and has an array rule can be fused; any other op (state ops
`⊕ ⊖ ↔ ⧖`, `load`, `random`, user functions, strings) still gets an instruction, but makes the program
not fusable, with the reason in `why_not`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import BackendError, CodexNameError, CodexTypeError, did_you_mean
from ..ops import find_spec
from ..photon.ir import PAssign, PDefine, PExpr, PNode, walk

__all__ = [
    "QInput",
    "QInstr",
    "QGlyphProgram",
    "Ref",
    "NotFusable",
    "COMPARISONS",
    "to_qglyph",
    "to_wave_program",
    "ref_key",
]

#: Version tag mixed into every program id; bump it when instruction semantics change.
QGLYPH_VERSION = "qglyph/1"

COMPARISONS = frozenset({"<", ">", "≤", "≥", "==", "≠"})


def _fusable(key: str) -> bool:
    """Whether an op (or call) may run in a fused program: its spec says so and it has an array rule."""
    spec = find_spec(key)
    return spec is not None and spec.fusable is not False and spec.array is not None


_WHY: dict[str, str] = {
    "⊕": "it normalizes a superposition of states",
    "⊖": "it normalizes a difference of states",
    "↔": "it builds an entangled pair",
    "⧖": "it samples a measurement",
    "->": "it binds a name inside an expression",
    "load": "it reads data from a file",
    "random": "it draws a random field",
    "str": "a string is not a value on the grid",
}


class NotFusable(BackendError):
    """A program or loop body holds an op the fused path does not run; run it op by op instead."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class QInput:
    """An input slot: a user binding (`kind="name"`) or a grid axis's coordinate mesh (`kind="coord"`)."""

    name: str
    kind: str = "name"


Ref = str | QInput | int | float | complex


def ref_key(ref: Ref) -> str:
    """A type-tagged text form of a ref for hashing (`1`, `1.0` and an instruction id all differ)."""
    if isinstance(ref, QInput):
        return f"{ref.kind}:{ref.name}"
    if isinstance(ref, bool):
        raise CodexTypeError("QGlyph constants are numbers; booleans are not values on the grid.")
    if isinstance(ref, str):
        return f"@{ref}"
    if isinstance(ref, int):
        return f"i{ref}"
    if isinstance(ref, float):
        return f"f{ref!r}"
    if isinstance(ref, complex):
        return f"c{ref.real!r},{ref.imag!r}"
    raise CodexTypeError(f"A QGlyph ref is an instruction id, a `QInput` or a number, got `{ref!r}`.")


def _attr_key(attrs: tuple[tuple[str, Any], ...]) -> str:
    return ";".join(f"{k}={v!r}" for k, v in attrs)


def _digest(parts: Iterable[str]) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()


@dataclass(frozen=True)
class QInstr:
    """One SSA instruction: `id` hashes op, attrs and argument refs; `node` is its Photon node's id."""

    id: str
    op: str
    args: tuple[Ref, ...]
    attrs: tuple[tuple[str, Any], ...] = ()
    node: str = field(default="", compare=False)

    @classmethod
    def make(cls, op: str, args: Sequence[Ref], attrs: Mapping[str, Any] | None = None, node: str = "") -> QInstr:
        """Build an instruction with its content-hash id (attrs sorted by key)."""
        items = tuple(sorted((attrs or {}).items()))
        ident = _digest([op, _attr_key(items), *(ref_key(a) for a in args)])
        return cls(ident, op, tuple(args), items, node)

    @property
    def token(self) -> str:
        """The glyph or function name a beam shows for this instruction."""
        return str(self.attr("fn")) if self.op == "call" else self.op

    def attr(self, key: str, default: Any = None) -> Any:
        """One attribute's value."""
        return next((v for k, v in self.attrs if k == key), default)

    def __str__(self) -> str:
        args = ", ".join(_ref_text(a) for a in self.args)
        return f"%{self.id[:8]} = {self.token}({args})"


def _ref_text(ref: Ref) -> str:
    if isinstance(ref, QInput):
        return ref.name if ref.kind == "name" else f"<{ref.name}>"
    if isinstance(ref, str):
        return f"%{ref[:8]}"
    return repr(ref)


@dataclass(frozen=True)
class QGlyphProgram:
    """A linear SSA program: instructions in dependency order and named outputs (each a ref)."""

    instructions: tuple[QInstr, ...]
    outputs: tuple[tuple[str, Ref], ...]
    inputs: tuple[str, ...]
    coords: tuple[str, ...]
    qglyph_id: str
    why_not: str | None = None

    @property
    def fusable(self) -> bool:
        """Whether every instruction runs on the fused path."""
        return self.why_not is None

    @property
    def id(self) -> str:
        """Alias of `qglyph_id`."""
        return self.qglyph_id

    def __len__(self) -> int:
        return len(self.instructions)

    def __iter__(self) -> Iterator[QInstr]:
        return iter(self.instructions)

    def instr(self, ident: str) -> QInstr:
        """The instruction with this id."""
        for ins in self.instructions:
            if ins.id == ident:
                return ins
        raise CodexNameError(f"The program has no instruction `{ident}`; ids are listed in `instructions`.")

    def output(self, name: str) -> Ref:
        """The ref of output `name`."""
        for out, ref in self.outputs:
            if out == name:
                return ref
        names = [n for n, _ in self.outputs]
        raise CodexNameError(
            f"The program has no output `{name}`{did_you_mean(name, names)}; its outputs are "
            f"{', '.join(f'`{n}`' for n in names)}."
        )

    def to_text(self) -> str:
        """One line per instruction, then the outputs: a readable listing of the program."""
        lines = [str(i) for i in self.instructions]
        lines += [f"{name} := {_ref_text(ref)}" for name, ref in self.outputs]
        return "\n".join(lines)

    __str__ = to_text


# ------------------------------------------------------------------------------------------ conversion

Statement = tuple[str, PNode] | PAssign | PDefine | PExpr


def _statements(node_or_statements: PNode | Sequence[Statement]) -> list[tuple[str, PNode]]:
    if isinstance(node_or_statements, PNode):
        return [("_", node_or_statements)]
    out: list[tuple[str, PNode]] = []
    for s in node_or_statements:
        if isinstance(s, (PAssign, PDefine)):
            out.append((s.name, s.expr))
        elif isinstance(s, PExpr):
            out.append(("_", s.expr))
        elif isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], str) and isinstance(s[1], PNode):
            out.append((s[0], s[1]))
        else:
            raise CodexTypeError(
                f"`to_qglyph` takes a `PNode` or a list of `(target, PNode)` assignments, got `{s!r}`; "
                "loops run through `compile_loop`."
            )
    return out


def _reason(ins: QInstr) -> str | None:
    """Why this instruction cannot be fused, or None."""
    if ins.op == "call":
        fn = str(ins.attr("fn"))
        if _fusable(fn):
            if ins.attr("kw"):
                return f"`{fn}` takes no keywords on the fused path; run it op by op."
            return None
        why = _WHY.get(fn, f"`{fn}` is not an elementary function")
        return f"`{fn}` cannot run in a fused program ({why}); run it op by op."
    if _fusable(ins.op):
        return None
    why = _WHY.get(ins.op, "it has no fused kernel")
    return f"`{ins.op}` cannot run in a fused program ({why}); run it op by op."


class _Builder:
    """Converts statements to SSA instructions, deduplicating by content hash."""

    def __init__(self) -> None:
        self.instrs: dict[str, QInstr] = {}
        self.env: dict[str, Ref] = {}
        self.inputs: set[str] = set()
        self.coords: set[str] = set()
        self.why_not: str | None = None
        self.str_reason: str | None = None  # reported only when no op that consumes it is to blame

    def add(self, ins: QInstr) -> str:
        if ins.id not in self.instrs:
            self.instrs[ins.id] = ins
            reason = _reason(ins)
            if ins.op == "str":
                self.str_reason = self.str_reason or reason
            elif self.why_not is None:
                self.why_not = reason
        return ins.id

    def leaf(self, n: PNode) -> Ref:
        if n.op == "num":
            return n.value
        if n.op == "imag":
            return 1j
        if n.op == "coord":
            self.coords.add(n.value)
            return QInput(n.value, "coord")
        if n.op == "name":
            if n.value in self.env:
                return self.env[n.value]
            self.inputs.add(n.value)
            return QInput(n.value)
        return self.add(QInstr.make("str", (), {"value": n.value}, n.id))

    def build(self, n: PNode, memo: dict[str, Ref]) -> Ref:
        if n.is_leaf:
            return self.leaf(n)
        args = tuple(memo[c.id] for c in n.children)
        attrs: dict[str, Any] = {}
        if n.op == "call":
            attrs["fn"] = n.value
            if n.kwargs:
                attrs["kw"] = tuple(k for k, _ in n.kwargs)
        elif n.value is not None:
            attrs["value"] = n.value
        return self.add(QInstr.make(n.op, args, attrs, n.id))

    def statement(self, target: str, expr: PNode) -> None:
        memo: dict[str, Ref] = {}
        for n in walk(expr):
            memo[n.id] = self.build(n, memo)
        self.env[target] = memo[expr.id]


def _program_id(instrs: Sequence[QInstr], outputs: Sequence[tuple[str, Ref]]) -> str:
    parts = [QGLYPH_VERSION, *(i.id for i in instrs), "->", *(f"{n}={ref_key(r)}" for n, r in outputs)]
    return _digest(parts)


def to_qglyph(
    node_or_statements: PNode | Sequence[Statement], *, outputs: Sequence[str] | None = None
) -> QGlyphProgram:
    """The QGlyph program of one Photon expression or of a list of assignments, in order.

    Parameters: `node_or_statements` is a `PNode` (its output is named `_`) or a sequence of
    `(target, PNode)` pairs (or `PAssign`/`PDefine`/`PExpr`); a name read after an earlier statement
    assigned it refers to that statement's result (SSA), any other name is an input slot. `outputs`
    picks the named outputs (default: every assigned target, in first-assignment order).
    Raises `CodexNameError` for an output that no statement assigns.
    """
    stmts = _statements(node_or_statements)
    builder = _Builder()
    for target, expr in stmts:
        builder.statement(target, expr)
    names = list(dict.fromkeys(t for t, _ in stmts)) if outputs is None else list(outputs)
    if isinstance(node_or_statements, PNode) and outputs is not None and len(names) == 1:
        builder.env[names[0]] = builder.env.pop("_")
    missing = [n for n in names if n not in builder.env]
    if missing:
        assigned = list(builder.env)
        raise CodexNameError(
            f"Output `{missing[0]}` is not assigned by the statements{did_you_mean(missing[0], assigned)}; "
            f"assigned are {', '.join(f'`{n}`' for n in assigned)}."
        )
    outs = tuple((n, builder.env[n]) for n in names)
    instrs = tuple(builder.instrs.values())
    return QGlyphProgram(
        instructions=instrs,
        outputs=outs,
        inputs=tuple(sorted(builder.inputs)),
        coords=tuple(sorted(builder.coords)),
        qglyph_id=_program_id(instrs, outs),
        why_not=builder.why_not or builder.str_reason,
    )


def to_wave_program(derivation_or_node: Any, *, outputs: Sequence[str] | None = None) -> QGlyphProgram:
    """The QGlyph program of a Photon `Derivation`'s rewritten result (or of a `PNode` as it is)."""
    if isinstance(derivation_or_node, PNode):
        return to_qglyph(derivation_or_node, outputs=outputs)
    result = getattr(derivation_or_node, "result", None)
    if not isinstance(result, PNode):
        raise CodexTypeError(
            f"`to_wave_program` takes a `Derivation` (from `photon.rewrite`) or a `PNode`, got a "
            f"`{type(derivation_or_node).__name__}`."
        )
    return to_qglyph(result, outputs=outputs)
