"""A one-regex lexer for the CodexLang grammar, plugged into lark's LALR parser.

CodexLang's terminals do not depend on the parser state except three keywords that are also valid
names (`until`, `max`, `repeat`): `max` is a builtin, so it is a keyword only where the parser accepts
the keyword. This lexer therefore tries all terminals at once, in lark's own order (priority, then
longest pattern), and asks the parser state only for those three words. It gives the same tokens as
lark's contextual lexer at about half its cost per token (a test checks they agree).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lark.common import LexerConf
from lark.exceptions import UnexpectedCharacters
from lark.lexer import Lexer, LexerState, PatternStr, Token

__all__ = ["CodexLexer"]


class CodexLexer(Lexer):
    """Lex with one compiled alternation; keywords that look like names are settled by the parser state."""

    __future_interface__ = 2

    def __init__(self, conf: LexerConf) -> None:
        terminals = sorted(
            conf.terminals,
            key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name),
        )
        name_re = re.compile(next(t for t in terminals if t.name == "NAME").pattern.to_regexp())
        self.keywords = {
            t.pattern.value: t.name
            for t in terminals
            if isinstance(t.pattern, PatternStr) and name_re.fullmatch(t.pattern.value)
        }
        keyword_types = set(self.keywords.values())
        alternatives = "|".join(
            f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals if t.name not in keyword_types
        )
        self.master = re.compile(alternatives, conf.g_regex_flags)
        self.ignore = frozenset(conf.ignore)
        self.multiline = frozenset(
            t.name for t in terminals if "\\n" in t.pattern.to_regexp() or "\\s" in t.pattern.to_regexp()
        )
        self.allowed = frozenset(t.name for t in terminals) - self.ignore
        self.terminals_by_name = conf.terminals_by_name

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        """Yield the tokens of the text one by one, as the parser consumes them."""
        text: str = lexer_state.text.text
        end: int = lexer_state.text.end
        pos: int = lexer_state.line_ctr.char_pos
        match = self.master.match
        ignore = self.ignore
        multiline = self.multiline
        keywords = self.keywords
        states = parser_state.parse_conf.states
        new_str = str.__new__
        line = 1
        line_start = 0
        while pos < end:
            found = match(text, pos, end)
            if found is None:
                raise UnexpectedCharacters(
                    text,
                    pos,
                    line,
                    pos - line_start + 1,
                    allowed=self.allowed,
                    state=parser_state,
                    terminals_by_name=self.terminals_by_name,
                )
            kind = found.lastgroup or ""
            value = found.group()
            stop = found.end()
            column = pos - line_start + 1
            start_line = line
            if kind in multiline and "\n" in value:
                line += value.count("\n")
                line_start = pos + value.rindex("\n") + 1
            if kind not in ignore:
                if kind == "NAME" and value in keywords and keywords[value] in states[parser_state.position]:
                    kind = keywords[value]
                # Token's own constructor goes through two Python-level calls; filling its slots is
                # half the cost, and tokens are the most numerous objects of a parse.
                tok = new_str(Token, value)
                tok.type = kind
                tok.value = value
                tok.start_pos = pos
                tok.line = start_line
                tok.column = column
                tok.end_line = line
                tok.end_column = stop - line_start + 1
                tok.end_pos = stop
                yield tok
            pos = stop
