"""The grammar file itself: LALR(1) without conflicts, built once, and the fast lexer agrees with lark's."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Lark
from lark.exceptions import UnexpectedInput
from lark.parsers.lalr_analysis import LALR_Analyzer

from codexlab.lang import parse, to_text
from codexlab.lang._lexer import CodexLexer
from codexlab.lang._lexicon import NAME_RE
from codexlab.lang.parser import codexlang_parser
from tests.strategies import scrolls

GRAMMAR = Path(__file__).resolve().parents[2] / "codexlab" / "lang" / "codexlang.lark"


@pytest.fixture(scope="module")
def tree_parsers() -> tuple[Lark, Lark]:
    """The grammar without the AST builder: lark's contextual lexer, and ours."""
    contextual = Lark.open(str(GRAMMAR), parser="lalr", lexer="contextual")
    ours = Lark.open(str(GRAMMAR), parser="lalr", lexer=CodexLexer)
    return contextual, ours


def test_grammar_is_lalr1_without_conflicts(tree_parsers: tuple[Lark, Lark]) -> None:
    contextual, _ = tree_parsers
    LALR_Analyzer(contextual.parser.parser_conf, strict=True).compute_lalr()  # raises on any conflict


def test_grammar_is_built_once() -> None:
    assert codexlang_parser() is codexlang_parser()
    assert codexlang_parser().options.parser == "lalr"


def test_name_pattern_matches_the_grammar() -> None:
    spec = re.search(r"^NAME: /(.*)/$", GRAMMAR.read_text(encoding="utf-8"), re.M)
    assert spec is not None and spec.group(1) == NAME_RE.pattern


def _same_parse(text: str, parsers: tuple[Lark, Lark]) -> None:
    results = []
    for parser in parsers:
        try:
            results.append(parser.parse(text))
        except UnexpectedInput:
            results.append(None)
    assert results[0] == results[1], text


_WORDS = [
    "until",
    "max",
    "repeat",
    "d/dt",
    "dt",
    "a",
    "⟲",
    "(",
    ")",
    "{",
    "}",
    "<",
    "1",
    " ",
    "\n",
    ";",
    "+",
    "⟦",
    "|",
    ":",
    "..",
    "@grid",
    "x",
    "=",
    ":=",
    "->",
    "∇",
    "·",
    "2",
    "e5",
    ".5",
    "²",
    "^",
    '"s"',
    "#c\n",
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_WORDS), max_size=25).map("".join))
def test_fast_lexer_agrees_with_lark_contextual_lexer(tree_parsers: tuple[Lark, Lark], text: str) -> None:
    _same_parse(text, tree_parsers)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scrolls())
def test_fast_lexer_agrees_on_valid_scrolls(tree_parsers: tuple[Lark, Lark], tree: object) -> None:
    _same_parse(to_text(tree), tree_parsers)  # type: ignore[arg-type]


def test_keywords_are_contextual() -> None:
    # `max` is the builtin where an operand goes and the keyword after a loop condition.
    scroll = parse("m = max(a, b)\n⟲ until max(a, 1) < max max max(2, 3) { }")
    loop = scroll.statements[1]
    assert to_text(loop) == "⟲ until max(a, 1) < max max max(2, 3) { }"
