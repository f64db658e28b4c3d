"""Turn lark's parse failures into `CodexSyntaxError`s that say, in words, what was expected.

Lark reports the offending token, the terminals the parser state accepts (`expected`) and its value
stack. From them we say "expected an operand after `⊗`", "expected `}` to close the loop opened at
line 2", "unexpected `)`". Lark's `match_examples` is not used: it matches a state only at the same
stack depth, so an example written on line 1 never matches the same mistake on line 3; the accepted
terminals and the open brackets on the stack identify the situations we name more reliably.
"""

from __future__ import annotations

import re

from lark import Token
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from ..errors import CodexSyntaxError
from ._transform import Signed
from .normalize import SourceMap

__all__ = ["from_lark", "located", "end_position"]

#: Terminal name → how a message says it.
WORDS: dict[str, str] = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a string",
    "DIRECTIVE": "a directive such as `@grid`",
    "SUPERSCRIPT": "a superscript power such as `²`",
    "PREFIX": "a prefix operator such as `∇`",
    "ARROW": "`->`",
    "CMP": "a comparison such as `<`",
    "ENT": "`↔`",
    "SUPOP": "`⊕` or `⊖`",
    "BOWTIE": "`⋈`",
    "PLUS": "`+`",
    "MINUS": "`-`",
    "MULOP": "a product `⊗`, `×` or `•`",
    "STAR": "`*`",
    "SLASH": "`/`",
    "CARET": "`^`",
    "LPAR": "`(`",
    "_RPAR": "`)`",
    "LSQB": "`[`",
    "_RSQB": "`]`",
    "_LBRACE": "`{`",
    "_RBRACE": "`}`",
    "NORM": "`‖`",
    "BAR": "`|`",
    "LREC": "`⟦`",
    "_RREC": "`⟧`",
    "_COMMA": "`,`",
    "_COLON": "`:`",
    "_DOTDOT": "`..`",
    "_DEFINE": "`:=`",
    "_ASSIGN": "`=`",
    "LOOP": "`⟲`",
    "REPEAT": "`repeat`",
    "UNTIL": "`until`",
    "MAX": "`max`",
    "_SEP": "a new line or `;`",
    "$END": "the end of the input",
}
_OPERAND_STARTS = frozenset(
    {"NAME", "NUMBER", "STRING", "PREFIX", "MINUS", "LPAR", "LSQB", "NORM", "BAR", "SUPOP", "ENT", "MULOP", "BOWTIE"}
)
_OPERATORS = frozenset(
    {"ARROW", "CMP", "ENT", "SUPOP", "BOWTIE", "PLUS", "MINUS", "MULOP", "STAR", "SLASH", "CARET", "SUPERSCRIPT"}
)
#: Tokens after which an operand must follow, worded as "an operand" (operators) or "an expression".
_NEEDS_OPERAND = _OPERATORS - {"SUPERSCRIPT"} | {"PREFIX"}
_NEEDS_EXPRESSION = frozenset({"_DEFINE", "_ASSIGN", "LPAR", "LSQB", "_COMMA", "NORM", "BAR", "UNTIL", "MAX", "_COLON"})
#: Opening token → (its closing terminal, how to name the open construct).
_OPENERS: dict[str, tuple[str, str]] = {
    "LPAR": ("_RPAR", "the `(`"),
    "LSQB": ("_RSQB", "the `[`"),
    "_LBRACE": ("_RBRACE", "the loop"),
    "LREC": ("_RREC", "the glyph record"),
    "NORM": ("NORM", "the norm `‖`"),
    "BAR": ("BAR", "the density `|`"),
}
_CLOSERS = {"_RPAR": "LPAR", "_RSQB": "LSQB", "_RBRACE": "_LBRACE", "_RREC": "LREC"}
_ENDS = frozenset({"$END", "_SEP"})
_RECORD_PARTS = frozenset({"BAR", "NAME", "STRING", "_COLON", "ARROW", "_RREC"})
_COMMENT_OR_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')


def located(message: str, line: int, column: int, smap: SourceMap, expected: tuple[str, ...] = ()) -> CodexSyntaxError:
    """A CodexSyntaxError at a normalized (line, column), reported at the original position."""
    line, column = smap.original_position(line, column)
    return CodexSyntaxError(message, line=line, column=column, source_line=smap.source_line(line), expected=expected)


def end_position(text: str) -> tuple[int, int]:
    """Line and column just after the last character of code (comments and trailing blanks skipped)."""
    lines = text.split("\n")
    for index in range(len(lines) - 1, -1, -1):
        code = _COMMENT_OR_STRING.sub(_keep_strings, lines[index]).rstrip()
        if code:
            return index + 1, len(code) + 1
    return 1, 1


def _keep_strings(match: re.Match[str]) -> str:
    """Drop a comment, keep a string (a `#` inside a string is not a comment)."""
    return match.group() if match.group().startswith('"') else ""


def from_lark(err: UnexpectedInput, smap: SourceMap) -> CodexSyntaxError:
    """The CodexSyntaxError for one of lark's UnexpectedInput errors."""
    if isinstance(err, UnexpectedToken):
        return _unexpected_token(err, smap)
    if isinstance(err, UnexpectedCharacters):
        return _unexpected_character(err, smap)
    line, column = end_position(smap.normalized)
    return located("the input ended too early", line, column, smap)


# ------------------------------------------------------------------------------------------- characters


def _unexpected_character(err: UnexpectedCharacters, smap: SourceMap) -> CodexSyntaxError:
    text = smap.normalized
    pos = err.pos_in_stream or 0
    char = text[pos]
    before = text[pos - 1] if pos > 0 else ""
    if char == '"':
        message = 'unterminated string: add the closing `"` on the same line'
    elif char == "μ":
        message = "`μ` is an operator letter and cannot be part of a name; write `mu` instead"
    elif char == "'":
        message = 'unexpected `\'`: strings are written with double quotes `"…"` and primes follow a name (`ψ′`)'
    elif char == "@":
        message = "a directive needs its name right after `@`, as in `@grid` or `@seed`"
    elif char == "." and before.isdigit():
        message = "a number cannot end with `.`; write `1.0` or `1`"
    elif char == "!":
        message = "unexpected `!`: write `!=` or `≠` for not-equal"
    elif char.isprintable():
        message = f"unexpected character `{char}`: it is not part of CodexLang; remove it"
    else:
        message = f"unexpected invisible character U+{ord(char):04X}; remove it"
    return located(message, err.line, err.column, smap)


# ---------------------------------------------------------------------------------------------- tokens


def _describe(tok: Token) -> str:
    """How a message names the token it did not expect ("unexpected …", "…, not …")."""
    kind = tok.type
    if kind == "$END":
        return "end of input"
    if kind == "_SEP":
        return "`;`" if str(tok).startswith(";") else "end of line"
    if kind == "NAME":
        return f"name `{tok}`"
    if kind == "NUMBER":
        return f"number `{tok}`"
    if kind == "STRING":
        return f"string `{tok}`"
    return f"`{tok}`"


def _expected_words(expected: set[str]) -> tuple[str, ...]:
    """The accepted terminals in words: operand starts become "an operand", operators "an operator"."""
    left = set(expected)
    words: list[str] = []
    if {"LOOP", "LREC", "DIRECTIVE"} <= left:
        words.append("a statement")
        left -= _OPERAND_STARTS | {"LOOP", "REPEAT", "LREC", "DIRECTIVE"}
    if {"NAME", "NUMBER", "LPAR"} <= left:
        words.append("an operand")
        left -= _OPERAND_STARTS
    if len(left & _OPERATORS) >= 4:
        words.append("an operator")
        left -= _OPERATORS
    if _ENDS <= left:
        words.append("the end of the statement")
        left -= _ENDS
    words.extend(sorted({WORDS.get(name, f"`{name}`") for name in left}))
    return tuple(words)


def _open_brackets(stack: list[object]) -> list[Token]:
    """The brackets still open on the parser's value stack, innermost last."""
    open_: list[Token] = []
    for index, item in enumerate(stack):
        if not isinstance(item, Token):
            continue
        kind = item.type
        if kind in ("NORM", "BAR"):
            in_record = kind == "BAR" and index >= 2 and getattr(stack[index - 2], "type", "") == "LREC"
            if in_record:
                continue
            if open_ and open_[-1].type == kind:
                open_.pop()
            else:
                open_.append(item)
        elif kind in _OPENERS:
            open_.append(item)
        elif kind in _CLOSERS and open_ and open_[-1].type == _CLOSERS[kind]:
            open_.pop()
    return open_


def _accepted(err: UnexpectedToken) -> set[str]:
    """The terminals that would let the parse go on here.

    The parse table's `expected` is shared by LALR-merged states, so it can list tokens that only fit
    elsewhere (`max` after any operand); lark's `accepts` replays each candidate on a copy of the parser
    stack, which is exact for this input.
    """
    try:
        accepts = err.accepts if err.interactive_parser is not None else None
    except LarkError:
        accepts = None
    return set(accepts) if accepts else set(err.expected or ())


def _close_message(opener: Token, stack: list[object]) -> str:
    """`expected `)` to close the `(` opened at line 1, column 5` (a loop says where its `⟲` is)."""
    closer, what = _OPENERS[opener.type]
    if opener.type == "_LBRACE":
        loops = [
            t
            for t in stack
            if isinstance(t, Token) and t.type in ("LOOP", "REPEAT") and (t.line or 0) <= (opener.line or 0)
        ]
        line = loops[-1].line if loops else opener.line
        return f"expected `}}` to close the loop opened at line {line}"
    return f"expected {WORDS[closer]} to close {what} opened at line {opener.line}, column {opener.column}"


def _unexpected_token(err: UnexpectedToken, smap: SourceMap) -> CodexSyntaxError:
    tok: Token = err.token
    expected = _accepted(err)
    stack: list[object] = list(getattr(err.state, "value_stack", ()) or ())
    message, line, column = _explain(tok, expected, stack, smap.normalized)
    return located(message, line, column, smap, _expected_words(expected))


def _start(tok: Token) -> tuple[int, int]:
    return tok.line or 1, tok.column or 1


def _end(tok: Token) -> tuple[int, int]:
    return tok.end_line or tok.line or 1, tok.end_column or tok.column or 1


def _explain(tok: Token, expected: set[str], stack: list[object], text: str) -> tuple[str, int, int]:
    """The message and the (normalized) place for an unexpected token."""
    kind = tok.type
    prev = stack[-1] if stack and isinstance(stack[-1], Token) else None
    prev_kind = prev.type if prev is not None else ""
    at_end = kind in _ENDS
    if kind == "$END":
        line, column = end_position(text)
    else:
        line, column = _start(tok)
    found = "" if at_end else f", not {_describe(tok)}"

    if prev is not None and prev_kind == "REPEAT" and kind in ("_ASSIGN", "_DEFINE"):
        return (
            "`repeat` is a keyword (the ASCII spelling of `⟲`) and cannot be bound; use another name",
            *_start(prev),
        )
    if prev_kind == "BOWTIE" and "LSQB" in expected:
        return f"expected `[φ]` after `⋈`: interference is written `a ⋈[φ] b`{found}", line, column
    if prev_kind in ("LOOP", "REPEAT"):
        return f"expected a count or `until` after `{prev}`, as in `⟲ 50 {{ … }}`{found}", line, column
    if kind in ("_ASSIGN", "_DEFINE"):
        sign = "=" if kind == "_ASSIGN" else ":="
        hint = "; use `==` to compare" if sign == "=" else ""
        return f"only a name can stand before `{sign}`, as in `ψ {sign} …`{hint}", line, column
    if prev is not None and {"NAME", "NUMBER"} <= expected:
        if at_end:
            line, column = _end(prev)
        if prev_kind in _NEEDS_OPERAND:
            hint = " (to divide `d` by `dt`, write `d / dt`)" if str(prev) == "d/dt" else ""
            return f"expected an operand after `{prev}`{found}{hint}", line, column
        if prev_kind in _NEEDS_EXPRESSION:
            return f"expected an expression after `{prev}`{found}", line, column
    if expected <= {"SUPERSCRIPT", "CARET"}:
        return f"expected `²` after `|…|`: a density is written `|e|²`{found}", line, column
    if "MAX" in expected:
        return (
            (f"expected `max` and an iteration bound after the loop condition, as in `⟲ until C max N {{ … }}`{found}"),
            line,
            column,
        )
    if "_LBRACE" in expected and kind != "_LBRACE":
        return f"expected `{{` to start the loop body, as in `⟲ 50 {{ … }}`{found}", line, column
    opened = _open_brackets(stack)
    if opened and _OPENERS[opened[-1].type][0] in expected and (at_end or kind in _CLOSERS):
        message = _close_message(opened[-1], stack)
        return (message if at_end else f"unexpected {_describe(tok)}: {message}"), line, column
    if kind in _CLOSERS and kind not in expected:
        return f"unexpected {_describe(tok)}: nothing open here to close; remove it", line, column
    if opened and opened[-1].type == "LREC" and expected <= _RECORD_PARTS:
        return (
            f"unexpected {_describe(tok)}: a glyph record is written `⟦ Type | Tag : Value -> Action ⟧`",
            line,
            column,
        )
    if _in_axis(stack) and expected & {"_COLON", "_DOTDOT", "NUMBER"}:
        return f"unexpected {_describe(tok)}: a grid axis is written `name:lo..hi:n`, as in `x:-1..1:256`", line, column
    if kind in _OPERAND_STARTS - {"MINUS"} and expected & _OPERATORS:
        if kind == "NAME" and tok.start_pos and text[tok.start_pos - 1].isdigit():
            return (
                f"a number and a name cannot touch (`…{text[tok.start_pos - 1]}{tok}`); write a product "
                "with `*`, as in `2*x`",
                line,
                column,
            )
        return (
            (
                f"unexpected {_describe(tok)}: two expressions cannot stand side by side; put an operator "
                "such as `*` between them, or start a new line"
            ),
            line,
            column,
        )
    words = _expected_words(expected)
    wanted = " or ".join(words) if len(words) <= 3 else ", ".join(words[:-1]) + " or " + words[-1]
    return f"unexpected {_describe(tok)}: expected {wanted}", line, column


def _in_axis(stack: list[object]) -> bool:
    """True while a `@grid` axis (`name:lo..hi:n`) is being read."""
    for item in reversed(stack):
        if isinstance(item, Signed):
            continue
        kind = item.type if isinstance(item, Token) else ""
        if kind == "_COLON":
            return any(isinstance(t, Token) and t.type == "DIRECTIVE" for t in stack)
        if kind not in ("NUMBER", "MINUS", "_DOTDOT"):
            return False
    return False
