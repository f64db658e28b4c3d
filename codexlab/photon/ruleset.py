"""Rewrite rules and their registry: (name, pattern, replacement, guard), checked for soundness.

A `Rule`'s pattern is a Photon node with metavariables (`pattern.var`) or a matcher function; its
replacement is a template node or a function of the bindings. A `RuleSet` is filled by the `@rules.rule`
decorator (or `add`); a duplicate name raises unless `override=True`, and a failed lookup suggests the
closest name.

Soundness: each rule is checked numerically (random analytic fields, sampled points; see
`codexlab.photon.soundness`). The check runs lazily — on `verify()`, and always before `stats()` or
`success_prob()` return — because checking every rule at import would cost seconds of SymPy work that
a notebook that never asks for the statistics should not pay; results are cached per rule, in memory and
on disk (`codexlab.caches`, keyed by the rule's content — pattern, replacement and guard, code included —
the check's samples and seed, and the codexlab and Python versions), so a new process reads the checks an
earlier one ran; the check is seeded, so a stored result is the one it would compute again. Live uses
are also checked on a seeded sample (`live_check_rate`). Both feed `RuleStats`, whose Beta posterior
mean is the rule's factor in `rewrite_success_prob`.
"""

from __future__ import annotations

import functools
import hashlib
import marshal
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codexlab.errors import CodexNameError, CodexTypeError, CodexValueError, did_you_mean
from codexlab.ops import GLOBAL, OpTable
from codexlab.photon.context import RewriteContext
from codexlab.photon.ir import PNode, walk
from codexlab.photon.pattern import META_OP, Bindings, match, metavariables, substitute
from codexlab.photon.printing import to_unicode

if TYPE_CHECKING:
    from codexlab.caches import JsonCache
    from codexlab.photon.rewrite import Step

__all__ = ["Rule", "RuleSet", "RuleStats", "Matcher", "Replacement", "Guard"]

Matcher = Callable[[PNode, RewriteContext], "Bindings | None"]
Replacement = Callable[[Bindings, RewriteContext], "PNode | None"]
Guard = Callable[[Bindings, RewriteContext], bool]


@dataclass(frozen=True)
class RuleStats:
    """Numeric soundness evidence for one rule: checks passed, failed, and skipped (not evaluable)."""

    passes: int = 0
    failures: int = 0
    skipped: int = 0

    @property
    def success_prob(self) -> float:
        """Posterior mean of Beta(1 + passes, 1 + failures): the rule's factor in rewrite_success_prob."""
        return (1 + self.passes) / (2 + self.passes + self.failures)

    def __add__(self, other: RuleStats) -> RuleStats:
        return RuleStats(self.passes + other.passes, self.failures + other.failures, self.skipped + other.skipped)


def _fingerprint(part: Any) -> str:
    """What decides a rule part's behaviour: a node's content hash, a function's code, closure and
    defaults (two rules made by one factory differ in their closures), else its repr."""
    if isinstance(part, PNode):
        return f"node:{part.id}"
    code = getattr(part, "__code__", None)
    if code is None:
        return f"repr:{part!r}"
    closure = [repr(c.cell_contents) for c in getattr(part, "__closure__", None) or ()]
    body = hashlib.blake2b(marshal.dumps(code), digest_size=16).hexdigest()
    defaults = repr(getattr(part, "__defaults__", None))
    return f"fn:{part.__module__}.{part.__qualname__}:{body}:{closure}:{defaults}"


def _check_key(rule: Rule, samples: int, seed: int) -> str:
    """The disk-cache key of one rule's soundness check."""
    from codexlab._version import __version__

    parts = [
        rule.name,
        _fingerprint(rule.pattern),
        _fingerprint(rule.replacement),
        "guard:none" if rule.guard is None else _fingerprint(rule.guard),
        repr(sorted(rule.kinds.items())),
        repr(sorted((k, repr(v)) for k, v in rule.check_context.items())),
        f"samples={samples}",
        f"seed={seed}",
        f"codexlab {__version__}",
        f"checker {_checker_fingerprint()}",
        f"python {sys.version_info[:2]}",
    ]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=20).hexdigest()


@functools.lru_cache(maxsize=1)
def _checker_fingerprint() -> str:
    """A hash of the code that decides a check (the checker, the exact evaluator, the kinds), so an edit
    of it invalidates cached results even within one version."""
    from codexlab.ops import glyphs
    from codexlab.photon import builtins, context, kinds, pattern, soundness, symbolic

    h = hashlib.blake2b(digest_size=12)
    for module in (soundness, symbolic, builtins, context, kinds, pattern, glyphs):
        h.update(Path(module.__file__ or "").read_bytes())
    return h.hexdigest()


_CHECKS: list[JsonCache] = []


def _checks() -> JsonCache:
    """The disk cache of soundness checks (opened on first use, at the cache folder of that moment)."""
    from codexlab.caches import JsonCache

    if not _CHECKS:
        _CHECKS.append(JsonCache("rules", "soundness.json"))
    return _CHECKS[0]


def _stored_check(key: str) -> RuleStats | None:
    value = _checks().get(key)
    if isinstance(value, list) and len(value) == 3 and all(isinstance(v, int) and v >= 0 for v in value):
        return RuleStats(*value)
    return None


@dataclass(frozen=True)
class Rule:
    """One rewrite rule.

    name: unique within its rule set; shown in derivations.
    pattern: a Photon node with metavariables, or a function (node, context) → bindings or None.
    replacement: a template node over the pattern's metavariables, or a function (bindings, context) →
        node, or None to decline.
    guard: an extra condition on the bindings (bindings, context) → bool.
    priority: higher is tried first when several rules match one node; ties go to registration order.
    kinds: metavariable → kind, for matcher-function patterns (template patterns carry their own).
    check_context: the context the soundness check instantiates the rule in (options such as
        `expand_dalembert` that its guard needs).
    """

    name: str
    pattern: PNode | Matcher
    replacement: PNode | Replacement
    guard: Guard | None = None
    priority: int = 0
    doc: str = ""
    kinds: Mapping[str, str] = field(default_factory=dict)
    check_context: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.pattern, PNode) and isinstance(self.replacement, PNode):
            unbound = set(metavariables(self.replacement)) - set(metavariables(self.pattern))
            if unbound:
                raise CodexValueError(
                    f"The replacement of rule `{self.name}` uses "
                    f"{', '.join(f'`?{v}`' for v in sorted(unbound))}, which its pattern does not bind; "
                    "use only the pattern's metavariables or write the replacement as a function."
                )

    @property
    def head(self) -> str | None:
        """The op the pattern's root must have, or None when any node may match."""
        if isinstance(self.pattern, PNode) and self.pattern.op != META_OP:
            return self.pattern.op
        return None

    @property
    def metavariables(self) -> dict[str, str]:
        """The pattern's metavariables and their kinds."""
        if isinstance(self.pattern, PNode):
            return metavariables(self.pattern)
        return dict(self.kinds)

    def match(self, subject: PNode, ctx: RewriteContext) -> Bindings | None:
        """The bindings under which this rule applies to `subject` (pattern and guard), or None."""
        bindings: Bindings | None
        if isinstance(self.pattern, PNode):
            bindings = match(self.pattern, subject, ctx)
        else:
            bindings = self.pattern(subject, ctx)
        if bindings is None or (self.guard is not None and not self.guard(bindings, ctx)):
            return None
        return bindings

    def apply(self, subject: PNode, ctx: RewriteContext) -> PNode | None:
        """The rewritten node, or None when the rule does not apply or would change nothing."""
        bindings = self.match(subject, ctx)
        if bindings is None:
            return None
        if isinstance(self.replacement, PNode):
            result: PNode | None = substitute(self.replacement, bindings)
        else:
            result = self.replacement(bindings, ctx)
        return None if result is None or result is subject else result

    def __str__(self) -> str:
        if isinstance(self.pattern, PNode) and isinstance(self.replacement, PNode):
            return f"{self.name}: {to_unicode(self.pattern)} ⟶ {to_unicode(self.replacement)}"
        return f"{self.name}: {self.doc}" if self.doc else self.name


class RuleSet:
    """An ordered registry of rules with options, soundness statistics and did-you-mean lookup.

    options: rule-set options read by guards, e.g. `expand_dalembert` (default False).
    live_check_rate: the fraction of live rule uses checked numerically (seeded by `seed`).
    check_samples: random instances per rule in the registration check.
    live_check_max_nodes: live uses whose rewritten subterm has more distinct nodes are not sampled
        (exact evaluation of a large subterm costs far more than the rewrite itself).
    """

    def __init__(
        self,
        name: str = "rules",
        *,
        options: Mapping[str, Any] | None = None,
        live_check_rate: float = 0.1,
        check_samples: int = 2,
        live_check_max_nodes: int = 48,
        seed: int = 0,
    ) -> None:
        if not 0.0 <= live_check_rate <= 1.0:
            raise CodexValueError(f"`live_check_rate` must lie in [0, 1], got `{live_check_rate}`; pass e.g. `0.1`.")
        self.name = name
        self.options: dict[str, Any] = {"expand_dalembert": False, **(options or {})}
        self.live_check_rate = live_check_rate
        self.check_samples = check_samples
        self.live_check_max_nodes = live_check_max_nodes
        self.seed = seed
        self._rules: dict[str, Rule] = {}
        self._order: dict[str, int] = {}
        self._stats: dict[str, RuleStats] = {}
        self._verified: set[str] = set()
        self._by_head: dict[str | None, tuple[Rule, ...]] | None = None
        #: The op specs the rules' calls resolve in (a Lab's rule set sees its own fusion glyphs).
        self.table: OpTable = GLOBAL
        self._lock = threading.RLock()

    # ------------------------------------------------------------------------------------- registration

    def add(self, rule: Rule, *, override: bool = False) -> Rule:
        """Register a rule; a duplicate name raises unless `override=True`."""
        if not isinstance(rule, Rule):
            raise CodexTypeError(f"`RuleSet.add` takes a `Rule`, not `{type(rule).__name__}`.")
        with self._lock:
            if rule.name in self._rules and not override:
                raise CodexValueError(
                    f"A rule named `{rule.name}` is already registered in `{self.name}`; "
                    "pass `override=True` to replace it."
                )
            self._rules[rule.name] = rule
            self._order.setdefault(rule.name, len(self._order))
            self._stats[rule.name] = RuleStats()
            self._verified.discard(rule.name)
            self._by_head = None
        return rule

    def rule(
        self,
        name: str,
        pattern: PNode | Matcher,
        *,
        guard: Guard | None = None,
        priority: int = 0,
        override: bool = False,
        kinds: Mapping[str, str] | None = None,
        check_context: Mapping[str, Any] | None = None,
    ) -> Callable[[Replacement], Replacement]:
        """Decorator: register the decorated function (bindings, context) → node as a rule's replacement."""

        def register(replacement: Replacement) -> Replacement:
            doc = (replacement.__doc__ or "").strip().splitlines()[0] if replacement.__doc__ else ""
            rule = Rule(name, pattern, replacement, guard, priority, doc, dict(kinds or {}), dict(check_context or {}))
            self.add(rule, override=override)
            return replacement

        return register

    def copy(self, name: str | None = None, **options: Any) -> RuleSet:
        """A new rule set with the same rules and statistics, optionally other options."""
        new = RuleSet(
            name or self.name,
            options={**self.options, **options},
            live_check_rate=self.live_check_rate,
            check_samples=self.check_samples,
            live_check_max_nodes=self.live_check_max_nodes,
            seed=self.seed,
        )
        with self._lock:
            for rule in self.ordered():
                new.add(rule)
            new._stats = dict(self._stats)
            new._verified = set(self._verified)
        return new

    def with_options(self, **options: Any) -> RuleSet:
        """A copy with some options changed, e.g. `DEFAULT_RULES.with_options(expand_dalembert=True)`."""
        return self.copy(**options)

    def without(self, *names: str) -> RuleSet:
        """A copy without the named rules."""
        for n in names:
            self[n]
        new = self.copy()
        with new._lock:
            for n in names:
                del new._rules[n]
                new._stats.pop(n, None)
            new._by_head = None
        return new

    # ------------------------------------------------------------------------------------------- lookup

    def __getitem__(self, name: str) -> Rule:
        try:
            return self._rules[name]
        except KeyError:
            raise CodexNameError(
                f"No rewrite rule named `{name}` in rule set `{self.name}`{did_you_mean(name, self._rules)}; "
                "list the rules with `rules.names()`."
            ) from None

    def __contains__(self, name: object) -> bool:
        return name in self._rules

    def __len__(self) -> int:
        return len(self._rules)

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.ordered())

    def names(self) -> list[str]:
        """Rule names in the order the engine tries them."""
        return [r.name for r in self.ordered()]

    def ordered(self) -> tuple[Rule, ...]:
        """Rules by descending priority, then registration order."""
        return tuple(sorted(self._rules.values(), key=lambda r: (-r.priority, self._order[r.name])))

    def candidates(self, subject: PNode) -> tuple[Rule, ...]:
        """The rules whose pattern head admits `subject`, in the order the engine tries them."""
        index = self._by_head
        if index is None:
            index = {}
            ordered = self.ordered()
            for head in {r.head for r in ordered}:
                index[head] = tuple(r for r in ordered if r.head in (head, None))
            self._by_head = index
        return index.get(subject.op, index.get(None, ()))

    def __repr__(self) -> str:
        return f"RuleSet({self.name!r}, {len(self)} rules, options={self.options})"

    # -------------------------------------------------------------------------------------- soundness

    def verify(self, names: Iterable[str] | None = None, *, force: bool = False) -> dict[str, RuleStats]:
        """Run the numeric soundness check of the rules not yet checked (all of them again with `force`).

        A check an earlier process ran on the same rule content is read from the disk cache instead.
        Parameters: names — only these rules (default: every rule); force — check again even if done
        (in this process or an earlier one).
        Returns: rule name → its statistics. A rule that fails a check is kept (its failures lower the
        success probability of derivations that use it) and a RuntimeWarning names it.
        Raises: BackendError when the symbolic evaluator is not available; CodexNameError for an
            unknown rule name.
        """
        from codexlab.photon.soundness import check_rule

        chosen = self.ordered() if names is None else tuple(self[n] for n in dict.fromkeys(names))
        with self._lock:
            todo = [r for r in chosen if force or r.name not in self._verified]
            for rule in todo:
                key = _check_key(rule, self.check_samples, self.seed)
                result = None if force else _stored_check(key)
                if result is None:
                    result = check_rule(rule, samples=self.check_samples, seed=self.seed, table=self.table)
                    _checks().put(key, [result.passes, result.failures, result.skipped])
                base = RuleStats() if force else self._stats.get(rule.name, RuleStats())
                self._stats[rule.name] = base + result
                self._verified.add(rule.name)
                if result.failures:
                    warnings.warn(
                        f"Rewrite rule `{rule.name}` failed its numeric soundness check on "
                        f"{result.failures} of {result.passes + result.failures} samples; derivations "
                        "that use it get a lower rewrite_success_prob — fix its guard or replacement.",
                        RuntimeWarning,
                        stacklevel=2,
                    )
            return dict(self._stats)

    def stats(self) -> dict[str, RuleStats]:
        """Per-rule soundness statistics (registration checks run first if they have not)."""
        return self.verify()

    def success_prob(self, rule_names: Iterable[str]) -> float:
        """`rewrite_success_prob`: the product over rule uses of each rule's Beta posterior mean.

        Only the rules named are checked first (if they have not been); names that are not rules of
        this set (such as the `canonical-order` normalization) contribute a factor of 1.
        """
        uses = [n for n in rule_names if n in self._rules]
        stats = self.verify(uses)
        prob = 1.0
        for n in uses:
            prob *= stats[n].success_prob
        return prob

    def record(self, rule_name: str, outcome: RuleStats) -> None:
        """Add check outcomes to a rule's statistics."""
        with self._lock:
            self._stats[rule_name] = self._stats.get(rule_name, RuleStats()) + outcome

    def check_live_use(self, step: Step, context: RewriteContext | None = None, *, force: bool = False) -> bool | None:
        """Check one live rewrite step numerically, on a seeded sample of calls (all with `force`).

        Returns: True (passed), False (failed; recorded as a failure of the step's rule), or None when
        the step was not sampled (or is larger than `live_check_max_nodes`), is not a rule step, or
        could not be evaluated (recorded as skipped).
        """
        if step.rule not in self._rules:
            return None
        if not force and _exceeds(step.local_before, self.live_check_max_nodes):
            return None
        # Which uses are sampled, and the fields they are checked on, follow from the step itself (its
        # content hash), never from how many rewrites ran before: scores stay the same in every process.
        digest = hashlib.blake2b(f"{step.rule}:{step.local_before.id}".encode(), digest_size=8).digest()
        draw = int.from_bytes(digest, "little")
        sampled = force or (self.live_check_rate > 0 and (draw % 1_000_000) < self.live_check_rate * 1_000_000)
        seed = draw % (2**32)
        if not sampled:
            return None
        from codexlab.photon.soundness import check_step

        try:
            outcome = check_step(step, context or RewriteContext(), seed=seed)
        except Exception:  # noqa: BLE001 - a sampled check must never fail the rewrite it watches
            outcome = RuleStats(skipped=1)
        if outcome.failures:  # a live failure is a finding: it lowers the rule's posterior
            self.record(step.rule, outcome)
            return False
        return True if outcome.passes else None


def _exceeds(n: PNode, limit: int) -> bool:
    """Whether the expression has more than `limit` distinct nodes (stops counting early)."""
    for count, _ in enumerate(walk(n), start=1):
        if count > limit:
            return True
    return False
