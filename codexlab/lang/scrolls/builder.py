"""The scroll builder (plan name `codex_scroll_builder`): AST or statements → canonical CodexLang text."""

from __future__ import annotations

from collections.abc import Iterable

from ...errors import CodexValueError
from .. import ast
from ..parser import parse
from ..printer import to_text

__all__ = ["build_scroll", "as_statements", "codex_scroll_builder"]

_STATEMENT_TYPES = (ast.Directive, ast.Definition, ast.Assignment, ast.ExprStmt, ast.Loop, ast.GlyphRecord)


def as_statements(
    source: ast.Scroll | ast.Statement | str | Iterable[ast.Statement | str],
) -> tuple[ast.Statement, ...]:
    """Statements from a Scroll, one statement, CodexLang text, or an iterable mixing statements and text."""
    if isinstance(source, ast.Scroll):
        return source.statements
    if isinstance(source, _STATEMENT_TYPES):
        return (source,)
    if isinstance(source, str):
        return parse(source).statements
    if isinstance(source, ast.Node):
        raise CodexValueError(
            f"expected statements, not the expression node `{type(source).__name__}`; wrap it as `ast.ExprStmt(expr)`"
        )
    out: list[ast.Statement] = []
    for item in source:
        out.extend(as_statements(item))
    return tuple(out)


def build_scroll(source: ast.Scroll | ast.Statement | str | Iterable[ast.Statement | str]) -> str:
    """Canonical CodexLang text for a scroll, checked to parse back to the same AST.

    Args:
        source: a `Scroll`, one statement, CodexLang text (re-printed canonically), or an iterable of
            statements and text fragments, in order.

    Returns:
        The text, one statement per line, ending with a newline (empty for no statements).

    Raises:
        CodexValueError: the statements hold something CodexLang cannot spell, or a hand-built node
            that would read back differently (such as `Call("⊕", (a, b))`, which parses as `a ⊕ b`).
        CodexSyntaxError: a text fragment does not parse.
    """
    scroll = ast.Scroll(as_statements(source))
    text = to_text(scroll)
    if parse(text) != scroll:
        raise CodexValueError(
            "the statements do not read back as the same scroll (a hand-built node has no "
            "canonical spelling, e.g. a glyph `Call` with its operator's arity); build it "
            "with the operator node instead"
        )
    return text


codex_scroll_builder = build_scroll
