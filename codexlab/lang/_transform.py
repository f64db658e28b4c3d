"""Grammar rules → Codex AST nodes, run inside the LALR parser (no parse tree is ever built).

The builder is embedded in the parser: lark calls the method named after a rule (or its alias) with
the rule's children as a list when it reduces that rule. So there is no recursion over a tree, and
deep nesting cannot overflow the Python stack here. Methods take the plain list, without lark's
`v_args` wrappers, because each wrapper is a Python call per reduction. Positions come from tokens (a
node's first token, or its first child node), 1-based as lark counts them.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, cast

from lark import Token

from . import ast
from ._lexicon import (
    BINARY_ALIASES,
    GLYPH_ARITY,
    INTERFERE_ALIAS,
    KEYWORDS,
    NORM_ALIAS,
    PARTIAL_CALLS,
    UNARY_ALIASES,
    binding_problem,
    canonical_op,
)

__all__ = ["NodeError", "AstBuilder", "Signed", "InterfereOp", "number_value", "string_value"]

_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
#: Precedence of the infix operator tokens (CODEXLANG.md levels 1–6, renumbered 1–7 as integers).
_CHAIN_LEVEL = {"ARROW": 1, "CMP": 2, "ENT": 3, "SUPOP": 4, "PLUS": 6, "MINUS": 6, "MULOP": 7, "STAR": 7, "SLASH": 7}
_COMPARISON_LEVEL = 2
_INTERFERE_LEVEL = 5


class NodeError(Exception):
    """A construct that parsed but is not valid CodexLang; the parser turns it into CodexSyntaxError."""

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line or 1
        self.column = column or 1


class Block:
    """The statements of a `{ … }` body, kept apart from the single statement of `⟲(n, stmt)`."""

    __slots__ = ("statements",)

    def __init__(self, statements: tuple[ast.Statement, ...]) -> None:
        self.statements = statements


class Signed:
    """A possibly negative number in a directive, with where it starts."""

    __slots__ = ("value", "line", "column")

    def __init__(self, value: int | float, line: int | None, column: int | None) -> None:
        self.value = value
        self.line = line or 1
        self.column = column or 1


class InterfereOp:
    """`⋈[φ]` met in an operator chain: the phase and the `⋈` token."""

    __slots__ = ("phase", "token")

    def __init__(self, phase: ast.Expr, token: Token) -> None:
        self.phase = phase
        self.token = token


def number_value(tok: Token) -> int | float:
    """The int or float a NUMBER token spells; finite and within Python's int text limit."""
    text = tok.value
    if "." in text or "e" in text or "E" in text:
        value = float(text)
        if math.isinf(value):
            raise NodeError(
                f"the number `{text}` is too large for a float; use a smaller exponent", tok.line, tok.column
            )
        return value
    try:
        return int(text)
    except ValueError as err:
        raise NodeError(
            f"the number `{text[:20]}…` has too many digits; write it with an exponent", tok.line, tok.column
        ) from err


def string_value(tok: Token) -> str:
    """The text of a STRING token without quotes; backslash escapes `n t r " \\`, other backslashes stay."""
    body: str = tok.value[1:-1]
    if "\\" not in body:
        return body
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), body)


def _label(tok: Token) -> str:
    """A record type, tag or action: a NAME as written, or the text of a STRING."""
    return string_value(tok) if tok.type == "STRING" else tok.value


def _split_args(args: list[ast.Expr | ast.Keyword], where: str) -> tuple[tuple[ast.Expr, ...], tuple[ast.Keyword, ...]]:
    """Positional and keyword arguments; positional ones come first and keywords do not repeat."""
    positional: list[ast.Expr] = []
    keywords: list[ast.Keyword] = []
    for arg in args:
        if isinstance(arg, ast.Keyword):
            if any(k.name == arg.name for k in keywords):
                raise NodeError(
                    f"the keyword argument `{arg.name}` is given twice in `{where}(…)`; keep one", arg.line, arg.column
                )
            keywords.append(arg)
        elif keywords:
            raise NodeError(
                f"a positional argument follows the keyword argument `{keywords[-1].name}` in "
                f"`{where}(…)`; put positional arguments first",
                arg.line,
                arg.column,
            )
        else:
            positional.append(arg)
    return tuple(positional), tuple(keywords)


def _glyph_node(
    glyph: str, args: tuple[ast.Expr, ...], kwargs: tuple[ast.Keyword, ...], line: int, column: int
) -> ast.Expr:
    """A glyph called as a function: its operator node at the operator's arity, else a `Call`."""
    arity = GLYPH_ARITY[glyph]
    if kwargs or len(args) != arity:
        return ast.Call(glyph, args, kwargs, line=line, column=column)
    if arity == 1:
        return ast.Unary(glyph, args[0], line=line, column=column)
    if arity == 2:
        return ast.Binary(glyph, args[0], args[1], line=line, column=column)
    return ast.Interfere(args[0], args[1], args[2], line=line, column=column)


def _binding(tok: Token, verb: str) -> str:
    """The name bound by `:=` or `=`, unless it is reserved."""
    problem = binding_problem(tok.value, verb)
    if problem is not None:
        raise NodeError(problem, tok.line, tok.column)
    return cast(str, tok.value)


def _keyword_used_as_name(tok: Token) -> NodeError:
    return NodeError(
        f"`{tok.value}` is a keyword (the ASCII spelling of `⟲`), not a name; use another name", tok.line, tok.column
    )


def _fold(operands: list[ast.Expr], pending: list[tuple[int, Token | InterfereOp]]) -> None:
    """Replace the last two operands by the node of the last pending operator."""
    _, op = pending.pop()
    right = operands.pop()
    left = operands.pop()
    if isinstance(op, InterfereOp):
        operands.append(ast.Interfere(left, right, op.phase, line=left.line, column=left.column))
    else:
        operands.append(ast.Binary(canonical_op(op.value), left, right, line=left.line, column=left.column))


def _directive_value(value: Signed | Token) -> int | float | str:
    """A directive argument: a number, a bare word, or the text of a string."""
    if isinstance(value, Signed):
        return value.value
    return string_value(value) if value.type == "STRING" else cast(str, value.value)


class AstBuilder:
    """One method per grammar rule (or alias); each gets the rule's children and returns its node."""

    # ------------------------------------------------------------------------------------ statements

    def start(self, c: list[Any]) -> ast.Scroll:
        return ast.Scroll(tuple(c), line=1, column=1)

    def expr_stmt(self, c: list[Any]) -> ast.ExprStmt:
        value = c[0]
        return ast.ExprStmt(value, line=value.line, column=value.column)

    def definition(self, c: list[Any]) -> ast.Definition:
        name, value = c
        return ast.Definition(_binding(name, "defined"), value, line=name.line, column=name.column)

    def assignment(self, c: list[Any]) -> ast.Assignment:
        name, value = c
        return ast.Assignment(_binding(name, "assigned"), value, line=name.line, column=name.column)

    def directive(self, c: list[Any]) -> ast.Directive:
        tok = c[0]
        return ast.Directive(tok.value[1:], tuple(c[1:]), line=tok.line, column=tok.column)

    def signed(self, c: list[Any]) -> Signed:
        value = number_value(c[-1])
        return Signed(-value if len(c) == 2 else value, c[0].line, c[0].column)

    def axis(self, c: list[Any]) -> ast.AxisSpec:
        name, lo, hi, n = c
        points = number_value(n)
        if not isinstance(points, int):
            raise NodeError(
                f"the axis `{name.value}` needs a whole number of points, not `{n.value}`; write e.g. `:256`",
                n.line,
                n.column,
            )
        return ast.AxisSpec(name.value, lo.value, hi.value, points, line=name.line, column=name.column)

    def option(self, c: list[Any]) -> ast.Option:
        key, value = c
        return ast.Option(key.value, _directive_value(value), line=key.line, column=key.column)

    def word(self, c: list[Any]) -> ast.Word:
        value = c[0]
        return ast.Word(_directive_value(value), line=value.line, column=value.column)

    def block(self, c: list[Any]) -> Block:
        return Block(tuple(c))

    def loop(self, c: list[Any]) -> ast.Loop:
        kw = c[0]
        if len(c) == 3:
            return ast.Loop(c[2].statements, count=c[1], line=kw.line, column=kw.column)
        if len(c) == 6:
            return ast.Loop(c[5].statements, until=c[2], max=c[4], line=kw.line, column=kw.column)
        body = c[3]
        statements = body.statements if isinstance(body, Block) else (body,)
        return ast.Loop(statements, count=c[2], line=kw.line, column=kw.column)

    def record(self, c: list[Any]) -> ast.GlyphRecord:
        lrec, kind, _bar, tag, *rest = c
        value = rest[0] if rest and not isinstance(rest[0], Token) else None
        action = _label(rest[-1]) if len(rest) >= 2 and isinstance(rest[-2], Token) else None
        return ast.GlyphRecord(kind.value, _label(tag), value, action, line=lrec.line, column=lrec.column)

    # ----------------------------------------------------------------------------------- expressions

    def chain(self, c: list[Any]) -> ast.Expr:
        """Group `unit op unit op …` by precedence (all levels left-associative, comparisons not chaining)."""
        operands: list[ast.Expr] = [c[0]]
        pending: list[tuple[int, Token | InterfereOp]] = []
        for k in range(1, len(c), 2):
            op = c[k]
            level = _INTERFERE_LEVEL if isinstance(op, InterfereOp) else _CHAIN_LEVEL[op.type]
            while pending and pending[-1][0] >= level:
                if level == _COMPARISON_LEVEL == pending[-1][0]:
                    first = pending[-1][1]
                    raise NodeError(
                        f"comparisons cannot be chained (`{first}` then `{op}`); compare two "
                        "values at a time or parenthesize one side",
                        op.line,
                        op.column,
                    )
                _fold(operands, pending)
            pending.append((level, op))
            operands.append(c[k + 1])
        while pending:
            _fold(operands, pending)
        return operands[0]

    def interfere_op(self, c: list[Any]) -> InterfereOp:
        return InterfereOp(c[2], c[0])

    def binary(self, c: list[Any]) -> ast.Binary:
        left, op, right = c
        return ast.Binary(canonical_op(op.value), left, right, line=left.line, column=left.column)

    def superscript(self, c: list[Any]) -> ast.Binary:
        base, sup = c
        power = ast.Number(int(sup.value.translate(_SUPERSCRIPT_DIGITS)), line=sup.line, column=sup.column)
        return ast.Binary("^", base, power, line=base.line, column=base.column)

    def superscript_power(self, c: list[Any]) -> ast.Binary:
        base, sup, _caret, exponent = c
        squared = self.superscript([base, sup])
        return ast.Binary("^", squared, exponent, line=base.line, column=base.column)

    def unary(self, c: list[Any]) -> ast.Unary:
        op, operand = c
        return ast.Unary(canonical_op(op.value), operand, line=op.line, column=op.column)

    def number(self, c: list[Any]) -> ast.Number:
        tok = c[0]
        return ast.Number(number_value(tok), line=tok.line, column=tok.column)

    def string(self, c: list[Any]) -> ast.String:
        tok = c[0]
        return ast.String(string_value(tok), line=tok.line, column=tok.column)

    def name(self, c: list[Any]) -> ast.Name:
        tok = c[0]
        if tok.value in KEYWORDS:
            raise _keyword_used_as_name(tok)
        return ast.Name(tok.value, line=tok.line, column=tok.column)

    def kwarg(self, c: list[Any]) -> ast.Keyword:
        name, value = c
        return ast.Keyword(name.value, value, line=name.line, column=name.column)

    def call(self, c: list[Any]) -> ast.Expr:
        func = c[0]
        name: str = func.value
        if name in KEYWORDS:
            raise _keyword_used_as_name(func)
        args, kwargs = _split_args(c[2:], name)
        line, column = func.line, func.column
        glyph = UNARY_ALIASES.get(name) or BINARY_ALIASES.get(name)
        if name == INTERFERE_ALIAS:
            glyph = "⋈"
        if glyph is not None:
            return _glyph_node(glyph, args, kwargs, line, column)
        if len(args) == 1 and not kwargs:
            if name == NORM_ALIAS:
                return ast.Norm(args[0], line=line, column=column)
            if name in PARTIAL_CALLS:
                return ast.Unary(PARTIAL_CALLS[name], args[0], line=line, column=column)
        return ast.Call(name, args, kwargs, line=line, column=column)

    def glyph_call(self, c: list[Any]) -> ast.Expr:
        glyph = canonical_op(c[0].value)
        args, kwargs = _split_args(c[2:], glyph)
        return _glyph_node(glyph, args, kwargs, c[0].line, c[0].column)

    def paren(self, c: list[Any]) -> ast.Expr:
        lpar, inner = c
        return dataclasses.replace(inner, line=lpar.line, column=lpar.column)

    def vector(self, c: list[Any]) -> ast.Vector:
        return ast.Vector(tuple(c[1:]), line=c[0].line, column=c[0].column)

    def norm(self, c: list[Any]) -> ast.Norm:
        return ast.Norm(c[1], line=c[0].line, column=c[0].column)

    def density(self, c: list[Any]) -> ast.Density:
        power = c[-1]
        if power.value not in ("²", "2"):
            raise NodeError(
                f"a density is written `|e|²` (or `|e|^2`), not with the power `{power.value}`; "
                "for other powers write `abs(e)^n`",
                power.line,
                power.column,
            )
        return ast.Density(c[1], line=c[0].line, column=c[0].column)
