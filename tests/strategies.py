"""Hypothesis strategies that generate valid Codex ASTs, shared by the lang and Photon tests.

Every tree drawn here is one the parser can produce: `parse(to_text(tree)) == tree` holds for all of
them. That means: numbers are finite and non-negative (a negative literal is `Unary("-", Number)`),
names use a safe alphabet, glyph calls with an operator's exact arity never appear as `Call` (they are
`Unary`/`Binary`/`Interfere` nodes), and binding targets are never reserved (`x y z t i`, glyph aliases).

Main entry points: `exprs()` and `scrolls()`; `names()`, `statements()`, `loops()`, `records()` and
`directives()` are there for finer-grained tests.
"""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st

from codexlab.lang import ast

__all__ = [
    "GLYPH_ALIASES",
    "names",
    "binding_names",
    "numbers",
    "strings",
    "exprs",
    "directives",
    "loops",
    "records",
    "statements",
    "scrolls",
]

#: Words that spell a glyph as a function (`grad(f)`); they cannot be bound.
GLYPH_ALIASES = (
    "grad",
    "div",
    "curl",
    "lap",
    "dalembert",
    "ddt",
    "collapse",
    "entangle",
    "superpose",
    "cancel",
    "interfere",
    "tensor",
    "cross",
    "dot",
    "norm",
)
#: Called with one argument these mean `∂x … ∂t`; as plain names they are ordinary.
_PARTIAL_CALLS = ("dx", "dy", "dz", "dt")
_KEYWORDS = ("repeat",)

_FIRST = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_αβγδεζηθικλνξοπρστυφχψωΓΘΛΞΠΣΦΨΩ"
_REST = _FIRST + "0123456789"
_SUBSCRIPTS = "₀₁₂₃₄₅₆₇₈₉"
_PRIMES = "′″"
_NOT_BINDABLE = frozenset(ast.RESERVED_NAMES) | frozenset(GLYPH_ALIASES) | frozenset(_KEYWORDS)

_UNARY_GLYPH_ARITY = {op: 1 for op in ast.UNARY_OPS if op != "-"}
_CALLABLE_GLYPHS = (*_UNARY_GLYPH_ARITY, "↔", "⊕", "⊖", "⊗", "×", "•", "⋈")


def _raw_names() -> st.SearchStrategy[str]:
    """Names from a safe alphabet: letters (Greek without Δ μ), digits, `_`, then subscripts or primes."""
    stem = st.builds(
        lambda first, rest: first + rest,
        st.sampled_from(_FIRST),
        st.text(alphabet=_REST, max_size=4),
    )
    suffix = st.one_of(
        st.just(""),
        st.text(alphabet=_SUBSCRIPTS, min_size=1, max_size=2),
        st.text(alphabet=_PRIMES, min_size=1, max_size=2),
    )
    return st.builds(lambda s, x: s + x, stem, suffix).filter(lambda n: n not in _KEYWORDS)


def names() -> st.SearchStrategy[str]:
    """Names that may appear in expressions, coordinates and the imaginary unit included."""
    return st.one_of(st.sampled_from(ast.RESERVED_NAMES), st.sampled_from(("ψ", "φ", "ψ′", "ψ₀", "E2")), _raw_names())


def binding_names() -> st.SearchStrategy[str]:
    """Names that may be defined or assigned (never `x y z t i` nor a glyph alias)."""
    return st.one_of(st.sampled_from(("ψ", "φ", "ψ′", "L", "E", "dt")), _raw_names()).filter(
        lambda n: n not in _NOT_BINDABLE
    )


def _call_names() -> st.SearchStrategy[str]:
    """Function names that stay `Call` nodes whatever their arguments."""
    builtins = ("sin", "cos", "exp", "gaussian", "load", "relax", "evolve", "max", "abs")
    return st.one_of(st.sampled_from(builtins), _raw_names()).filter(
        lambda n: n not in _NOT_BINDABLE and n not in _PARTIAL_CALLS
    )


def numbers() -> st.SearchStrategy[ast.Number]:
    """Non-negative finite literals, ints and floats (negative numbers are `Unary("-", …)`)."""
    ints = st.integers(min_value=0, max_value=10**20)
    floats = st.floats(min_value=0.0, allow_nan=False, allow_infinity=False).map(abs)
    return st.builds(ast.Number, st.one_of(ints, floats))


def strings() -> st.SearchStrategy[str]:
    """String values: any text without surrogates (the printer escapes quotes and control characters)."""
    return st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)


def _keywords(values: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[tuple[ast.Keyword, ...]]:
    """Keyword arguments with distinct names."""
    return st.lists(_raw_names(), max_size=2, unique=True).flatmap(
        lambda ks: st.tuples(*(st.builds(ast.Keyword, st.just(k), values) for k in ks))
    )


def _calls(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Call]:
    """Ordinary calls, plus glyph calls that carry keywords (`⧖(ψ, mode="projective")`)."""
    plain = st.builds(
        ast.Call,
        _call_names(),
        st.lists(children, max_size=3).map(tuple),
        _keywords(children),
    )
    glyph = st.builds(
        ast.Call,
        st.sampled_from(_CALLABLE_GLYPHS),
        st.lists(children, max_size=3).map(tuple),
        _keywords(children).filter(bool),
    )
    return st.one_of(plain, plain, glyph)


def exprs(
    *,
    max_leaves: int = 10,
    leaves: st.SearchStrategy[ast.Expr] | None = None,
    unary_ops: Sequence[str] = ast.UNARY_OPS,
    binary_ops: Sequence[str] = ast.BINARY_OPS,
    interfere: bool = True,
    calls: bool = True,
    vectors: bool = True,
    norms: bool = True,
    strings_: bool = True,
) -> st.SearchStrategy[ast.Expr]:
    """Expression trees; narrow the operators or leaves to generate only what a stage supports."""
    if leaves is None:
        base: list[st.SearchStrategy[ast.Expr]] = [numbers(), st.builds(ast.Name, names())]
        if strings_:
            base.append(st.builds(ast.String, strings()))
        leaves = st.one_of(*base)

    def extend(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
        options: list[st.SearchStrategy[ast.Expr]] = []
        if unary_ops:
            options.append(st.builds(ast.Unary, st.sampled_from(tuple(unary_ops)), children))
        if binary_ops:
            options.append(st.builds(ast.Binary, st.sampled_from(tuple(binary_ops)), children, children))
        if interfere:
            options.append(st.builds(ast.Interfere, children, children, children))
        if calls:
            options.append(_calls(children))
        if vectors:
            options.append(st.builds(ast.Vector, st.lists(children, max_size=3).map(tuple)))
        if norms:
            options.append(st.builds(ast.Norm, children))
            options.append(st.builds(ast.Density, children))
        return st.one_of(*options)

    return st.recursive(leaves, extend, max_leaves=max_leaves)


def _directive_values() -> st.SearchStrategy[int | float | str]:
    finite = st.floats(allow_nan=False, allow_infinity=False)
    return st.one_of(st.integers(-1000, 10**6), finite, _raw_names(), strings())


def directives() -> st.SearchStrategy[ast.Directive]:
    """`@name args`: grid axes, `key=value` options and bare words."""
    finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
    axis = st.builds(
        ast.AxisSpec,
        st.sampled_from(("x", "y", "z", "t")),
        st.one_of(st.integers(-10, 10), finite),
        st.one_of(st.integers(-10, 10), finite),
        st.integers(1, 4096),
    )
    option = st.builds(ast.Option, _raw_names(), _directive_values())
    word = st.builds(ast.Word, _directive_values())
    arg = st.one_of(axis, option, word)
    name = st.sampled_from(("grid", "precision", "seed", "container", "wave", "note"))
    return st.builds(ast.Directive, name, st.lists(arg, max_size=3).map(tuple))


def _simple_statements(max_leaves: int) -> st.SearchStrategy[ast.Statement]:
    e = exprs(max_leaves=max_leaves)
    return st.one_of(
        st.builds(ast.Definition, binding_names(), e),
        st.builds(ast.Assignment, binding_names(), e),
        st.builds(ast.ExprStmt, e),
        directives(),
    )


def loops(*, max_leaves: int = 6, body: st.SearchStrategy[ast.Statement] | None = None) -> st.SearchStrategy[ast.Loop]:
    """`⟲ N { … }` and `⟲ until C max N { … }` loops."""
    e = exprs(max_leaves=max_leaves)
    body_items = st.lists(body if body is not None else _simple_statements(max_leaves), max_size=3).map(tuple)
    counted = st.builds(ast.Loop, body_items, count=e)
    until = st.builds(ast.Loop, body_items, until=e, max=e)
    return st.one_of(counted, until)


def records(*, max_leaves: int = 6) -> st.SearchStrategy[ast.GlyphRecord]:
    """`⟦ Type | Tag : Value -> Action ⟧` records, value and action optional."""
    kind = st.one_of(st.sampled_from(("Goal", "Plan", "Skill", "Note")), _raw_names())
    tag = st.one_of(_raw_names(), strings())
    value = st.one_of(st.none(), exprs(max_leaves=max_leaves), loops(max_leaves=max_leaves))
    action = st.one_of(st.none(), _raw_names())
    return st.builds(ast.GlyphRecord, kind, tag, value, action)


def statements(*, max_leaves: int = 8) -> st.SearchStrategy[ast.Statement]:
    """Any statement kind, loops nesting at most two deep."""
    simple = _simple_statements(max_leaves)
    inner = st.one_of(simple, loops(max_leaves=max_leaves))
    return st.one_of(simple, loops(max_leaves=max_leaves, body=inner), records(max_leaves=max_leaves))


def scrolls(*, max_statements: int = 6, max_leaves: int = 8) -> st.SearchStrategy[ast.Scroll]:
    """Whole scrolls: a few statements of every kind."""
    return st.builds(ast.Scroll, st.lists(statements(max_leaves=max_leaves), max_size=max_statements).map(tuple))
