"""The `when` language of declarative SoulLaw laws: `<key> <op> <number>`, joined by `and` / `or`.

Grammar (no parentheses; `and` binds tighter than `or`; keywords are lower case):
    condition := conjunction ("or" conjunction)*
    conjunction := comparison ("and" comparison)*
    comparison := KEY OP NUMBER          OP: < > <= >= == != (also ≤ ≥ ≠)
Keys name numbers of a beam's result or of the vetting context (`KNOWN_KEYS`). User text is parsed by
this module only — never evaluated as Python.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from codexlab.errors import did_you_mean

__all__ = ["KNOWN_KEYS", "Comparison", "Condition", "ConditionError", "parse_condition"]

#: Numbers a condition may test: beam result keys, beam fields, and context keys.
KNOWN_KEYS: frozenset[str] = frozenset(
    {
        "norm",
        "max",
        "min",
        "value",
        "qscore",
        "drift",
        "duration_ms",
        "predicted_ms",
        "entropy_bits",
        "entropy_bits_after",
        "schmidt_rank",
        "probability",
        "sigma",
        "iterations",
        "bound",
        "state_norm",
        "grid_points",
        "est_bytes",
        "loop_iterations",
        "entropy_delta",
        "goal_match_score",
        "rewrite_success_prob",
        "efficiency",
    }
)
OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "≤": operator.le,
    "≥": operator.ge,
    "≠": operator.ne,
}
MAX_LENGTH = 500
_TOKEN = re.compile(
    r"\s*(?:(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)(?![A-Za-z_0-9.])"
    r"|(?P<op><=|>=|==|!=|<|>|≤|≥|≠)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<other>\S+))"
)


class ConditionError(ValueError):
    """A malformed condition; the message says what was expected where."""


@dataclass(frozen=True)
class Comparison:
    """`key op number`."""

    key: str
    op: str
    number: float

    def holds(self, value: float | None) -> bool:
        """Whether the comparison holds for `value`; False when the value is missing or NaN."""
        if value is None or math.isnan(value):
            return False
        return OPS[self.op](value, self.number)


@dataclass(frozen=True)
class Condition:
    """A parsed condition: an `or` of `and`s of comparisons."""

    text: str
    clauses: tuple[tuple[Comparison, ...], ...]

    @property
    def keys(self) -> frozenset[str]:
        """The keys the condition reads."""
        return frozenset(c.key for clause in self.clauses for c in clause)

    def holds(self, lookup: Callable[[str], float | None]) -> bool:
        """Evaluate with `lookup(key)` giving a number or None (missing)."""
        return any(all(c.holds(lookup(c.key)) for c in clause) for clause in self.clauses)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, 1-based column) triples."""
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            break
        kind = m.lastgroup or "other"
        out.append((kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()
    return out


def _got(kind: str, text: str) -> str:
    return "the end" if kind == "end" else f"`{text}`"


def parse_condition(text: str) -> Condition:
    """Parse a `when` condition; raises `ConditionError` naming the problem and its column."""
    if not isinstance(text, str) or not text.strip():
        raise ConditionError("the condition is empty; write e.g. `norm > 1e6`")
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"the condition is longer than {MAX_LENGTH} characters; split it into laws")
    tokens = _tokens(text)
    end = ("end", "the end", len(text) + 1)

    def at(j: int) -> tuple[str, str, int]:
        return tokens[j] if j < len(tokens) else end

    clauses: list[tuple[Comparison, ...]] = []
    current: list[Comparison] = []
    i = 0
    while True:
        (k_kind, key, k_col), (o_kind, op, o_col), (n_kind, number, n_col) = at(i), at(i + 1), at(i + 2)
        if k_kind != "word" or key in ("and", "or"):
            raise ConditionError(f"expected a key at column {k_col}, got {_got(k_kind, key)}; write e.g. `norm > 1e6`")
        if key not in KNOWN_KEYS:
            raise ConditionError(
                f"unknown key `{key}` at column {k_col}{did_you_mean(key, KNOWN_KEYS)}; the keys are "
                f"{', '.join(f'`{k}`' for k in sorted(KNOWN_KEYS))}"
            )
        if o_kind != "op":
            raise ConditionError(
                f"expected one of {', '.join(f'`{o}`' for o in OPS)} after `{key}` at column {o_col}, "
                f"got {_got(o_kind, op)}"
            )
        if n_kind != "number":
            raise ConditionError(f"expected a number after `{key} {op}` at column {n_col}, got {_got(n_kind, number)}")
        current.append(Comparison(key, op, float(number)))
        i += 3
        if i == len(tokens):
            clauses.append(tuple(current))
            return Condition(text, tuple(clauses))
        kind, word, col = tokens[i]
        if kind != "word" or word not in ("and", "or"):
            raise ConditionError(f"expected `and`, `or` or the end at column {col}, got `{word}`")
        if word == "or":
            clauses.append(tuple(current))
            current = []
        i += 1
