"""Numeric soundness checks of rewrite rules: both sides on random analytic fields at sampled points.

A rule is instantiated by replacing each metavariable of its pattern with something of its kind — a
name bound to a random scalar field (a sine or cosine wave in x, y, z, t plus a monomial or exponential
term; every other one complex, times a plane wave e^{ik·x}), a random vector field (a column Matrix of
those), a t-free field, a constant, a literal — and
the rule is applied. Both sides are evaluated exactly with `symbolic.to_sympy`, then numerically on
NumPy arrays at a few random points (directly from the SymPy tree; `sympy.lambdify` for functions the
direct evaluator does not know), and compared with a relative tolerance. Samples alternate between 3-D
and 2-D space (so `∇×` is checked as a vector and as a scalar curl) and, for `□`, between c = 1 and 2.
Fields come from a seeded pool shared by all checks, so SymPy's cache reuses their derivatives.

An instance that cannot be evaluated (a glyph on the wrong kind of field, an op with no symbolic form)
counts as skipped, not failed. A point where exactly one side is finite is a failure: that is a rewrite
hiding (or creating) a NaN or an infinity.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy

from codexlab.errors import BackendError, CodexError
from codexlab.ops import GLOBAL, OpTable
from codexlab.photon.context import RewriteContext
from codexlab.photon.ir import PNode, name, num, walk
from codexlab.photon.pattern import substitute
from codexlab.photon.ruleset import Rule, RuleStats

if TYPE_CHECKING:
    from codexlab.photon.rewrite import Step

__all__ = ["check_rule", "check_step", "random_scalar_field", "random_vector_field", "compare_values"]

RTOL = 1e-8
POINTS = 6
_SPACES = (("x", "y", "z"), ("x", "y"))
_VECTOR_OPS = frozenset({"∇·", "∇×"})
_LINEAR_PASS = frozenset({"+", "-", "neg", "*", "/"})


def _symbolic() -> Any:
    """The symbolic evaluator module, or a BackendError saying it is missing."""
    try:
        from codexlab.photon import symbolic
    except ImportError as err:
        raise BackendError(
            "The symbolic evaluator `codexlab.photon.symbolic` could not be imported, so rewrite rules "
            f"cannot be checked numerically ({err}); install the package's dependencies (SymPy)."
        ) from err
    return symbolic


def _rational(rng: random.Random, lo: int = 1, hi: int = 9) -> Any:
    return sympy.Rational(rng.randint(lo, hi) * rng.choice((1, -1)), rng.randint(1, 4))


def random_scalar_field(rng: random.Random, space: Sequence[str], *, with_t: bool = True) -> sympy.Expr:
    """A random analytic scalar field: a sine or cosine wave in every coordinate given, plus a random
    monomial or exponential term (small on purpose: SymPy differentiation dominates the check's cost)."""
    symbolic = _symbolic()
    syms = [symbolic.COORDS[c] for c in space] + ([symbolic.COORDS["t"]] if with_t else [])
    wave = sum(rng.choice((-2, -1, 1, 2)) * s for s in syms) + sympy.Rational(rng.randint(-3, 3), 2)
    trig = rng.choice((sympy.sin, sympy.cos))(wave)
    if rng.random() < 0.5:
        extra = sympy.Mul(*[s ** rng.randint(0, 2) for s in syms]) + rng.randint(-2, 2)
    else:
        extra = sympy.exp(sum(rng.choice((-1, 1)) * s for s in syms) / 3)
    return _rational(rng) * trig + _rational(rng) * extra


def random_vector_field(rng: random.Random, space: Sequence[str], *, with_t: bool = True) -> sympy.ImmutableMatrix:
    """A random analytic vector field: one random scalar field per spatial coordinate."""
    return sympy.ImmutableMatrix([random_scalar_field(rng, space, with_t=with_t) for _ in space])


#: Fields in the pool per (vector?, t-free?).
_POOL_SIZE = {(False, False): 4, (False, True): 3, (True, False): 2, (True, True): 2}
PoolKey = tuple[bool, bool, tuple[str, ...]]


@lru_cache(maxsize=4)
def _field_pool(seed: int) -> dict[PoolKey, tuple[Any, ...]]:
    """A seeded pool of random fields per (vector?, t-free?, space), shared by all checks.

    Drawing instances from one pool lets SymPy's cache reuse each field's derivatives across rules,
    which keeps a full rule-set check to a fraction of what fresh fields per rule would cost.
    """
    rng = random.Random(f"fields:{seed}")
    pool: dict[PoolKey, tuple[Any, ...]] = {}
    for space in _SPACES:
        for (vector, t_free), count in _POOL_SIZE.items():
            maker = random_vector_field if vector else random_scalar_field
            fields = [maker(rng, space, with_t=not t_free) for _ in range(count)]
            if not vector:  # complex fields too: rules must hold for them (conjugation, |·|, log branches)
                fields = [_complex(f, rng, space) if k % 2 else f for k, f in enumerate(fields)]
            pool[(vector, t_free, space)] = tuple(fields)
    return pool


def _complex(field: sympy.Expr, rng: random.Random, space: Sequence[str]) -> sympy.Expr:
    """`field` times a plane wave e^{ik·x} with small integer k: a complex field of the same smoothness."""
    symbolic = _symbolic()
    phase = sum(rng.choice((-2, -1, 1, 2)) * symbolic.COORDS[c] for c in space)
    return field * sympy.exp(sympy.I * phase)


def _random_literal(rng: random.Random) -> int | float:
    """A random numeric literal: a small int (zero included) or a float with a short decimal."""
    if rng.random() < 0.6:
        return rng.randint(-6, 6)
    return round(rng.uniform(-5.0, 5.0), rng.choice((1, 2, 3)))


class _Instance:
    """A rule's pattern instantiated: the node, the names' values, and the facts the context states."""

    def __init__(self, seed: int = 0) -> None:
        self.pool = _field_pool(seed)
        self.used: set[int] = set()
        self.env: dict[str, Any] = {}
        self.constants: set[str] = set()
        self.t_free: set[str] = set()
        self.finite: set[str] = set()
        self.kinds: dict[str, str] = {}

    def bind(self, ident: str, kind: str, rng: random.Random, space: tuple[str, ...], *, t_free: bool = False) -> PNode:
        """A node of `kind` for a metavariable (t-free if asked), recording what it stands for."""
        if kind == "num":
            return num(_random_literal(rng))
        if kind == "zero":
            return num(rng.choice((0, 0.0)))
        if kind == "one":
            return num(rng.choice((1, 1.0)))
        if kind == "const":
            self.constants.add(ident)
            self.kinds[ident] = "number"
            self.env[ident] = _rational(rng)
        else:
            self.kinds[ident] = "vector" if kind == "vector" else "field"
            t_free = t_free or kind == "tfree"
            self.env[ident] = self.draw(rng, (kind == "vector", t_free, space))
            if t_free:
                self.t_free.add(ident)
            if kind == "finite":
                self.finite.add(ident)
        return name(ident)

    def draw(self, rng: random.Random, key: PoolKey) -> Any:
        """A field of the pool not yet used by this instance (when there is one left)."""
        fields = self.pool[key]
        fresh = [f for f in fields if id(f) not in self.used] or list(fields)
        chosen = rng.choice(fresh)
        self.used.add(id(chosen))
        return chosen

    def context(
        self, base: Mapping[str, Any], c: int | float, space: Sequence[str], table: OpTable = GLOBAL
    ) -> RewriteContext:
        return RewriteContext(
            constants=frozenset(self.constants),
            t_free=frozenset(self.t_free),
            finite=frozenset(self.finite),
            c=base.get("c", c),
            expand_dalembert=base.get("expand_dalembert"),
            kinds=self.kinds,
            dims=len(space),
            table=table,
        )


def _components(value: Any) -> list[Any] | None:
    """The scalar entries of a SymPy value, or None for something that is not a number or field."""
    if isinstance(value, sympy.MatrixBase):
        return list(value)
    if isinstance(value, sympy.Expr):
        return [value]
    return None


class _Unsupported(Exception):
    """A SymPy node the direct evaluator does not know; `lambdify` takes over."""


@lru_cache(maxsize=1)
def _numpy_funcs() -> dict[type, Callable[[np.ndarray], np.ndarray]]:
    return {
        sympy.sin: np.sin, sympy.cos: np.cos, sympy.tan: np.tan, sympy.exp: np.exp, sympy.log: np.log,
        sympy.sinh: np.sinh, sympy.cosh: np.cosh, sympy.tanh: np.tanh, sympy.asin: np.arcsin,
        sympy.acos: np.arccos, sympy.atan: np.arctan, sympy.Abs: np.abs, sympy.conjugate: np.conj,
        sympy.re: np.real, sympy.im: np.imag,
    }  # fmt: skip


def _numeric(expr: Any, values: Mapping[Any, np.ndarray], memo: dict[Any, Any]) -> Any:
    """A SymPy expression evaluated on complex NumPy arrays, directly (no code generation)."""
    hit = memo.get(expr)
    if hit is not None:
        return hit
    if expr.is_Symbol:
        if expr not in values:
            raise _Unsupported(expr)
        out: Any = values[expr]
    elif expr.is_Number or expr.is_NumberSymbol or expr is sympy.I:
        out = complex(expr) if expr.is_finite is not False and expr is not sympy.nan else complex("nan")
    elif expr.is_Add:
        out = sum(_numeric(a, values, memo) for a in expr.args)
    elif expr.is_Mul:
        out = 1
        for a in expr.args:
            out = out * _numeric(a, values, memo)
    elif expr.is_Pow:
        out = np.power(_numeric(expr.base, values, memo), _numeric(expr.exp, values, memo))
    else:
        func = _numpy_funcs().get(type(expr))
        if func is None or len(expr.args) != 1:
            raise _Unsupported(expr)
        out = func(_numeric(expr.args[0], values, memo))
    memo[expr] = out
    return out


def _evaluate_numeric(exprs: list[Any], syms: list[Any], pts: list[np.ndarray]) -> np.ndarray:
    """Each expression at the points: direct evaluation, or `sympy.lambdify` for unknown functions."""
    shape = pts[0].shape
    with np.errstate(all="ignore"):
        try:
            values = {s: p.astype(complex) for s, p in zip(syms, pts, strict=True)}
            memo: dict[Any, Any] = {}
            raw = [_numeric(e, values, memo) for e in exprs]
        except _Unsupported:
            raw = sympy.lambdify(syms, exprs, modules="numpy")(*pts)
        return np.array([np.broadcast_to(np.asarray(v, dtype=complex), shape) for v in raw])


def _points(rng: random.Random, count: int) -> list[np.ndarray]:
    """Random sample points: x, y, z in [−1, 1], t in [0, 1]."""
    gen = np.random.default_rng(rng.randrange(2**32))
    return [gen.uniform(-1.0, 1.0, count) for _ in range(3)] + [gen.uniform(0.0, 1.0, count)]


def compare_values(lhs: Any, rhs: Any, rng: random.Random, *, points: int = POINTS) -> bool | None:
    """Whether two SymPy values agree numerically at random points (None: nothing comparable).

    Vectors compare per component; a scalar on one side broadcasts (so `∇×∇f → 0` compares the
    vector with zero). A point where exactly one side is finite fails.
    """
    left, right = _components(lhs), _components(rhs)
    if left is None or right is None:
        return None
    if len(left) != len(right):
        if len(left) == 1:
            left = left * len(right)
        elif len(right) == 1:
            right = right * len(left)
        else:
            return False
    symbolic = _symbolic()
    syms = [symbolic.COORDS[c] for c in ("x", "y", "z", "t")]
    pts = _points(rng, points)
    try:
        vals = _evaluate_numeric(left + right, syms, pts)
    except (TypeError, ValueError, NameError, ZeroDivisionError, AttributeError, OverflowError):
        return None
    lv, rv = vals[: len(left)], vals[len(left) :]
    finite_l, finite_r = np.isfinite(lv), np.isfinite(rv)
    if np.any(finite_l != finite_r):
        return False
    ok = finite_l & finite_r
    if not ok.any():
        return None
    scale = 1.0 + max(float(np.abs(lv[ok]).max()), float(np.abs(rv[ok]).max()))
    return bool(np.all(np.abs(lv[ok] - rv[ok]) <= RTOL * scale))


def _evaluate(n: PNode, env: Mapping[str, Any], space: Sequence[str], c: Any, table: OpTable = GLOBAL) -> Any:
    """The exact value of a node, or None when it has none (wrong kinds, no symbolic form)."""
    symbolic = _symbolic()
    try:
        return symbolic.to_sympy(n, env, (*space, "t"), constants={"c": c}, table=table)
    except (CodexError, ArithmeticError, TypeError, ValueError, NotImplementedError):
        return None


def _compare_sides(
    before: PNode,
    after: PNode,
    env: Mapping[str, Any],
    space: Sequence[str],
    c: Any,
    rng: random.Random,
    table: OpTable = GLOBAL,
) -> RuleStats:
    """One check: skipped when the left side has no value (an ill-kinded instance), failed when only the
    right side has none (the rewrite made something invalid) or the values differ."""
    lhs = _evaluate(before, env, space, c, table)
    if lhs is None:
        return RuleStats(skipped=1)
    rhs = _evaluate(after, env, space, c, table)
    if rhs is None:
        return RuleStats(failures=1)
    result = compare_values(lhs, rhs, rng)
    if result is None:
        return RuleStats(skipped=1)
    return RuleStats(passes=1) if result else RuleStats(failures=1)


def check_rule(rule: Rule, *, samples: int = 2, seed: int = 0, table: OpTable = GLOBAL) -> RuleStats:
    """Check a rule on `samples` random instances of its pattern (seeded by `seed` and the rule name).

    Returns: the passes, failures and skips. A rule whose pattern is a matcher function (not a
    template) cannot be instantiated and counts one skip.
    """
    if not isinstance(rule.pattern, PNode):
        return RuleStats(skipped=1)
    rng = random.Random(f"{seed}:{rule.name}")
    kinds = rule.metavariables
    total = RuleStats()
    checked = 0
    for attempt in range(samples * 6):
        if checked >= samples:
            break
        space = _SPACES[checked % len(_SPACES)]
        c = 1 if attempt % 2 == 0 else 2
        inst = _Instance(seed)
        bindings = {mv: inst.bind(f"{mv}_{i}", kind, rng, space) for i, (mv, kind) in enumerate(kinds.items())}
        subject = substitute(rule.pattern, bindings)
        ctx = inst.context(rule.check_context, c, space, table)
        result = rule.apply(subject, ctx)
        if result is None:
            continue
        checked += 1
        total += _compare_sides(subject, result, inst.env, space, ctx.c, rng, table)
    if checked == 0:
        total += RuleStats(skipped=1)
    return total


def _vector_names(n: PNode) -> set[str]:
    """Names that reach an operand of `∇·` or `∇×` through linear operations: vector fields."""
    found: set[str] = set()
    for sub in walk(n):
        if sub.op not in _VECTOR_OPS:
            continue
        stack = [sub.args[0]]
        while stack:
            cur = stack.pop()
            if cur.op == "name":
                found.add(cur.value)
            elif cur.op in _LINEAR_PASS or cur.op in _VECTOR_OPS:
                stack.extend(cur.args)
    return found


def check_step(step: Step, context: RewriteContext, *, seed: int = 0) -> RuleStats:
    """Check one live step: its subterm before and after on random fields for the names it reads.

    Names the context calls constant get random numbers, t-free names t-free fields, names used as
    operands of `∇·`/`∇×` vector fields, all others scalar fields; 3-D space first, then 2-D.
    Returns: one pass, failure or skip.
    """
    try:
        _symbolic()
    except BackendError:
        return RuleStats(skipped=1)
    rng = random.Random(seed)
    names = sorted(step.local_before.names() | step.local_after.names())
    vectors = _vector_names(step.local_before) | _vector_names(step.local_after)
    c = context.c if not isinstance(context.c, PNode) else 1
    outcome = RuleStats(skipped=1)
    for space in _SPACES:
        inst = _Instance()
        for ident in names:
            kind = "const" if ident in context.constants else "vector" if ident in vectors else "scalar"
            inst.bind(ident, kind, rng, space, t_free=ident in context.t_free)
        outcome = _compare_sides(step.local_before, step.local_after, inst.env, space, c, rng)
        if not outcome.skipped:
            return outcome
    return outcome
