"""The scroll injector (plan name `codex_scroll_injector`): put statements into a scroll at a place."""

from __future__ import annotations

from collections.abc import Iterable

from ...errors import CodexNameError, CodexValueError, did_you_mean
from .. import ast
from ..parser import parse
from .builder import as_statements

__all__ = ["inject", "label_of", "codex_scroll_injector"]


def label_of(statement: ast.Statement) -> str | None:
    """The label of a statement: the name a definition or assignment binds, or a glyph record's tag."""
    if isinstance(statement, (ast.Definition, ast.Assignment)):
        return statement.name
    if isinstance(statement, ast.GlyphRecord):
        return statement.tag
    return None


def _index_of(statements: tuple[ast.Statement, ...], label: str) -> int:
    """Index of the first top-level statement with this label."""
    labels = [label_of(s) for s in statements]
    if label in labels:
        return labels.index(label)
    known = sorted({lab for lab in labels if lab is not None})
    listing = ", ".join(f"`{lab}`" for lab in known) or "none"
    raise CodexNameError(
        f"no statement labelled `{label}` in the scroll{did_you_mean(label, known)}; labels "
        f"are the names bound by `:=`/`=` and glyph record tags: {listing}"
    )


def inject(
    scroll: ast.Scroll | str,
    statements: ast.Scroll | ast.Statement | str | Iterable[ast.Statement | str],
    at: int | str | None = None,
    replace: bool = False,
) -> ast.Scroll:
    """A new scroll with `statements` put in at a place (the original is unchanged).

    Args:
        scroll: the scroll, as an AST or as text.
        statements: what to put in: statements, a Scroll, or CodexLang text.
        at: where. None: at the end. An int: before the statement at that index (negative counts from
            the end), or with `replace` the statement at that index. A label (the name a top-level
            `:=`/`=` binds, or a glyph record's tag; the first one wins): right after that statement,
            so the new code sees its binding, or with `replace` instead of it.
        replace: replace the statement at `at` instead of inserting.

    Raises:
        CodexNameError: no top-level statement has that label (with a did-you-mean).
        CodexValueError: the index is out of range, or `replace` without a place.
        CodexSyntaxError: text does not parse.
    """
    base = parse(scroll) if isinstance(scroll, str) else scroll
    existing = base.statements
    new = as_statements(statements)
    size = len(existing)
    if at is None:
        if replace:
            raise CodexValueError("`replace=True` needs a place: pass `at=` an index or a label")
        return ast.Scroll(existing + new, line=base.line, column=base.column)
    if isinstance(at, str):
        index = _index_of(existing, at)
        start, stop = (index, index + 1) if replace else (index + 1, index + 1)
    elif isinstance(at, int) and not isinstance(at, bool):
        index = at + size if at < 0 else at
        limit = size - 1 if replace else size
        if replace and size == 0:
            raise CodexValueError("the scroll is empty, so there is nothing to replace; insert with `replace=False`")
        if not 0 <= index <= limit:
            raise CodexValueError(f"`at={at}` is out of range for a scroll of {size} statements; use {-size}..{limit}")
        start, stop = (index, index + 1) if replace else (index, index)
    else:
        raise CodexValueError(f"`at` must be an index, a label or None, not `{type(at).__name__}`")
    return ast.Scroll(existing[:start] + new + existing[stop:], line=base.line, column=base.column)


codex_scroll_injector = inject
