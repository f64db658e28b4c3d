"""`parse` and `parse_expr`: CodexLang text → Codex AST (plan name `codexlang_parser`).

The grammar lives in `codexlang.lark` beside this file and is compiled once per process (LALR(1),
contextual lexer); its LALR tables are cached on disk (`codexlab.caches`, keyed by the grammar's hash),
so a new process loads them instead of analysing the grammar again. The AST builder runs inside the
parser, so no parse tree is built and no recursion happens while parsing; a nesting guard then keeps
every tree shallow enough for the recursive stages after it (printer, Photon, SymPy).
"""

from __future__ import annotations

import dataclasses
import re
from functools import lru_cache
from typing import cast

from lark import Lark
from lark.exceptions import UnexpectedInput

from .._version import __version__
from ..caches import cache_dir
from ..errors import CodexSyntaxError, CodexTypeError
from . import ast
from ._lexer import CodexLexer
from ._syntax import from_lark, located
from ._transform import AstBuilder, NodeError
from .normalize import SourceMap, normalize_with_map

__all__ = ["parse", "parse_expr", "MAX_DEPTH", "codexlang_parser"]

#: The deepest tree `parse` returns (nodes from the Scroll down); deeper input is a CodexSyntaxError.
MAX_DEPTH = 200
_BRACES = re.compile(r"[{}]")


@lru_cache(maxsize=1)
def codexlang_parser() -> Lark:
    """The compiled grammar with the AST builder embedded (built on first use, then cached)."""
    folder = cache_dir("lark")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:  # no writable cache: Lark builds the tables (and fails to save them) quietly
        pass
    return Lark.open(
        "codexlang.lark",
        rel_to=__file__,
        parser="lalr",
        lexer=CodexLexer,
        transformer=AstBuilder(),
        maybe_placeholders=False,
        # Lark checks the file's grammar hash (grammar, options, Lark and Python versions) before use.
        cache=str(folder / f"codexlang-{__version__}.lark"),
    )


def parse(text: str) -> ast.Scroll:
    """Parse a scroll into its AST, every node carrying its 1-based line and column.

    Args:
        text: CodexLang source; lookalike glyphs are normalized first (see `codexlab.lang.normalize`).

    Returns:
        The `Scroll` of statements in source order (empty for empty or comment-only text).

    Raises:
        CodexSyntaxError: the text does not parse; it carries the line, the column (in the original
            text), the source line with a caret and the expected tokens in words.
        CodexTypeError: `text` is not a string.
    """
    if not isinstance(text, str):
        raise CodexTypeError(
            f"`parse` takes CodexLang text (a str), not `{type(text).__name__}`; pass the scroll's source"
        )
    smap = normalize_with_map(text)
    try:
        scroll = cast(ast.Scroll, codexlang_parser().parse(smap.normalized))
    except UnexpectedInput as err:
        raise from_lark(err, smap) from err
    except NodeError as err:
        raise located(err.message, err.line, err.column, smap) from err
    _check_depth(scroll, smap)
    if smap.removed:
        scroll = cast(ast.Scroll, _remap(scroll, smap))
    return scroll


def parse_expr(text: str) -> ast.Expr:
    """Parse a single expression (`"∇ψ • ∇ψ"`); anything else is a CodexSyntaxError."""
    scroll = parse(text)
    statements = scroll.statements
    if len(statements) == 1 and isinstance(statements[0], ast.ExprStmt):
        return statements[0].value
    smap = normalize_with_map(text)
    if not statements:
        raise CodexSyntaxError(
            "expected an expression, got empty text",
            line=1,
            column=1,
            source_line=smap.source_line(1),
            expected=("an operand",),
        )
    where = statements[1] if len(statements) > 1 else statements[0]
    what = "more than one statement" if len(statements) > 1 else f"a {_kind(where)}"
    raise CodexSyntaxError(
        f"expected a single expression, got {what}; pass just the expression",
        line=where.line,
        column=where.column,
        source_line=smap.source_line(where.line),
        expected=("an operand",),
    )


def _kind(statement: ast.Statement) -> str:
    return {
        ast.Definition: "definition",
        ast.Assignment: "assignment",
        ast.Directive: "directive",
        ast.Loop: "loop",
        ast.GlyphRecord: "glyph record",
    }.get(type(statement), "statement")


def _children(node: ast.Node) -> list[ast.Node]:
    """The AST nodes directly under `node` (any field holding a node or a tuple of nodes)."""
    out: list[ast.Node] = []
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, ast.Node):
            out.append(value)
        elif isinstance(value, tuple):
            out.extend(v for v in value if isinstance(v, ast.Node))
    return out


def _depth_bound(text: str) -> int:
    """An upper bound of the tree depth: one line holds at most one level per character, and only loop
    bodies (`{ … }`) carry nesting from one line to the next."""
    longest = max(map(len, text.split("\n")))
    braces = 0
    deepest = 0
    for brace in _BRACES.findall(text):
        braces += 1 if brace == "{" else -1
        deepest = max(deepest, braces)
    return 1 + 3 * deepest + longest


def _check_depth(scroll: ast.Scroll, smap: SourceMap) -> None:
    """Raise CodexSyntaxError("nesting is too deep") for a tree deeper than MAX_DEPTH."""
    if _depth_bound(smap.normalized) <= MAX_DEPTH:
        return
    stack: list[tuple[ast.Node, int]] = [(scroll, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise located(
                f"nesting is too deep (more than {MAX_DEPTH} levels, each operator of a long chain "
                "such as `a + b + …` counting as one); split the expression into named parts",
                node.line,
                node.column,
                smap,
            )
        stack.extend((child, depth + 1) for child in _children(node))


def _remap(node: ast.Node, smap: SourceMap) -> ast.Node:
    """The same tree with positions moved to the original text (after invisible characters were removed)."""
    changes: dict[str, object] = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, ast.Node):
            changes[f.name] = _remap(value, smap)
        elif isinstance(value, tuple) and any(isinstance(v, ast.Node) for v in value):
            changes[f.name] = tuple(_remap(v, smap) if isinstance(v, ast.Node) else v for v in value)
    line, column = smap.original_position(node.line, node.column)
    return dataclasses.replace(node, line=line, column=column, **changes)
