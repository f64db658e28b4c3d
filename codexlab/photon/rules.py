"""The first rule set of SEMANTICS.md, registered into `DEFAULT_RULES`.

Rule names (priority in brackets; higher is tried first when several rules match one node):
- vector calculus [10–20]: `div_grad` ∇·∇f → Δf, `curl_grad` ∇×∇f → 0, `div_curl` ∇·(∇×F) → 0;
- time derivatives of t-free fields [20]: `ddt_tfree` d/dt f → 0, `partial_t_tfree` ∂t f → 0;
- linearity [0] of each linear operator L ∈ {∇ grad, ∇· div, ∇× curl, Δ lap, □ dalembert, d/dt ddt,
  ∂x partial_x, ∂y partial_y, ∂z partial_z, ∂t partial_t}: `<L>_add` L(a + b) → La + Lb, `<L>_sub`,
  `<L>_neg` L(−a) → −La, and over *constant* factors only `<L>_scale` L(c·a) → c·La,
  `<L>_scale_right` L(a·c) → La·c, `<L>_div` L(a/c) → La/c (constants: see `context.is_constant`);
  and [20] `<L>_const` L(c) → 0 for ∇ Δ □ ∂x ∂y ∂z;
- constant folding [5]: `fold_add fold_sub fold_mul fold_div fold_pow fold_neg` (ints exactly: a
  division or negative power that is not an integer is left alone; floats as Python computes them; a
  result that would be inf, NaN, or complex from real operands is never produced);
- identities [5]: `add_zero` x + 0 → x, `zero_add`, `sub_zero`, `zero_sub` 0 − x → −x, `mul_one`
  x·1 → x, `one_mul`, `mul_zero` x·0 → 0 and `zero_mul` only for x known finite (a finite literal, a
  coordinate, `i`, or a name in the context's `finite` set — `log(0)·0` is never folded, so no NaN is
  hidden), `neg_neg` −(−x) → x;
- `dalembert_expand` [−10] □f → ∂t(∂t f) − c²Δf (c from the context, default 1), applied only when it
  helps: when the context or the rule set's option `expand_dalembert=True` asks for it, or when f is
  t-free so that the time part vanishes. Otherwise □ stays (kernels evaluate it directly).

Canonical operand order of `+ ⊕ •` is not a rule: see `codexlab.photon.normalize`.
"""

from __future__ import annotations

import cmath
from typing import Any

from codexlab.ops import KindEnv, KindMismatch, OpSpec, iter_specs
from codexlab.photon.context import RewriteContext, is_t_free
from codexlab.photon.ir import PNode, node, num
from codexlab.photon.pattern import Bindings, substitute, var
from codexlab.photon.ruleset import Replacement, Rule, RuleSet

__all__ = ["DEFAULT_RULES", "LINEAR_OPS", "fold_numbers"]

DEFAULT_RULES = RuleSet("default")


def _operand_kind(spec: OpSpec) -> str:
    """The metavariable kind of a linear operator's operand: what its kind rule accepts."""
    accepts = set()
    for kind in ("field", "vector"):
        try:
            spec.kind((kind,), KindEnv(3))
            accepts.add(kind)
        except KindMismatch:
            pass
    return "any" if accepts == {"field", "vector"} else ("scalar" if "field" in accepts else "vector")


#: Linear differential operators (from their specs) and the alias and operand kind of their rules.
LINEAR_OPS: dict[str, tuple[str, str]] = {
    s.key: (s.name, _operand_kind(s)) for s in iter_specs() if s.linear and s.order > 0
}
#: Operators with a `<L>_const` rule L(c) → 0 (`d/dt`/`∂t` of a constant are the t-free rules).
_CONST_ANNIHILATED = frozenset(s.key for s in iter_specs() if s.const_zero)
#: Folded ints stay within the float range, so every folded number has a float value too.
_MAX_FOLD_BITS = 1024


def _zero_like(pattern: PNode) -> Replacement:
    """A replacement by the zero of the matched subterm's kind (`0`, `zeros()`, a vector of zeros), so a
    field stays a field; declines when the kind is unknown."""

    def replacement(bindings: Bindings, ctx: RewriteContext) -> PNode | None:
        return ctx.zero(ctx.kind(substitute(pattern, bindings)))

    return replacement


def _template(name: str, pattern: PNode, replacement: PNode, *, priority: int, doc: str) -> None:
    """Register a rule whose replacement is a template over the pattern's metavariables."""
    DEFAULT_RULES.add(Rule(name, pattern, replacement, priority=priority, doc=doc))


# --------------------------------------------------------------------------------- vector calculus

f, a, b = var("f"), var("a"), var("b")
F = var("F", "vector")


def _to_zero(name: str, pattern: PNode, *, priority: int, doc: str) -> None:
    """Register a rule that rewrites `pattern` to the zero of its kind."""
    DEFAULT_RULES.add(Rule(name, pattern, _zero_like(pattern), priority=priority, doc=doc))


_template("div_grad", node("∇·", node("∇", f)), node("Δ", f), priority=10, doc="∇·∇f ⟶ Δf")
_to_zero("curl_grad", node("∇×", node("∇", f)), priority=20, doc="∇×∇f ⟶ 0 (a scalar in 2-D, a vector in 3-D)")
_to_zero("div_curl", node("∇·", node("∇×", F)), priority=20, doc="∇·(∇×F) ⟶ 0")

tf = var("f", "tfree")
_to_zero("ddt_tfree", node("d/dt", tf), priority=20, doc="d/dt f ⟶ 0 for t-free f")
_to_zero("partial_t_tfree", node("∂t", tf), priority=20, doc="∂t f ⟶ 0 for t-free f")


# -------------------------------------------------------------------------------------------- linearity


def _register_linearity(op: str, alias: str, kind: str) -> None:
    """The six linearity rules of one operator: over +, −, negation, and constant factors."""
    u, v = var("a", kind), var("b", kind)
    c = var("c", "const")
    forms = {
        "add": (node("+", u, v), node("+", node(op, u), node(op, v)), "L(a + b) ⟶ La + Lb"),
        "sub": (node("-", u, v), node("-", node(op, u), node(op, v)), "L(a − b) ⟶ La − Lb"),
        "neg": (node("neg", u), node("neg", node(op, u)), "L(−a) ⟶ −La"),
        "scale": (node("*", c, u), node("*", c, node(op, u)), "L(c·a) ⟶ c·La for constant c"),
        "scale_right": (node("*", u, c), node("*", node(op, u), c), "L(a·c) ⟶ La·c for constant c"),
        "div": (node("/", u, c), node("/", node(op, u), c), "L(a/c) ⟶ La/c for constant c"),
    }
    for form, (inner, out, doc) in forms.items():
        _template(f"{alias}_{form}", node(op, inner), out, priority=0, doc=doc.replace("L", op))
    if op in _CONST_ANNIHILATED:
        _to_zero(f"{alias}_const", node(op, c), priority=20, doc=f"{op}c ⟶ 0 for constant c")


for _op, (_alias, _kind) in LINEAR_OPS.items():
    _register_linearity(_op, _alias, _kind)


# ------------------------------------------------------------------------------------ constant folding


def fold_numbers(op: str, x: Any, y: Any = None) -> int | float | complex | None:
    """The value of `x op y` (or `−x` for `neg`) when it is exact for ints and finite, else None."""
    try:
        if op == "neg":
            result = -x
        elif op == "+":
            result = x + y
        elif op == "-":
            result = x - y
        elif op == "*":
            result = x * y
        elif op == "/":
            if y == 0:
                return None
            if isinstance(x, int) and isinstance(y, int):
                if x % y:
                    return None
                result = x // y
            else:
                result = x / y
        elif op == "^":
            result = _fold_power(x, y)
            if result is None:
                return None
        else:
            return None
    except (OverflowError, ZeroDivisionError, ValueError):
        return None
    if isinstance(result, complex) and not isinstance(x, complex) and not isinstance(y, complex):
        return None
    if isinstance(result, int):  # exact; one past the float range is left to the exact path (cmath would overflow)
        return result if result.bit_length() <= _MAX_FOLD_BITS else None
    return result if cmath.isfinite(result) else None


def _fold_power(x: Any, y: Any) -> int | float | complex | None:
    """`x ^ y`, exact for integers (no negative powers but of ±1) and bounded in size."""
    if isinstance(x, int) and isinstance(y, int):
        if y < 0:
            return None if x not in (1, -1) else x ** (-y)
        if y * max(x.bit_length(), 1) > _MAX_FOLD_BITS:
            return None
        return x**y
    if x == 0 and (y.real if isinstance(y, complex) else y) < 0:
        return None
    result: int | float | complex = x**y
    return result


def _fold(op: str) -> None:
    """Register the folding rule of one numeric operator."""
    p, q = var("p", "num"), var("q", "num")
    pattern = node(op, p) if op == "neg" else node(op, p, q)

    def replacement(bindings: Bindings, ctx: RewriteContext) -> PNode | None:
        x = bindings["p"].value
        y = bindings["q"].value if "q" in bindings else None
        value = fold_numbers(op, x, y)
        return None if value is None else num(value)

    name = {"neg": "fold_neg", "+": "fold_add", "-": "fold_sub", "*": "fold_mul", "/": "fold_div"}.get(op, "fold_pow")
    doc = f"fold numeric `{op}`" if op != "neg" else "fold numeric negation"
    DEFAULT_RULES.add(Rule(name, pattern, replacement, priority=5, doc=doc))


for _op in ("+", "-", "*", "/", "^", "neg"):
    _fold(_op)


# ------------------------------------------------------------------------------------------ identities

x = var("x", "any")
xf = var("x", "finite")
zero, one = var("z", "zero"), var("o", "one")

_template("add_zero", node("+", x, zero), x, priority=5, doc="x + 0 ⟶ x")
_template("zero_add", node("+", zero, x), x, priority=5, doc="0 + x ⟶ x")
_template("sub_zero", node("-", x, zero), x, priority=5, doc="x − 0 ⟶ x")
_template("zero_sub", node("-", zero, x), node("neg", x), priority=5, doc="0 − x ⟶ −x")
_template("mul_one", node("*", x, one), x, priority=5, doc="x·1 ⟶ x")
_template("one_mul", node("*", one, x), x, priority=5, doc="1·x ⟶ x")
_to_zero("mul_zero", node("*", xf, zero), priority=5, doc="x·0 ⟶ 0 for finite x")
_to_zero("zero_mul", node("*", zero, xf), priority=5, doc="0·x ⟶ 0 for finite x")
_template("neg_neg", node("neg", node("neg", x)), x, priority=5, doc="−(−x) ⟶ x")


# ------------------------------------------------------------------------------------------- d'Alembert


def _dalembert_helps(bindings: Bindings, ctx: RewriteContext) -> bool:
    """Expand □ when asked to, or when the operand is t-free (then ∂ₜₜ vanishes)."""
    return bool(ctx.expand_dalembert) or is_t_free(bindings["f"], ctx)


def _c_squared(ctx: RewriteContext) -> PNode | None:
    """c² as a node; None when it is 1 (so the Laplacian term needs no factor)."""
    c = ctx.c
    if isinstance(c, PNode):
        return node("^", c, num(2))
    square = c * c
    return None if square == 1 else num(square)


@DEFAULT_RULES.rule(
    "dalembert_expand",
    node("□", f),
    guard=_dalembert_helps,
    priority=-10,
    check_context={"expand_dalembert": True},
)
def _dalembert_expand(bindings: Bindings, ctx: RewriteContext) -> PNode:
    """□f ⟶ ∂t(∂t f) − c²Δf, when expanding helps (asked for, or f t-free)."""
    operand = bindings["f"]
    lap = node("Δ", operand)
    c2 = _c_squared(ctx)
    space = lap if c2 is None else node("*", c2, lap)
    return node("-", node("∂t", node("∂t", operand)), space)


del f, a, b, F, tf, x, xf, zero, one
