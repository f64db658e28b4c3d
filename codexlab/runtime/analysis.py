"""The rewrite stage: what each name is at each statement of a cell, and every expression rewritten once.

Before any rewrite, the whole cell is walked in order with what is known of each name (`Facts`: kind,
constant, t-free, known finite). A `⟲` body is analysed to a fixpoint: a name the body rebinds has the
facts that hold in *every* iteration (a number before the loop and a field inside it is a field, never
a constant), so a rule that distributes over a constant factor cannot use what a name was before the
loop. Each expression is kind-checked from the op specs (so one statement and the same thing split
into two fail with the same `CodexTypeError`), then rewritten by Photon with those facts; the
derivation is kept per target. Directives change the grid facts (dimensions, a `t` axis) from the
statement on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import CodexError, CodexNameError, CodexTypeError, did_you_mean, located
from ..ops import KindEnv, OpTable
from ..photon import ir
from ..photon.context import RewriteContext, is_t_free
from ..photon.kinds import infer_kinds
from ..photon.rewrite import Derivation, rewrite

__all__ = ["Facts", "RewrittenStatement", "RewrittenCell", "rewrite_cell", "join_facts"]


@dataclass(frozen=True)
class Facts:
    """What is known of a name at one point of a cell."""

    kind: str
    constant: bool = False
    t_free: bool = False
    finite: bool = False


def join_facts(a: Facts, b: Facts, name: str) -> Facts:
    """The facts that hold for a name that is `a` in one iteration and `b` in another.

    A number is a constant field, so number ⊔ field is a field; other kinds must agree.
    """
    if a.kind == b.kind:
        kind = a.kind
    elif {a.kind, b.kind} == {"number", "field"}:
        kind = "field"
    elif "data" in (a.kind, b.kind):
        kind = "data"
    else:
        raise CodexTypeError(
            f"`{name}` is a {a.kind} before the loop and becomes a {b.kind} inside it; a loop may not change a "
            "name's kind — use another name for the new value."
        )
    return Facts(kind, a.constant and b.constant, a.t_free and b.t_free, a.finite and b.finite)


@dataclass
class RewrittenStatement:
    """One statement after the rewrite stage: its rewritten expression, derivation, and the facts (and
    node kinds) under which it was rewritten."""

    stmt: ir.PStatement
    target: str | None = None
    expr: ir.PNode | None = None
    derivation: Derivation | None = None
    facts: Mapping[str, Facts] = field(default_factory=dict)
    kinds: Mapping[str, str] = field(default_factory=dict)
    env: KindEnv = field(default_factory=KindEnv)
    defined: bool = False
    also_underscore: bool = False
    body: list[RewrittenStatement] = field(default_factory=list)
    loop_names: tuple[str, ...] = ()
    #: A loop's `count`, `max` and `until` expressions and their node kinds.
    parts: dict[str, dict[str, str]] = field(default_factory=dict)
    line: int = 0


@dataclass
class RewrittenCell:
    """The cell after the rewrite stage, statement by statement."""

    statements: list[RewrittenStatement]
    derivations: dict[str, Derivation] = field(default_factory=dict)


OnDirective = Callable[[ir.PDirective], KindEnv]


class _Rewriter:
    """Walks a cell once, keeping the facts of every name."""

    def __init__(
        self,
        facts: Mapping[str, Facts],
        env: KindEnv,
        *,
        rules: Any,
        table: OpTable,
        c: float,
        on_directive: OnDirective,
        is_function: Callable[[str], bool],
    ) -> None:
        self.facts = dict(facts)
        self.env = env
        self.rules = rules
        self.table = table
        self.c = c
        self.on_directive = on_directive
        self.is_function = is_function
        self.derivations: dict[str, Derivation] = {}

    # ------------------------------------------------------------------------------------- helpers

    def lookup(self, name: str) -> str:
        try:
            return self.facts[name].kind
        except KeyError:
            known = sorted(self.facts)
            hint = did_you_mean(name, known)
            listing = f"; known names: {', '.join(f'`{k}`' for k in known)}" if known and not hint else ""
            raise CodexNameError(
                f"`{name}` is not defined{hint}{listing}; define it first with `{name} := …`."
            ) from None

    def context(self) -> RewriteContext:
        return RewriteContext(
            constants=frozenset(n for n, f in self.facts.items() if f.constant),
            t_free=frozenset(n for n, f in self.facts.items() if f.t_free),
            finite=frozenset(n for n, f in self.facts.items() if f.finite),
            c=self.c,
            kinds={n: f.kind for n, f in self.facts.items()},
            dims=self.env.dims,
            has_time=self.env.has_time,
            table=self.table,
        )

    def kinds_of(self, expr: ir.PNode) -> dict[str, str]:
        return infer_kinds(expr, self.lookup, self.env, table=self.table)

    def facts_of(self, expr: ir.PNode, kind: str) -> Facts:
        ctx = self.context()
        constant = kind == "number" and _reads_only_constants(expr, ctx)
        finite = expr.op == "num" and isinstance(expr.value, int | float | complex) and _finite(expr.value)
        return Facts(kind, constant, is_t_free(expr, ctx), finite)

    # ----------------------------------------------------------------------------------- statements

    def expression(self, target: str, expr: ir.PNode) -> tuple[ir.PNode, Derivation, dict[str, str]]:
        """Kind-check, rewrite and kind the result (a sound rewrite keeps the kind)."""
        self.kinds_of(expr)
        ctx = self.context()
        derivation = rewrite(expr, self.rules, ctx) if self.rules is not None else rewrite(expr, context=ctx)
        return derivation.result, derivation, self.kinds_of(derivation.result)

    def statement(self, stmt: ir.PStatement, *, quiet: bool = False) -> RewrittenStatement:
        line = getattr(stmt, "line", 0)
        if isinstance(stmt, ir.PDirective):
            self.env = self.on_directive(stmt)
            return RewrittenStatement(stmt, env=self.env, line=line)
        if isinstance(stmt, ir.PRecord):
            return RewrittenStatement(stmt, facts=dict(self.facts), env=self.env, line=line)
        if isinstance(stmt, ir.PLoop):
            return self.loop(stmt)
        target, expr, defined, underscore = self.binding(stmt)
        facts_before = dict(self.facts)
        new, derivation, kinds = self.expression(target, expr)
        if derivation.steps and not quiet:
            self.derivations[target] = derivation
        self.facts[target] = self.facts_of(new, kinds[new.id])
        if underscore:
            self.facts["_"] = self.facts[target]
        return RewrittenStatement(
            stmt, target, new, derivation, facts_before, kinds, self.env, defined, underscore, line=line
        )

    def binding(self, stmt: ir.PStatement) -> tuple[str, ir.PNode, bool, bool]:
        """(target, expression, defined, also bind `_`) of a binding statement; `a -> name` binds both."""
        if isinstance(stmt, ir.PDefine):
            return stmt.name, stmt.expr, True, False
        if isinstance(stmt, ir.PAssign):
            return stmt.name, stmt.expr, False, False
        assert isinstance(stmt, ir.PExpr)
        expr = stmt.expr
        if expr.op == "->":
            left, right = expr.args
            if right.op == "name" and not self.is_function(str(right.value)):
                return str(right.value), left, False, True
            if right.op in ("name", "call"):
                call = ir.node("call", left, *right.args, value=right.value, kwargs=right.kwargs)
                return "_", call, False, False
            raise CodexTypeError(f"`->` needs a name or a function on its right, got `{_printed(right)}`.")
        return "_", expr, False, False

    def loop(self, loop: ir.PLoop) -> RewrittenStatement:
        """A loop's body, analysed to the fixpoint of the facts its names take in any iteration."""
        parts: dict[str, dict[str, str]] = {}
        for label, bound in (("count", loop.count), ("max", loop.max)):
            if bound is not None:
                parts[label] = self.kinds_of(bound)
        before = dict(self.facts)
        for _ in range(4):
            start = dict(self.facts)
            probe = _Rewriter(
                start,
                self.env,
                rules=self.rules,
                table=self.table,
                c=self.c,
                on_directive=self.on_directive,
                is_function=self.is_function,
            )
            for s in loop.body:
                probe.statement(s, quiet=True)
            joined = dict(start)
            for name, after in probe.facts.items():
                joined[name] = join_facts(start[name], after, name) if name in start else after
            if joined == start:
                break
            self.facts = joined
        body = [self.statement(s, quiet=True) for s in loop.body]
        # After the loop its names hold what the last iteration made (facts of any iteration), and a
        # value computed in a loop is never a constant for the rules.
        for rs in body:
            for name in ([rs.target] if rs.target else []) + list(rs.loop_names):
                if name in self.facts:
                    self.facts[name] = replace(self.facts[name], constant=False, finite=False)
        names = tuple(dict.fromkeys(n for s in body for n in ([s.target] if s.target else []) + list(s.loop_names)))
        if loop.until is not None:
            parts["until"] = self.kinds_of(loop.until)
        return RewrittenStatement(
            loop, facts=before, env=self.env, body=body, loop_names=names, parts=parts, line=loop.line
        )


def _finite(value: int | float | complex) -> bool:
    return isinstance(value, int) or math.isfinite(abs(value))  # abs() of a big int would overflow


def _reads_only_constants(expr: ir.PNode, ctx: RewriteContext) -> bool:
    from ..photon.context import is_constant

    return is_constant(expr, ctx)


def _printed(n: ir.PNode) -> str:
    from ..photon.printing import to_unicode

    return to_unicode(n)


def rewrite_cell(
    program: ir.PhotonProgram,
    facts: Mapping[str, Facts],
    env: KindEnv,
    *,
    rules: Any = None,
    table: OpTable,
    c: float = 1.0,
    on_directive: OnDirective,
    is_function: Callable[[str], bool],
) -> RewrittenCell:
    """The rewrite stage: every statement kind-checked and rewritten once, in order (see the module doc).

    Raises `CodexTypeError` (a glyph on the wrong kind; a loop that changes a name's kind),
    `CodexNameError` (a name not defined), `RewriteError` (rules without a fixpoint).
    """
    walker = _Rewriter(facts, env, rules=rules, table=table, c=c, on_directive=on_directive, is_function=is_function)
    statements = []
    for s in program.statements:
        try:
            statements.append(walker.statement(s))
        except CodexError as err:
            raise err.at(getattr(s, "line", 0), getattr(s, "column", 0)) from None
        except Exception as err:  # noqa: BLE001 - only CodexErrors leave the rewrite, located at their statement
            raise located(err, getattr(s, "line", 0), getattr(s, "column", 0)) from err
    return RewrittenCell(statements, walker.derivations)
