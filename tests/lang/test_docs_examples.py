"""docs/language.md stays true: its `codex` blocks parse and round-trip, its error example is what the parser says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from codexlab.errors import CodexSyntaxError
from codexlab.lang import ast, parse, to_text
from codexlab.lang._lexicon import BINARY_ALIASES, INTERFERE_ALIAS, NORM_ALIAS, PARTIAL_CALLS, UNARY_ALIASES
from codexlab.lang.normalize import _ONE_TO_ONE, normalize

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _blocks(text: str, tag: str) -> list[str]:
    """The bodies of the fenced blocks whose info string is exactly `tag`, in order."""
    return [body for info, body in _FENCE.findall(text) if info.strip() == tag]


def _section(text: str, start: str, end: str | None) -> str:
    """The text from the heading or sentence `start` up to `end` (or the end of the page)."""
    begin = text.index(start)
    return text[begin : text.index(end, begin) if end is not None else len(text)]


CODEX_BLOCKS = _blocks(_text(), "codex")


def test_the_page_has_codex_examples() -> None:
    assert len(CODEX_BLOCKS) >= 5


@pytest.mark.parametrize("source", CODEX_BLOCKS, ids=[f"block{k}" for k in range(len(CODEX_BLOCKS))])
def test_codex_block_parses_and_round_trips(source: str) -> None:
    tree = parse(source)
    assert tree.statements, "an example block should hold at least one statement"
    text = to_text(tree)
    assert parse(text) == tree
    assert to_text(parse(text)) == text


def test_ascii_and_glyph_spellings_give_equal_trees() -> None:
    section = _section(_text(), "The same statements spelled in ASCII", "## Lookalike normalization")
    ascii_block, glyph_block = _blocks(section, "codex")
    assert parse(ascii_block) == parse(glyph_block)


def test_glyph_table_names_every_operator_and_word() -> None:
    section = _section(_text(), "## Glyphs", "## Lookalike normalization")
    for op in (*ast.UNARY_OPS, *ast.BINARY_OPS):
        assert f"`{op}" in section or f" {op}" in section, op
    for word in (*UNARY_ALIASES, *BINARY_ALIASES, *PARTIAL_CALLS, INTERFERE_ALIAS, NORM_ALIAS):
        assert f"`{word}(" in section, word


def test_lookalike_table_lists_every_rewrite() -> None:
    section = _section(_text(), "## Lookalike normalization", "## Builtins")
    for written, canonical in _ONE_TO_ONE.items():
        assert written in section, f"U+{ord(written):04X} ({written!r} -> {canonical!r}) is not in the table"
        assert normalize(written) == canonical


def test_error_example_is_what_the_parser_says() -> None:
    section = _section(_text(), "## Errors", None)
    (source,) = _blocks(section, "text")
    (console,) = _blocks(section, "console")
    (session,) = _blocks(section, "python")
    with pytest.raises(CodexSyntaxError) as info:
        parse(source)
    err = info.value
    command, *printed = console.rstrip("\n").split("\n")
    assert command.startswith("$ codexlab run ")
    assert "\n".join(printed) == f"CodexSyntaxError: {err}"
    assert session.rstrip("\n").split("\n")[-1] == f"{err.line} {err.column} {err.expected}"
