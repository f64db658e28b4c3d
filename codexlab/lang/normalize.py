"""Lookalike normalization: the text the lexer sees, and a map back to the columns the user wrote.

Copy-paste and autocorrect bring characters that look like CodexLang glyphs but are other code points.
`normalize` rewrites them before lexing, outside string literals and comments:

| written | becomes | |
|---|---|---|
| `∆` U+2206 increment | `Δ` | Laplacian |
| `µ` U+00B5 micro sign | `μ` | (μ is an operator letter, never part of a name) |
| `−` U+2212, `‐ ‑ ‒ –` U+2010–2013, `﹣`, `－` | `-` | minus |
| `⋅` U+22C5, `·` U+00B7, `∙` U+2219 | `•` | dot product |
| `∇` + spaces + `⋅ · ∙ •` | `∇·` (spaces kept) | divergence |
| `✕` U+2715, `✖` U+2716, `⨯` U+2A2F | `×` | cross product (and `∇×`) |
| `⨂` U+2A02, `⨁` U+2A01, `⊝` U+229D | `⊗`, `⊕`, `⊖` | |
| `⨝` U+2A1D | `⋈` | interference |
| `⟷` U+27F7, `⇔` U+21D4 | `↔` | entangle |
| `∥` U+2225, `ǁ` U+01C1 | `‖` | norm |
| `'` U+0027, `’` U+2019 right after a name | `′` | prime: `psi'` is `psi′` |
| `ʹ` U+02B9, `ʺ` U+02BA | `′`, `″` | |
| `↺` U+21BA, `⥀` U+2940 | `⟲` | loop |
| `〚 〛` U+301A/B | `⟦ ⟧` | glyph record |
| `⩽ ≦`, `⩾ ≧` | `≤`, `≥` | |
| `𝛁 𝜵 𝝯 𝞩` (mathematical nablas) | `∇` | |
| `𝛛 𝜕 𝝏 𝞉 𝟃` (mathematical partials) | `∂` | |
| `◻` U+25FB, `☐` U+2610 | `□` | d'Alembertian |
| `⧗` U+29D7, `⌛` U+231B, `⏳` U+23F3 | `⧖` | collapse |
| `∗` U+2217; `÷` U+00F7, `∕` U+2215 | `*`; `/` | |
| `“ ” „` around a string | `"` | |
| zero-width space/joiners U+200B–200D, U+2060, BOM U+FEFF, soft hyphen U+00AD | removed | invisible |

Spellings that take more than one character (`→` for `->`, `≔` for `:=`, `<=`, `!=`, `|e|^2`) are
accepted by the grammar itself. Every rule but the removals maps one character to one; the removals are
recorded in a `SourceMap`, so errors and AST positions report lines and columns in the original text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field

__all__ = ["normalize", "SourceMap", "normalize_with_map"]

_ONE_TO_ONE: dict[str, str] = {
    "∆": "Δ",
    "µ": "μ",
    "−": "-",
    "‐": "-",
    "‑": "-",
    "‒": "-",
    "–": "-",
    "﹣": "-",
    "－": "-",
    "⋅": "•",
    "·": "•",
    "∙": "•",
    "✕": "×",
    "✖": "×",
    "⨯": "×",
    "⨂": "⊗",
    "⨁": "⊕",
    "⊝": "⊖",
    "⨝": "⋈",
    "⟷": "↔",
    "⇔": "↔",
    "∥": "‖",
    "ǁ": "‖",
    "ʹ": "′",
    "ʺ": "″",
    "↺": "⟲",
    "⥀": "⟲",
    "〚": "⟦",
    "〛": "⟧",
    "⩽": "≤",
    "≦": "≤",
    "⩾": "≥",
    "≧": "≥",
    "𝛁": "∇",
    "𝜵": "∇",
    "𝝯": "∇",
    "𝞩": "∇",
    "𝛛": "∂",
    "𝜕": "∂",
    "𝝏": "∂",
    "𝞉": "∂",
    "𝟃": "∂",
    "◻": "□",
    "☐": "□",
    "⧗": "⧖",
    "⌛": "⧖",
    "⏳": "⧖",
    "∗": "*",
    "÷": "/",
    "∕": "/",
}
_REMOVED = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_APOSTROPHES = "'’"
_CURLY_QUOTES = "“”„"
_NAME_END = re.compile(r"[\w′″‴'’]")

_CLASS = re.escape("".join(_ONE_TO_ONE) + _REMOVED + _APOSTROPHES + _CURLY_QUOTES)
# Anything that could change: a lookalike, an invisible character, an apostrophe, a curly quote, `∇•`.
_TRIGGER = re.compile(f"[{_CLASS}]|∇[ \t]*•")
# What the scan stops at: strings (kept), comments (kept), `∇` + dot (divergence), one lookalike.
_SCAN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"?'
    r'|[“”„](?:[^"“”\\\n]|\\.)*["“”]?'
    r"|#[^\n]*"
    r"|∇[ \t]*[•·⋅∙]"
    f"|[{_CLASS}]"
)


@dataclass(frozen=True)
class SourceMap:
    """The original text, its normalized form, and the original offsets of removed characters."""

    original: str
    normalized: str
    removed: tuple[int, ...] = ()
    _by_line: dict[int, list[int]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.removed:
            return
        starts = [0] + [m.end() for m in re.finditer("\n", self.original)]
        for offset in self.removed:
            line = bisect_right(starts, offset)
            self._by_line.setdefault(line, []).append(offset - starts[line - 1] + 1)

    def original_position(self, line: int, column: int) -> tuple[int, int]:
        """Map a 1-based (line, column) of the normalized text to the original text."""
        for removed_column in self._by_line.get(line, ()):
            if removed_column <= column:
                column += 1
            else:
                break
        return line, column

    def source_line(self, line: int) -> str:
        """The original text of a 1-based line, without its line ending."""
        lines = self.original.split("\n")
        return lines[line - 1].rstrip("\r") if 1 <= line <= len(lines) else ""


def _replace(match: re.Match[str], text: str) -> str | None:
    """The replacement for one scanned piece, or None to keep it as written."""
    piece = match.group()
    first = piece[0]
    if first == '"' or first == "#":
        return None
    if first in _CURLY_QUOTES:
        body = piece[1:]
        if body and body[-1] in '"“”':
            return '"' + body[:-1] + '"'
        return '"' + body
    if first == "∇":
        return piece[:-1] + "·" if piece[-1] != "·" else None
    if first in _REMOVED:
        return ""
    if first in _APOSTROPHES:
        start = match.start()
        after_name = start > 0 and _NAME_END.match(text, start - 1) is not None
        return "′" if after_name else None
    return _ONE_TO_ONE[first]


def normalize_with_map(text: str) -> SourceMap:
    """Normalize `text` and keep what is needed to report original positions."""
    if _TRIGGER.search(text) is None:
        return SourceMap(text, text)
    pieces: list[str] = []
    removed: list[int] = []
    last = 0
    for match in _SCAN.finditer(text):
        replacement = _replace(match, text)
        if replacement is None:
            continue
        start = match.start()
        pieces.append(text[last:start])
        pieces.append(replacement)
        if replacement == "":
            removed.append(start)
        last = match.end()
    pieces.append(text[last:])
    return SourceMap(text, "".join(pieces), tuple(removed))


def normalize(text: str) -> str:
    """Rewrite lookalike characters to CodexLang's glyphs (see the module docstring for the table)."""
    return normalize_with_map(text).normalized
