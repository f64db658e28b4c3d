"""`to_text`: Codex AST → canonical CodexLang text, such that `parse(to_text(tree)) == tree`.

Canonical form: Unicode glyphs, the fewest parentheses the precedence table allows, spaces around
binary operators except `^`, one statement per line, loop bodies inline as `{ a; b }`. Floats print
with `repr` (so they re-parse to the same float), ints as digits; a negative number prints as a
negation. Labels and directive words print bare when they are names, quoted otherwise.
"""

from __future__ import annotations

import math
import re
from typing import cast

from ..errors import CodexSyntaxError, CodexValueError
from . import ast
from ._lexicon import NAME_RE
from .normalize import normalize

__all__ = ["to_text"]

_LEVEL = {
    "->": 1,
    "<": 2,
    ">": 2,
    "≤": 2,
    "≥": 2,
    "==": 2,
    "≠": 2,
    "↔": 3,
    "⊕": 4,
    "⊖": 4,
    "+": 6,
    "-": 6,
    "⊗": 7,
    "×": 7,
    "•": 7,
    "*": 7,
    "/": 7,
    "^": 9,
}
_COMPARISON = 2
_INTERFERE = 5
_PREFIX = 8
_ATOM = 10
_SPACED_PREFIX = ("d/dt", "∂x", "∂y", "∂z", "∂t")
_STATEMENTS = (ast.Directive, ast.Definition, ast.Assignment, ast.ExprStmt, ast.Loop, ast.GlyphRecord)
_STRING_ESCAPES = str.maketrans({"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_STARTS_WITH_UNTIL = re.compile(r"until(?![\w′″‴])")


def to_text(node: ast.Node) -> str:
    """Print any AST node (a Scroll, a statement, an expression or a directive argument) as CodexLang.

    Raises:
        CodexValueError: the node holds something CodexLang cannot spell (a non-finite number, a loop
            with neither a count nor a condition, a record type that is not a name).
        CodexSyntaxError: the tree is nested too deeply to print.
    """
    try:
        return _node(node)
    except RecursionError as err:
        raise CodexSyntaxError(
            "nesting is too deep to print; split the expression into named parts",
            line=node.line or 1,
            column=node.column or 1,
        ) from err


def _node(node: ast.Node) -> str:
    if isinstance(node, ast.Scroll):
        lines = [_statement(s) for s in node.statements]
        return "\n".join(lines) + "\n" if lines else ""
    if isinstance(node, (ast.AxisSpec, ast.Option, ast.Word)):
        return _directive_arg(node)
    if isinstance(node, ast.Keyword):
        return f"{node.name}={_expr(node.value)[0]}"
    if isinstance(node, _STATEMENTS):
        return _statement(node)
    return _expr(cast(ast.Expr, node))[0]


# ----------------------------------------------------------------------------------------- statements


def _statement(s: ast.Statement) -> str:
    if isinstance(s, ast.Definition):
        return f"{s.name} := {_expr(s.value)[0]}"
    if isinstance(s, ast.Assignment):
        return f"{s.name} = {_expr(s.value)[0]}"
    if isinstance(s, ast.ExprStmt):
        return _expr(s.value)[0]
    if isinstance(s, ast.Loop):
        return _loop(s)
    if isinstance(s, ast.GlyphRecord):
        return _record(s)
    if isinstance(s, ast.Directive):
        args = ", ".join(_directive_arg(a) for a in s.args)
        return f"@{s.name} {args}" if args else f"@{s.name}"
    raise CodexValueError(f"`to_text` cannot print a `{type(s).__name__}` as a statement; pass a Codex AST node")


def _loop(loop: ast.Loop) -> str:
    body = "; ".join(_statement(s) for s in loop.body)
    block = f"{{ {body} }}" if body else "{ }"
    if loop.until is not None:
        if loop.max is None:
            raise CodexValueError("an until-loop needs a bound (`max`) to print; set `Loop.max`")
        return f"⟲ until {_expr(loop.until)[0]} max {_expr(loop.max)[0]} {block}"
    if loop.count is None:
        raise CodexValueError("a loop needs a `count` or an `until` condition to print; set one of them")
    count = _expr(loop.count)[0]
    if _STARTS_WITH_UNTIL.match(count):
        count = f"({count})"
    return f"⟲ {count} {block}"


def _record(record: ast.GlyphRecord) -> str:
    if not _is_bare(record.type):
        raise CodexValueError(f"a glyph record type must be a name, not `{record.type}`; use e.g. `Goal`")
    text = f"⟦ {record.type} | {_word(record.tag)}"
    if isinstance(record.value, ast.Loop):
        text += f" : {_loop(record.value)}"
    elif record.value is not None:
        text += f" : {_operand(record.value, _COMPARISON)}"
    if record.action is not None:
        text += f" -> {_word(record.action)}"
    return text + " ⟧"


def _directive_arg(arg: ast.AxisSpec | ast.Option | ast.Word) -> str:
    if isinstance(arg, ast.AxisSpec):
        return f"{arg.name}:{_signed(arg.lo)}..{_signed(arg.hi)}:{_signed(arg.n)}"
    if isinstance(arg, ast.Option):
        return f"{arg.key}={_value(arg.value)}"
    return _value(arg.value)


def _value(value: int | float | str) -> str:
    return _word(value) if isinstance(value, str) else _signed(value)


def _is_bare(word: str) -> bool:
    """True when `word` lexes back as the same single NAME token."""
    return NAME_RE.fullmatch(word) is not None and normalize(word) == word


def _word(word: str) -> str:
    return word if _is_bare(word) else _string(word)


def _string(value: str) -> str:
    return '"' + value.translate(_STRING_ESCAPES) + '"'


def _signed(value: int | float) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CodexValueError(f"expected a number, not `{value!r}`; CodexLang numbers are ints or floats")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CodexValueError(f"`{value}` has no CodexLang literal; use a finite number")
        return repr(value)
    return str(value)


# ---------------------------------------------------------------------------------------- expressions


def _operand(e: ast.Expr, level: int) -> str:
    """The text of `e` where an expression of at least `level` is needed (parenthesized otherwise)."""
    text, own = _expr(e)
    return text if own >= level else f"({text})"


def _expr(e: ast.Expr) -> tuple[str, int]:
    """The text of `e` and the precedence level of its outermost operator."""
    if isinstance(e, ast.Name):
        return e.id, _ATOM
    if isinstance(e, ast.Number):
        text = _signed(e.value)
        return text, (_PREFIX if text.startswith("-") else _ATOM)
    if isinstance(e, ast.Binary):
        return _binary(e)
    if isinstance(e, ast.Unary):
        return _unary(e), _PREFIX
    if isinstance(e, ast.Call):
        return f"{e.func}({_arguments(e.args, e.kwargs)})", _ATOM
    if isinstance(e, ast.String):
        return _string(e.value), _ATOM
    if isinstance(e, ast.Interfere):
        left = _operand(e.left, _INTERFERE)
        right = _operand(e.right, _INTERFERE + 1)
        return f"{left} ⋈[{_expr(e.phase)[0]}] {right}", _INTERFERE
    if isinstance(e, ast.Vector):
        return "[" + ", ".join(_expr(i)[0] for i in e.items) + "]", _ATOM
    if isinstance(e, ast.Norm):
        return f"‖{_expr(e.operand)[0]}‖", _ATOM
    if isinstance(e, ast.Density):
        return f"|{_expr(e.operand)[0]}|²", _ATOM
    raise CodexValueError(f"`to_text` cannot print a `{type(e).__name__}` as an expression; pass a Codex AST node")


def _binary(e: ast.Binary) -> tuple[str, int]:
    level = _LEVEL.get(e.op)
    if level is None:
        raise CodexValueError(f"unknown binary operator `{e.op}`; expected one of {', '.join(ast.BINARY_OPS)}")
    if e.op == "^":
        return f"{_operand(e.left, _ATOM)}^{_operand(e.right, _PREFIX)}", level
    left_level = level + 1 if level == _COMPARISON else level
    return f"{_operand(e.left, left_level)} {e.op} {_operand(e.right, level + 1)}", level


def _unary(e: ast.Unary) -> str:
    if e.op not in ast.UNARY_OPS:
        raise CodexValueError(f"unknown prefix operator `{e.op}`; expected one of {', '.join(ast.UNARY_OPS)}")
    operand = _operand(e.operand, _PREFIX)
    if e.op in _SPACED_PREFIX:
        return f"{e.op} {operand}"
    if e.op == "∇" and operand[:1] in ("·", "•", "×"):
        # `∇` directly before a dot or cross would read as `∇·` or `∇×`.
        return f"∇({operand})"
    return e.op + operand


def _arguments(args: tuple[ast.Expr, ...], kwargs: tuple[ast.Keyword, ...]) -> str:
    parts = [_expr(a)[0] for a in args]
    parts.extend(f"{k.name}={_expr(k.value)[0]}" for k in kwargs)
    return ", ".join(parts)
