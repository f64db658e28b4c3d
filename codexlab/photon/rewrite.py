"""The rewrite engine: rules to a fixpoint, every step kept as a derivation.

Strategy (deterministic): leftmost-outermost. Each step searches the expression in pre-order (a node
before its children, children left to right) and rewrites the first node some rule applies to; among
the rules that apply there, the highest priority wins (ties: registration order), and when more than
one applies the choice is recorded in `Derivation.ambiguities`. After every rule step the whole
expression is put in canonical operand order (`normalize.canonical_order`); when that changes it, the
change is a step of its own, named `canonical-order`, so each step's `before` is the previous `after`.
Subtrees found irreducible are remembered (nodes are interned), so a step costs one pass over the part
of the expression that may still change. More than `max_steps` rule steps raise `RewriteError`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, get_args

from codexlab.errors import CodexTypeError, RewriteError
from codexlab.photon.context import RewriteContext, as_context
from codexlab.photon.ir import PNode, walk
from codexlab.photon.normalize import canonical_order
from codexlab.photon.printing import to_latex, to_unicode
from codexlab.photon.rules import DEFAULT_RULES
from codexlab.photon.ruleset import Rule, RuleSet

__all__ = ["Step", "Ambiguity", "Derivation", "rewrite", "CANONICAL_ORDER", "DEFAULT_MAX_STEPS"]

#: The name of normalization steps in a derivation (not a rule: it has no statistics).
CANONICAL_ORDER = "canonical-order"
DEFAULT_MAX_STEPS = 1000


@dataclass(frozen=True)
class Step:
    """One rewrite: the rule, where (child-index path), the whole expression before and after, and the
    rewritten subterm before and after. `kind` is "rule" or "normalize" (canonical operand order)."""

    rule: str
    path: tuple[int, ...]
    before: PNode
    after: PNode
    local_before: PNode
    local_after: PNode
    kind: str = "rule"

    def __str__(self) -> str:
        return f"{to_unicode(self.before)}  ⟶[{self.rule}]  {to_unicode(self.after)}"


class Ambiguity(NamedTuple):
    """Several rules applied to one node: where, which (in the order tried), and the one chosen."""

    path: tuple[int, ...]
    rules: list[str]
    chosen: str


def _latex_rule(name: str) -> str:
    return name.replace("_", r"\_")


@dataclass(frozen=True)
class Derivation:
    """The steps that took `input` to `result` under a rule set; prints as Unicode and LaTeX."""

    input: PNode
    result: PNode
    steps: list[Step] = field(default_factory=list, hash=False)
    ambiguities: list[Ambiguity] = field(default_factory=list, hash=False)
    ruleset: RuleSet | None = field(default=None, repr=False, compare=False)
    context: RewriteContext = field(default_factory=RewriteContext, repr=False, compare=False)

    @property
    def rule_names(self) -> list[str]:
        """The rules applied, in order (normalization steps left out)."""
        return [s.rule for s in self.steps if s.kind == "rule"]

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def to_unicode(self) -> str:
        """One line per step: `before  ⟶[rule]  after`."""
        if not self.steps:
            return f"{to_unicode(self.input)}  (no rule applies)"
        return "\n".join(str(s) for s in self.steps)

    __str__ = to_unicode

    def to_latex(self) -> str:
        """An `align*` block: the input, then one `⟶[rule] expression` line per step."""
        if not self.steps:
            return f"\\begin{{align*}}\n{to_latex(self.input)}\n\\end{{align*}}"
        lines = []
        for i, s in enumerate(self.steps):
            left = to_latex(s.before) if i == 0 else ""
            arrow = f"\\xrightarrow{{\\text{{{_latex_rule(s.rule)}}}}}"
            lines.append(f"{left} &{arrow} {to_latex(s.after)}")
        return "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"

    def _repr_latex_(self) -> str:
        return self.to_latex()

    def success_prob(self) -> float:
        """`rewrite_success_prob`: the product of each applied rule's Beta posterior mean."""
        if self.ruleset is None:
            return 1.0
        return self.ruleset.success_prob(self.rule_names)


def _as_node(expr: Any) -> PNode:
    """A Photon node from a node or a Codex AST expression."""
    if isinstance(expr, PNode):
        return expr
    from codexlab.lang import ast as A
    from codexlab.photon.adapter import codex_to_photon_ast

    if isinstance(expr, get_args(A.Expr)):
        return codex_to_photon_ast(expr)
    raise CodexTypeError(
        f"`rewrite` takes an expression (a PNode or a Codex AST expression), not `{type(expr).__name__}`; "
        "rewrite each statement's expression separately."
    )


def _effective_context(context: RewriteContext | Mapping[str, Any] | None, rules: RuleSet) -> RewriteContext:
    """The caller's context with rule-set options filled in where the context leaves them open."""
    ctx = as_context(context)
    if ctx.expand_dalembert is None:
        ctx = replace(ctx, expand_dalembert=bool(rules.options.get("expand_dalembert", False)))
    return ctx


class _Redex(NamedTuple):
    path: tuple[int, ...]
    subject: PNode
    rule: Rule
    result: PNode


def _find_redex(root: PNode, rules: RuleSet, ctx: RewriteContext, normal: set[str]) -> _Redex | None:
    """The leftmost-outermost node some rule rewrites, marking fully searched subtrees irreducible."""
    frames: list[list[Any]] = [[root, (), -1]]
    while frames:
        frame = frames[-1]
        n, path, child = frame
        if child == -1:
            if n.id in normal:
                frames.pop()
                continue
            for rule in rules.candidates(n):
                result = rule.apply(n, ctx)
                if result is not None and _keeps_kind(n, result, ctx):
                    return _Redex(path, n, rule, result)
            frame[2] = 0
        elif child < len(n.children):
            frame[2] = child + 1
            frames.append([n.children[child], (*path, child), -1])
        else:
            normal.add(n.id)
            frames.pop()
    return None


def _commutes(n: PNode, ctx: RewriteContext) -> bool:
    """Whether swapping the two operands of `n` keeps its value, from its spec and the operands' kinds
    (`•` of two vectors commutes, of a tensor and a vector does not)."""
    spec = ctx.table.find(n.op)
    if spec is None or len(n.args) != 2:
        return False
    kinds = tuple(ctx.kind(a) or "data" for a in n.args)
    return spec.commutative_for(kinds)


def _keeps_kind(before: PNode, after: PNode, ctx: RewriteContext) -> bool:
    """A sound step never changes a value's kind (a field stays a field); unknown kinds (`data`) agree
    with any, and an ill-kinded subject is left to the kind check that reports it."""
    old = ctx.kind(before)
    if old is None or old == "data":
        return True
    new = ctx.kind(after)
    return new == old or new == "data"


def _applicable(subject: PNode, rules: RuleSet, ctx: RewriteContext) -> list[str]:
    """Names of every rule that would rewrite `subject`, in the order tried."""
    return [
        r.name
        for r in rules.candidates(subject)
        if (out := r.apply(subject, ctx)) is not None and _keeps_kind(subject, out, ctx)
    ]


def _short(n: PNode, limit: int = 60) -> str:
    text = to_unicode(n)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _names(items: list[str]) -> str:
    return ", ".join(f"`{i}`" for i in items)


def _runaway(start: PNode, steps: list[Step], cap: int) -> RewriteError:
    """The error for a rule set that did not stop, naming the rules that kept firing."""
    rule_steps = [s for s in steps if s.kind == "rule"]
    last = [s.rule for s in rule_steps[-6:]]
    # The root after each rule step, normalization included (a normalize step follows its rule step).
    roots: list[PNode] = []
    for s in steps:
        if s.kind == "rule":
            roots.append(s.after)
        elif roots:
            roots[-1] = s.after
    period = next((p for p in range(1, min(len(roots), 64)) if roots[-1 - p] is roots[-1]), None)
    if period is not None:
        culprits = list(dict.fromkeys(s.rule for s in rule_steps[-period:]))
        diagnosis = f"the expression returns to the same form every {period} step{'s' if period > 1 else ''}"
        kind = "a rule set that undoes itself"
        fix = "remove or guard one of them"
    else:
        culprits = list(dict.fromkeys(reversed(last)))
        size = sum(1 for _ in walk(roots[-1])) if roots else 0
        diagnosis = f"the expression keeps changing without repeating ({size} distinct nodes now)"
        kind = "a rule set that undoes itself or re-creates its own pattern"
        fix = "add a guard so that it stops"
    err = RewriteError(
        f"rewriting `{_short(start)}` did not reach a fixpoint after {cap} steps; the last rules applied "
        f"were {_names(last)}; {diagnosis}: {kind}, such as {' and '.join(f'`{c}`' for c in culprits)}, "
        f"never stops — {fix}, or pass a larger `max_steps` if the expression is merely large."
    )
    err.steps = tuple(steps)  # type: ignore[attr-defined]  # partial derivation, for debugging
    return err


def rewrite(
    expr: PNode | Any,
    rules: RuleSet | None = None,
    context: RewriteContext | Mapping[str, Any] | None = None,
    *,
    max_steps: int = DEFAULT_MAX_STEPS,
    live_checks: bool = True,
) -> Derivation:
    """Rewrite an expression to a fixpoint, keeping every step.

    Parameters: expr — a `PNode` or a Codex AST expression; rules — the rule set (default
        `DEFAULT_RULES`); context — a `RewriteContext` or a mapping of its fields (constants, t_free,
        finite, c, expand_dalembert); max_steps — the cap on rule steps; live_checks — let the rule set
        check a seeded sample of the steps numerically (`RuleSet.live_check_rate`).
    Returns: a `Derivation` with `.steps`, `.result` and `.ambiguities`.
    Raises: RewriteError when the rules do not reach a fixpoint within `max_steps`; CodexTypeError or
        CodexConfigError for a bad expression or context.
    """
    ruleset = DEFAULT_RULES if rules is None else rules
    if not isinstance(ruleset, RuleSet):
        raise CodexTypeError(f"`rules` must be a `RuleSet`, not `{type(ruleset).__name__}`.")
    start = _as_node(expr)
    ctx = _effective_context(context, ruleset)
    steps: list[Step] = []
    ambiguities: list[Ambiguity] = []
    normal: set[str] = set()
    order_memo: dict[str, PNode] = {}

    def normalize(root: PNode) -> PNode:
        ordered = canonical_order(root, commutes=lambda n: _commutes(n, ctx), memo=order_memo)
        if ordered is not root:
            steps.append(Step(CANONICAL_ORDER, (), root, ordered, root, ordered, "normalize"))
        return ordered

    root = normalize(start)
    applied = 0
    while (redex := _find_redex(root, ruleset, ctx, normal)) is not None:
        if applied >= max_steps:
            raise _runaway(start, steps, max_steps)
        after = root.replace(redex.path, redex.result)
        step = Step(redex.rule.name, redex.path, root, after, redex.subject, redex.result)
        steps.append(step)
        applied += 1
        matching = _applicable(redex.subject, ruleset, ctx)
        if len(matching) > 1:
            ambiguities.append(Ambiguity(redex.path, matching, redex.rule.name))
        if live_checks:
            ruleset.check_live_use(step, ctx)
        root = normalize(after)
    return Derivation(start, root, steps, ambiguities, ruleset, ctx)
