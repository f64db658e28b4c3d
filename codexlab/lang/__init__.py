"""CodexLang: parse scrolls to the Codex AST, print them back, and keep a library of named scrolls.

>>> from codexlab.lang import parse, to_text
>>> to_text(parse("L = div(grad(psi))"))
'L = ∇·∇psi\\n'
"""

from __future__ import annotations

from . import ast
from .normalize import normalize
from .parser import parse, parse_expr
from .printer import to_text
from .scrolls import ScrollLibrary, build_scroll, inject

__all__ = [
    "ast",
    "parse",
    "parse_expr",
    "to_text",
    "normalize",
    "build_scroll",
    "ScrollLibrary",
    "inject",
]
