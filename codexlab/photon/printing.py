"""Print Photon IR as CodexLang-like Unicode and as LaTeX, with the fewest parentheses.

Parentheses follow the precedence table of CODEXLANG.md (loosest `->` to tightest `^`): binary
operators are left-associative except `^` (right) and the comparisons (non-associative), prefix
operators bind tighter than products, and a child is wrapped only when the table requires it, so the
printed text parses back to the same tree.
"""

from __future__ import annotations

import math
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from codexlab.errors import CodexTypeError
from codexlab.lang.printer import to_text
from codexlab.photon.adapter import photon_to_codex_ast
from codexlab.photon.ir import (
    PAssign,
    PDefine,
    PDirective,
    PExpr,
    PhotonProgram,
    PLoop,
    PNode,
    PRecord,
    walk,
)

__all__ = ["to_unicode", "to_latex", "precedence", "PRECEDENCE", "latex_name"]

#: Binding strength per operator, loosest first (CODEXLANG.md levels × 10).
PRECEDENCE: dict[str, int] = {
    "->": 10,
    **dict.fromkeys(("<", ">", "≤", "≥", "==", "≠"), 15),
    "↔": 20,
    "⊕": 30,
    "⊖": 30,
    "⋈": 40,
    "+": 50,
    "-": 50,
    **dict.fromkeys(("⊗", "×", "•", "*", "/"), 60),
    "^": 80,
}
PREFIX = 70
ATOM = 100
_COMPARISONS = frozenset(("<", ">", "≤", "≥", "==", "≠"))
_PREFIX_OPS = frozenset(("∇", "∇·", "∇×", "Δ", "□", "d/dt", "∂x", "∂y", "∂z", "∂t", "⧖", "neg"))
_SPACED_PREFIX = frozenset(("d/dt", "∂x", "∂y", "∂z", "∂t"))


def _num_precedence(value: Any) -> int:
    """Negative literals print like a prefix minus, complex ones like a sum or a product."""
    if isinstance(value, complex):
        return PRECEDENCE["*"] if value.real == 0 else PRECEDENCE["+"]
    return PREFIX if value < 0 or (value == 0 and math.copysign(1.0, value) < 0) else ATOM


def precedence(n: PNode) -> int:
    """How tightly the printed form of `n` binds (higher is tighter)."""
    if n.op == "num":
        return _num_precedence(n.value)
    if n.op in _PREFIX_OPS:
        return PREFIX
    if (n.op in PRECEDENCE and len(n.args) == 2) or (n.op == "⋈" and len(n.args) == 3):
        return PRECEDENCE[n.op]
    return ATOM


def _needs_parens(parent: str, child: PNode, side: str) -> bool:
    """Whether `child`, on `side` of binary `parent`, must be wrapped to parse back the same."""
    p, c = PRECEDENCE[parent], precedence(child)
    if parent == "^":  # base: an atom; exponent: may itself start with a prefix operator (`x^-1`)
        return c <= p if side == "left" else c < PREFIX
    if parent in _COMPARISONS:
        return c <= p
    return c < p if side == "left" else c <= p


class _Printer(ABC):
    """Shared walk of both printers; subclasses say how each piece looks."""

    def __init__(self) -> None:
        self._memo: dict[str, str] = {}

    def __call__(self, n: PNode) -> str:
        text = self._memo.get(n.id)
        if text is None:
            # Children first (iteratively), so rendering never recurses deeper than one level.
            for sub in walk(n):
                if sub.id not in self._memo:
                    self._memo[sub.id] = self.render(sub)
            text = self._memo[n.id]
        return text

    def wrap(self, text: str) -> str:
        return f"({text})"

    def child(self, parent: str, n: PNode, side: str) -> str:
        text = self(n)
        return self.wrap(text) if _needs_parens(parent, n, side) else text

    def render(self, n: PNode) -> str:
        op = n.op
        if op == "num":
            return self.number(n.value)
        if op in _PREFIX_OPS:
            operand = n.args[0]
            text = self(operand)
            wrapped = (
                precedence(operand) < PREFIX
                or (op == "neg" and text.startswith("-"))
                # `∇` right before a dot or cross would read as `∇·` or `∇×`.
                or (op == "∇" and text[:1] in ("·", "•", "×"))
            )
            return self.prefix(op, self.wrap(text) if wrapped else text, wrapped)
        if op in PRECEDENCE and len(n.args) == 2:
            left, right = n.args
            right_text = self.child(op, right, "right")
            if op in ("+", "-") and right_text.startswith("-"):
                right_text = self.wrap(right_text)
            return self.binary(op, self.child(op, left, "left"), right_text)
        handler: Callable[[PNode], str] | None = getattr(self, f"leaf_{op}", None) or {
            "⋈": self.interfere,
            "call": self.call,
            "vec": self.vec,
            "norm": self.norm,
            "density": self.density,
            "?": self.meta,
        }.get(op)
        if handler is None:
            raise CodexTypeError(f"Cannot print Photon op `{op}`; it is not a CodexLang operator.")
        return handler(n)

    def interfere(self, n: PNode) -> str:
        a, b, phase = n.args
        return self.interfere_text(self.child("⋈", a, "left"), self.child("⋈", b, "right"), self(phase))

    # Pieces each printer defines.
    @abstractmethod
    def number(self, value: Any) -> str:
        """A numeric literal."""

    @abstractmethod
    def prefix(self, op: str, operand: str, wrapped: bool) -> str:
        """A prefix operator over its (already wrapped, if needed) operand text."""

    @abstractmethod
    def binary(self, op: str, left: str, right: str) -> str:
        """An infix operator between its operands' texts."""

    @abstractmethod
    def interfere_text(self, a: str, b: str, phase: str) -> str:
        """`a ⋈[φ] b`."""

    @abstractmethod
    def call(self, n: PNode) -> str:
        """A function call."""

    @abstractmethod
    def vec(self, n: PNode) -> str:
        """A vector literal."""

    @abstractmethod
    def norm(self, n: PNode) -> str:
        """`‖e‖`."""

    @abstractmethod
    def density(self, n: PNode) -> str:
        """`|e|²`."""

    def meta(self, n: PNode) -> str:
        return f"?{str(n.value).partition(':')[0]}"


# ------------------------------------------------------------------------------------------------ Unicode


def _unicode_number(value: Any) -> str:
    """A literal as CodexLang writes it; complex values as `a + b * i`."""
    if isinstance(value, complex):
        imag = f"{_unicode_number(value.imag)} * i"
        if value.real == 0:
            return imag
        sign = "-" if value.imag < 0 else "+"
        return f"{_unicode_number(value.real)} {sign} {_unicode_number(abs(value.imag))} * i"
    return repr(value)


_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _quote(text: str) -> str:
    """A double-quoted string literal with the escapes CodexLang reads: `\\n \\t \\r \\" \\\\`."""
    return '"' + "".join(_STRING_ESCAPES.get(ch, ch) for ch in text) + '"'


class _UnicodePrinter(_Printer):
    """CodexLang-like text: `∇·∇ψ`, `d/dt ψ`, `a ⋈[φ] b`, `‖e‖`, `|e|²`."""

    def number(self, value: Any) -> str:
        return _unicode_number(value)

    def prefix(self, op: str, operand: str, wrapped: bool) -> str:
        glyph = "-" if op == "neg" else op
        return f"{glyph} {operand}" if op in _SPACED_PREFIX else f"{glyph}{operand}"

    def binary(self, op: str, left: str, right: str) -> str:
        return f"{left}^{right}" if op == "^" else f"{left} {op} {right}"

    def interfere_text(self, a: str, b: str, phase: str) -> str:
        return f"{a} ⋈[{phase}] {b}"

    def call(self, n: PNode) -> str:
        parts = [self(a) for a in n.args] + [f"{k}={self(v)}" for k, v in n.kwargs]
        return f"{n.value}({', '.join(parts)})"

    def vec(self, n: PNode) -> str:
        return f"[{', '.join(self(a) for a in n.args)}]"

    def norm(self, n: PNode) -> str:
        return f"‖{self(n.args[0])}‖"

    def density(self, n: PNode) -> str:
        return f"|{self(n.args[0])}|²"

    def leaf_str(self, n: PNode) -> str:
        return _quote(str(n.value))

    def leaf_name(self, n: PNode) -> str:
        return str(n.value)

    leaf_coord = leaf_name
    leaf_imag = leaf_name


_STATEMENTS = (PDirective, PDefine, PAssign, PExpr, PLoop, PRecord)


def to_unicode(item: PNode | Any) -> str:
    """CodexLang Unicode text of a node, a statement or a whole program (one statement per line).

    Expressions are printed here (they may hold what the Codex AST cannot: pattern metavariables,
    complex literals from folding); statements go through the Codex AST and `codexlab.lang.to_text`,
    so directives, labels and loops are spelled exactly as the language printer spells them.
    Parameters: item — a `PNode`, a Photon statement or a `PhotonProgram`.
    Returns: the text, with parentheses only where precedence requires them.
    Raises: CodexTypeError for anything else.
    """
    if isinstance(item, PNode):
        return _UnicodePrinter()(item)
    if isinstance(item, (PhotonProgram, *_STATEMENTS)):
        return to_text(photon_to_codex_ast(item)).rstrip("\n")
    raise CodexTypeError(f"Cannot print `{type(item).__name__}` as CodexLang; pass a PNode, a statement or a program.")


# -------------------------------------------------------------------------------------------------- LaTeX

_LATEX_PREFIX = {
    "∇": r"\nabla",
    "∇·": r"\nabla\cdot",
    "∇×": r"\nabla\times",
    "Δ": r"\Delta",
    "□": r"\Box",
    "d/dt": r"\frac{d}{dt}",
    "∂x": r"\partial_x",
    "∂y": r"\partial_y",
    "∂z": r"\partial_z",
    "∂t": r"\partial_t",
    "⧖": r"\mathcal{M}",
    "neg": "-",
}
_LATEX_BINARY = {
    "->": r"\rightarrow",
    "<": "<",
    ">": ">",
    "≤": r"\le",
    "≥": r"\ge",
    "==": "=",
    "≠": r"\neq",
    "↔": r"\leftrightarrow",
    "⊕": r"\oplus",
    "⊖": r"\ominus",
    "+": "+",
    "-": "-",
    "⊗": r"\otimes",
    "×": r"\times",
    "•": r"\cdot",
}
_LATEX_FUNCS = {"sin": r"\sin", "cos": r"\cos", "tan": r"\tan", "exp": r"\exp", "log": r"\log"}
_GREEK_CAPITALS = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}
_GREEK_SMALL = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
    "nu", "xi", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi", "psi", "omega",
}  # fmt: skip
_GREEK_SPECIAL = {"φ": r"\varphi", "ϕ": r"\phi", "ε": r"\varepsilon", "ϵ": r"\epsilon", "ϑ": r"\vartheta",
                  "ς": r"\varsigma", "ο": "o", "Ο": "O"}  # fmt: skip
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_TEXT_ESCAPES = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "$": r"\$", "%": r"\%",
                 "&": r"\&", "#": r"\#", "^": r"\^{}", "~": r"\~{}"}  # fmt: skip


def _escape_text(text: str) -> str:
    """Text safe inside `\\text{…}` / `\\mathrm{…}`."""
    return "".join(_TEXT_ESCAPES.get(ch, ch) for ch in text)


def _greek(base: str) -> str | None:
    """The LaTeX command of a Greek letter given as one Unicode character or its English name."""
    if base in _GREEK_SPECIAL:
        return _GREEK_SPECIAL[base]
    if len(base) == 1:
        uname = unicodedata.name(base, "")
        if uname.startswith("GREEK SMALL LETTER "):
            word = uname.removeprefix("GREEK SMALL LETTER ").lower().replace("lamda", "lambda")
            return f"\\{word}" if word in _GREEK_SMALL else None
        if uname.startswith("GREEK CAPITAL LETTER "):
            word = uname.removeprefix("GREEK CAPITAL LETTER ").capitalize().replace("Lamda", "Lambda")
            return f"\\{word}" if word in _GREEK_CAPITALS else f"\\mathrm{{{base}}}"
        return None
    if base in _GREEK_SMALL or base in _GREEK_CAPITALS:
        return f"\\{base}"
    return None


def latex_name(ident: str) -> str:
    """A name in LaTeX: Greek letters as commands, `_`/subscript digits as subscripts, primes kept."""
    primes = 0
    while ident and ident[-1] in "′″'":
        primes += 2 if ident[-1] == "″" else 1
        ident = ident[:-1]
    sub = ""
    stripped = ident.rstrip("₀₁₂₃₄₅₆₇₈₉")
    if stripped != ident and stripped:
        sub, ident = ident[len(stripped) :].translate(_SUBSCRIPTS), stripped
    elif "_" in ident.strip("_"):
        ident, _, sub = ident.partition("_")
    greek = _greek(ident)
    if greek is not None:
        base = greek
    elif len(ident) == 1:
        base = ident
    else:
        base = f"\\mathrm{{{_escape_text(ident)}}}"
    if sub:
        base += f"_{{{latex_name(sub) if not sub.isdigit() else sub}}}"
    return base + "'" * primes


def _latex_number(value: Any) -> str:
    """A literal in LaTeX: exponents as `\\times 10^{k}`, complex as `a + b i`."""
    if isinstance(value, complex):
        imag = f"{_latex_number(value.imag)} i"
        if value.real == 0:
            return imag
        sign = "-" if value.imag < 0 else "+"
        return f"{_latex_number(value.real)} {sign} {_latex_number(abs(value.imag))} i"
    if isinstance(value, float):
        if math.isnan(value):
            return r"\mathrm{NaN}"
        if math.isinf(value):
            return r"-\infty" if value < 0 else r"\infty"
        text = repr(value)
        if "e" in text:
            mantissa, _, exponent = text.partition("e")
            head = "" if mantissa in ("1.0", "1") else f"{mantissa} \\times "
            head = "-" if mantissa in ("-1.0", "-1") else head
            return f"{head}10^{{{int(exponent)}}}"
        return text
    return str(value)


class _LatexPrinter(_Printer):
    """LaTeX for MathJax/KaTeX: `\\nabla\\cdot \\nabla \\psi`, `\\frac{a}{b}`, `\\lVert e \\rVert`."""

    def wrap(self, text: str) -> str:
        return f"\\left({text}\\right)"

    def number(self, value: Any) -> str:
        return _latex_number(value)

    def render(self, n: PNode) -> str:
        if n.op == "/" and len(n.args) == 2:
            return f"\\frac{{{self(n.args[0])}}}{{{self(n.args[1])}}}"
        if n.op == "^" and len(n.args) == 2:
            base = self.child("^", n.args[0], "left")
            return f"{{{base}}}^{{{self(n.args[1])}}}"
        return super().render(n)

    def child(self, parent: str, n: PNode, side: str) -> str:
        if parent in ("*", "•", "⊗", "×") and n.op == "/" and side == "right":
            return self(n)
        return super().child(parent, n, side)

    def prefix(self, op: str, operand: str, wrapped: bool) -> str:
        return f"-{operand}" if op == "neg" else f"{_LATEX_PREFIX[op]} {operand}"

    def binary(self, op: str, left: str, right: str) -> str:
        if op == "*":
            dot = right[:1].isdigit() or right.startswith("-")
            return f"{left} \\cdot {right}" if dot else f"{left} \\, {right}"
        return f"{left} {_LATEX_BINARY[op]} {right}"

    def interfere_text(self, a: str, b: str, phase: str) -> str:
        return f"{a} \\bowtie_{{{phase}}} {b}"

    def call(self, n: PNode) -> str:
        func = str(n.value)
        args = [self(a) for a in n.args]
        if func == "sqrt" and len(args) == 1 and not n.kwargs:
            return f"\\sqrt{{{args[0]}}}"
        if func == "abs" and len(args) == 1 and not n.kwargs:
            return f"\\left\\lvert {args[0]} \\right\\rvert"
        if func == "conj" and len(args) == 1 and not n.kwargs:
            return f"\\overline{{{args[0]}}}"
        head = _LATEX_FUNCS.get(func) or {"re": r"\operatorname{Re}", "im": r"\operatorname{Im}"}.get(func)
        head = head or f"\\operatorname{{{_escape_text(func)}}}"
        parts = args + [f"{latex_name(k)} = {self(v)}" for k, v in n.kwargs]
        return f"{head}\\left({', '.join(parts)}\\right)"

    def vec(self, n: PNode) -> str:
        return f"\\left[{', '.join(self(a) for a in n.args)}\\right]"

    def norm(self, n: PNode) -> str:
        return f"\\left\\lVert {self(n.args[0])} \\right\\rVert"

    def density(self, n: PNode) -> str:
        return f"\\left\\lvert {self(n.args[0])} \\right\\rvert^{{2}}"

    def meta(self, n: PNode) -> str:
        return f"?{latex_name(str(n.value).partition(':')[0])}"

    def leaf_str(self, n: PNode) -> str:
        return f"\\text{{``{_escape_text(str(n.value))}''}}"

    def leaf_name(self, n: PNode) -> str:
        return latex_name(str(n.value))

    def leaf_coord(self, n: PNode) -> str:
        return str(n.value)

    def leaf_imag(self, n: PNode) -> str:
        return "i"


def to_latex(item: PNode | Any) -> str:
    """LaTeX of a node (or of a definition/assignment/expression statement), without `$` delimiters.

    Parameters: item — a `PNode`, or a `PDefine`/`PAssign`/`PExpr`.
    Returns: LaTeX math text: `∇·∇ψ` → `\\nabla\\cdot \\nabla \\psi`.
    Raises: CodexTypeError for anything else.
    """
    printer = _LatexPrinter()
    if isinstance(item, PNode):
        return printer(item)
    if isinstance(item, PDefine):
        return f"{latex_name(item.name)} := {printer(item.expr)}"
    if isinstance(item, PAssign):
        return f"{latex_name(item.name)} = {printer(item.expr)}"
    if isinstance(item, PExpr):
        return printer(item.expr)
    raise CodexTypeError(
        f"Cannot print `{type(item).__name__}` as LaTeX; "
        "pass a PNode or a definition, assignment or expression statement."
    )
