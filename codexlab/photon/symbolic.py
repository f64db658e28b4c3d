"""Symbolic evaluation of Photon IR with SymPy: the exact value of an expression, per SEMANTICS.md.

Coordinates are the real symbols `X Y Z T`, `i` is `sympy.I`, names come from an environment, a vector
field is a column `ImmutableMatrix` with one entry per spatial coordinate (`t` is never spatial).
Decimal literals become the rationals they spell (`0.15` → 3/20), so cancellations are exact.
Ops without a symbolic rule (⧖, ↔, ⊕/⊖ of states, `load`, `random`, `evolve`, `relax`, grid
reductions of fields without a domain) raise `NoSymbolicForm`: the scheduler then takes the wave path.

Values on a grid: `lambdify_on_grid` and `exact_field` live in `codexlab.qwave.ongrid` (the grid is
QWave's), so symbolic work alone never imports JAX.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import sympy

from ..errors import CodexNameError, CodexTypeError, CodexValueError, did_you_mean
from ..ops import GLOBAL, OpTable, find_spec, implements
from ._calculus import (
    COORDS,
    SYMENGINE_THRESHOLD,
    NoSymbolicForm,
    T,
    X,
    Y,
    Z,
    as_number,
    choose_diff_backend,
    differentiate,
    integrate_box,
)
from .bounds import check_exact, check_power
from .builtins import BUILTINS, SymValue, call_builtin, is_scalar, value_kind
from .ir import BINARY_GLYPHS, UNARY_GLYPHS, PNode, node

if TYPE_CHECKING:
    from ..qwave.grid import Grid

__all__ = [
    "X",
    "Y",
    "Z",
    "T",
    "COORDS",
    "NoSymbolicForm",
    "SymValue",
    "SYMENGINE_THRESHOLD",
    "to_sympy",
    "exact_terms",
    "differentiate",
    "choose_diff_backend",
    "integrate_over",
    "exact_reduction",
]

_MAX_TEXT = 60
_MAX_LISTED = 12
_STATE_OPS = {
    "⧖": "a measurement samples a random outcome",
    "↔": "an entangled pair lives in Schmidt form on the grid",
    "⊕": "a superposition is normalized over the grid",
    "⊖": "a cancellation is normalized over the grid",
}
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": sympy.Lt,
    ">": sympy.Gt,
    "≤": sympy.Le,
    "≥": sympy.Ge,
    "==": sympy.Eq,
    "≠": sympy.Ne,
}
_REDUCTIONS = ("norm", "mean", "integral", "∫")


def _text(n: PNode) -> str:
    """The source text of a node for messages, shortened."""
    from .printing import to_unicode

    try:
        text = to_unicode(n)
    except Exception:  # noqa: BLE001 - a printer failure must not hide the real error
        text = repr(n)
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def _spatial(coords: Sequence[str]) -> tuple[sympy.Symbol, ...]:
    """The spatial coordinate symbols among `coords` (every coordinate except `t`)."""
    bad = [c for c in coords if c not in COORDS]
    if bad:
        raise CodexValueError(
            f"`{bad[0]}` is not a coordinate{did_you_mean(bad[0], COORDS)}; use some of "
            f"{', '.join(f'`{c}`' for c in COORDS)}."
        )
    return tuple(COORDS[c] for c in coords if c != "t")


def _normalize_coords(value: Any) -> Any:
    """Replace plain symbols named x, y, z, t with the real coordinate symbols."""
    swap = {s: COORDS[s.name] for s in value.free_symbols if s.name in COORDS and s != COORDS[s.name]}
    return value.xreplace(swap) if swap else value


def _from_env(ident: str, env: Mapping[str, Any]) -> SymValue:
    """A name's value from the environment as a SymPy expression or immutable column/matrix."""
    if ident not in env:
        names = sorted(env)
        more = ", …" if len(names) > _MAX_LISTED else ""
        listed = ", ".join(f"`{n}`" for n in names[:_MAX_LISTED]) + more
        known = f"the defined names are {listed}" if names else "nothing is defined"
        raise CodexNameError(
            f"`{ident}` is not defined{did_you_mean(ident, names)}; {known}; define it first with `{ident} := …`."
        )
    value = env[ident]
    if isinstance(value, sympy.MatrixBase):
        return _normalize_coords(sympy.ImmutableMatrix(value))
    if isinstance(value, sympy.Basic):
        return _normalize_coords(value)
    if isinstance(value, (int, float, complex)) and not isinstance(value, bool):
        return as_number(value)
    raise NoSymbolicForm(
        f"`{ident}` holds {type(value).__name__} data, which has no symbolic form; it runs on the wave path."
    )


class _Evaluator:
    """Bottom-up evaluation of one Photon DAG, each distinct node once, without recursion."""

    def __init__(
        self,
        env: Mapping[str, Any],
        coords: Sequence[str],
        constants: Mapping[str, Any],
        domain: Grid | None,
        table: OpTable = GLOBAL,
    ) -> None:
        self.table = table
        self.env = env
        self.coords = tuple(coords)
        self.space = _spatial(self.coords)
        self.constants = constants
        self.domain = domain
        self.memo: dict[str, Any] = {}

    def __call__(self, root: PNode) -> Any:
        stack: list[tuple[PNode, bool]] = [(root, False)]
        while stack:
            cur, ready = stack.pop()
            if cur.id in self.memo:
                continue
            if ready:
                value = self.apply(cur)
                check_exact(value)
                self.memo[cur.id] = value
                continue
            stack.append((cur, True))
            stack.extend((c, False) for c in reversed(self.operands(cur)) if c.id not in self.memo)
        return self.memo[root.id]

    # ------------------------------------------------------------------------------------- structure

    def operands(self, n: PNode) -> tuple[PNode, ...]:
        """The nodes whose values `n` needs; raises early for ops that have no symbolic rule."""
        if n.op in _STATE_OPS:
            raise NoSymbolicForm(f"`{_text(n)}` has no symbolic form ({_STATE_OPS[n.op]}); it runs on the wave path.")
        if n.op == "->" or (n.op == "call" and n.value in (*UNARY_GLYPHS, *BINARY_GLYPHS, "⋈")):
            target = self.redirect(n)
            return (target,) if target is not n else n.children
        if n.op == "call" and n.value in BUILTINS and not BUILTINS[n.value].symbolic:
            raise NoSymbolicForm(
                f"`{_text(n)}` reads or makes grid data, which has no symbolic form; it runs on the wave path."
            )
        return n.children

    def redirect(self, n: PNode) -> PNode:
        """`a -> f` pipes into a builtin (else binds: value a); a glyph called as `∇(f)` is the glyph."""
        if n.op == "call":
            if n.kwargs:
                raise CodexTypeError(
                    f"`{n.value}` called as a function takes positional arguments only; write e.g. `{n.value}(a, b)`."
                )
            return node(n.value, *n.args)
        left, right = n.args
        if right.op == "name" and right.value in BUILTINS:
            return node("call", left, value=right.value)
        if right.op == "call":
            return node("call", left, *right.args, value=right.value, kwargs=right.kwargs)
        return left

    # ------------------------------------------------------------------------------------------- rules

    def apply(self, n: PNode) -> Any:
        """The value of `n` from the values of its operands."""
        op = n.op
        if op == "->" or (op == "call" and n.value in (*UNARY_GLYPHS, *BINARY_GLYPHS, "⋈")):
            return self.memo[self.redirect(n).id]
        if op == "num":
            return as_number(n.value)
        if op == "str":
            return n.value
        if op == "imag":
            return sympy.I
        if op == "coord":
            return COORDS[n.value]
        if op == "name":
            return _from_env(n.value, self.env)
        vals = [self.memo[c.id] for c in n.args]
        if op == "call":
            return self.call(n, vals)
        if op == "norm":  # ‖e‖ is the builtin `norm`
            return self.reduce("norm", n, vals[0])
        spec = find_spec(op)
        rule = spec.symbolic if spec is not None else None
        if rule is None:
            raise NoSymbolicForm(f"Photon op `{op}` has no symbolic rule; it runs on the wave path.")
        return rule(self, n, *vals)

    def scalar_or_vector(self, n: PNode, k: int, value: Any) -> Any:
        """Operands of glyphs must be expressions or matrices, not strings or conditions."""
        if isinstance(value, sympy.MatrixBase) or is_scalar(value):
            return value
        raise CodexTypeError(
            f"`{n.op}` cannot act on `{_text(n.args[k])}`, a {value_kind(value)}; pass a number or a field."
        )

    def call(self, n: PNode, vals: list[Any]) -> Any:
        """A builtin call (reductions of fields use the domain when one is given)."""
        kwargs = {k: self.memo[v.id] for k, v in n.kwargs}
        if n.value in _REDUCTIONS and self.domain is not None and len(vals) == 1 and not kwargs:
            return self.reduce(n.value, n, vals[0])
        own = self.table.own.get(str(n.value))
        if own is not None and "symbolic" in own.impl:  # a Lab's own op (a fusion glyph)
            return own.impl["symbolic"](*vals)
        return call_builtin(n.value, vals, kwargs, [_text(a) for a in n.args])

    def reduce(self, kind: str, n: PNode, value: Any) -> Any:
        """‖e‖, mean, ∫: exact over the domain for fields (and ∫ of numbers), |e| of a number, or
        `NoSymbolicForm` without a domain."""
        value = self.scalar_or_vector(n, 0, value)
        is_field = bool(value.free_symbols & set(COORDS.values()))
        if self.domain is not None and (is_field or kind in ("integral", "∫")):
            return exact_reduction(kind, value, self.domain)
        return call_builtin(kind, [value], {}, [_text(n.args[0])])

    def compare(self, n: PNode, a: Any, b: Any) -> Any:
        """A SymPy relational between two scalars."""
        for k, v in enumerate((a, b)):
            if not is_scalar(v):
                raise CodexTypeError(
                    f"`{n.op}` compares scalars, but `{_text(n.args[k])}` is a {value_kind(v)}; "
                    f"compare norms instead, e.g. `‖{_text(n.args[k])}‖`."
                )
        try:
            return _COMPARE[n.op](a, b)
        except TypeError as err:
            raise CodexTypeError(
                f"`{n.op}` needs real values, but `{_text(n)}` compares complex ones; compare `re(…)`, "
                f"`im(…)` or `abs(…)` instead."
            ) from err

    def interfere(self, n: PNode, a: Any, b: Any, phase: Any) -> Any:
        """a ⋈[φ] b = a + e^{iφ} b."""
        if not is_scalar(phase):
            raise CodexTypeError(f"The phase `{_text(n.args[2])}` of `⋈` must be a number, got a {value_kind(phase)}.")
        return _add(self, n, a, _scale(sympy.exp(sympy.I * phase), self.scalar_or_vector(n, 1, b)))

    def vector(self, n: PNode, vals: list[Any]) -> sympy.ImmutableMatrix:
        """`[a, b, c]`: a column of scalar components."""
        for k, v in enumerate(vals):
            if not is_scalar(v):
                raise CodexTypeError(
                    f"Vector components must be scalars, but `{_text(n.args[k])}` is a {value_kind(v)}."
                )
        return sympy.ImmutableMatrix(vals)

    def need_dim(self, n: PNode, value: Any, what: str) -> sympy.ImmutableMatrix:
        """A vector field with one component per spatial coordinate."""
        dim = len(self.space)
        if not (isinstance(value, sympy.MatrixBase) and value.shape == (dim, 1)):
            got = f"{value.shape[0]} components" if isinstance(value, sympy.MatrixBase) else value_kind(value)
            where = f"`{_text(n.args[0])}`"
            raise CodexTypeError(
                f"`{n.op}` needs a vector field with {dim} components ({self.axes()}); {where} is a "
                f"{value_kind(value)} ({got}); {what}."
            )
        return sympy.ImmutableMatrix(value)

    def axes(self) -> str:
        """The spatial coordinates as text."""
        return ", ".join(f"`{s}`" for s in self.space)


# --------------------------------------------------------------------------------- differential glyphs


def _d(value: Any, *orders: tuple[sympy.Symbol, int]) -> Any:
    """Derivative of a scalar or of each entry of a matrix."""
    if isinstance(value, sympy.MatrixBase):
        return sympy.ImmutableMatrix(value.applyfunc(lambda e: differentiate(e, *orders)))
    return differentiate(value, *orders)


def _lap_terms(space: Sequence[sympy.Symbol], value: Any) -> list[Any]:
    """The terms ∂²/∂xᵢ² of Δ, of a scalar or of each entry of a matrix."""
    return [_d(value, (s, 2)) for s in space]


def _lap(space: Sequence[sympy.Symbol], value: Any) -> Any:
    """Σᵢ ∂²/∂xᵢ² of a scalar, or of each entry of a matrix."""
    return _sum(_lap_terms(space, value))


def _sum(terms: Sequence[Any]) -> Any:
    """The sum of scalar terms, or of matrix terms of one shape."""
    if terms and isinstance(terms[0], sympy.MatrixBase):
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return sympy.ImmutableMatrix(total)
    return sympy.Add(*terms)


def _grad(ev: _Evaluator, n: PNode, f: Any) -> Any:
    if isinstance(f, sympy.MatrixBase):
        raise CodexTypeError(
            f"`∇` needs a scalar field, but `{_text(n.args[0])}` is a {value_kind(f)}; use `∇·` for the "
            "divergence or `∇×` for the curl."
        )
    return sympy.ImmutableMatrix([differentiate(f, (s, 1)) for s in ev.space])


def _div_terms(ev: _Evaluator, n: PNode, f: Any) -> list[Any]:
    """The terms ∂Fᵢ/∂xᵢ of ∇·F."""
    v = ev.need_dim(n, f, "use `∇` for the gradient of a scalar")
    return [differentiate(v[k], (s, 1)) for k, s in enumerate(ev.space)]


def _div(ev: _Evaluator, n: PNode, f: Any) -> Any:
    return _sum(_div_terms(ev, n, f))


def _curl_terms(ev: _Evaluator, n: PNode, f: Any) -> list[Any]:
    """The two signed halves of ∇×F: (∂xFy, −∂yFx) in 2-D; per component ∂ⱼFₖ and −∂ₖFⱼ in 3-D."""
    if len(ev.space) not in (2, 3):
        raise CodexTypeError(
            f"`∇×` needs 2 or 3 spatial coordinates, but the grid has {len(ev.space)} ({ev.axes()}); "
            "add axes to `@grid`."
        )
    v = ev.need_dim(n, f, "the curl of a scalar is not defined; take `∇×` of a vector such as `[f, g]`")
    if len(ev.space) == 2:
        x, y = ev.space
        return [differentiate(v[1], (x, 1)), -differentiate(v[0], (y, 1))]
    x, y, z = ev.space
    plus = [differentiate(v[2], (y, 1)), differentiate(v[0], (z, 1)), differentiate(v[1], (x, 1))]
    minus = [-differentiate(v[1], (z, 1)), -differentiate(v[2], (x, 1)), -differentiate(v[0], (y, 1))]
    return [sympy.ImmutableMatrix(plus), sympy.ImmutableMatrix(minus)]


def _curl(ev: _Evaluator, n: PNode, f: Any) -> Any:
    return _sum(_curl_terms(ev, n, f))


def _laplacian_terms(ev: _Evaluator, n: PNode, f: Any) -> list[Any]:
    return _lap_terms(ev.space, f)


def _laplacian(ev: _Evaluator, n: PNode, f: Any) -> Any:
    return _lap(ev.space, f)


def _dalembert(ev: _Evaluator, n: PNode, f: Any) -> Any:
    if T not in f.free_symbols and "t" not in ev.coords:
        raise CodexTypeError(
            f"□ needs a time axis or a symbolic `t`; `{_text(n.args[0])}` has neither; add a `t` axis to "
            "`@grid` or write the field as a function of `t`."
        )
    return _sum(_dalembert_terms(ev, n, f))


def _dalembert_terms(ev: _Evaluator, n: PNode, f: Any) -> list[Any]:
    """The terms ∂ₜₜf and −c²∂ᵢᵢf of □f."""
    raw = ev.constants.get("c", 1)
    c = raw if isinstance(raw, sympy.Basic) else as_number(raw)
    return [_d(f, (T, 2)), *(_scale(-(c**2), term) for term in _lap_terms(ev.space, f))]


def _partial(sym: sympy.Symbol) -> Callable[[_Evaluator, PNode, Any], Any]:
    def rule(ev: _Evaluator, n: PNode, f: Any) -> Any:
        return _d(f, (sym, 1))

    return rule


def _neg(ev: _Evaluator, n: PNode, f: Any) -> Any:
    return -f


def _unary(rule: Callable[[_Evaluator, PNode, Any], Any]) -> Callable[[_Evaluator, PNode, Any], Any]:
    """A unary rule whose operand must be an expression or a matrix."""

    def checked(ev: _Evaluator, n: PNode, f: Any) -> Any:
        return rule(ev, n, ev.scalar_or_vector(n, 0, f))

    return checked


for _glyph, _rule in {
    "∇": _grad,
    "∇·": _div,
    "∇×": _curl,
    "Δ": _laplacian,
    "□": _dalembert,
    "d/dt": _partial(T),
    "∂t": _partial(T),
    "∂x": _partial(X),
    "∂y": _partial(Y),
    "∂z": _partial(Z),
    "neg": _neg,
}.items():
    implements(_glyph, "symbolic")(_unary(_rule))


# ----------------------------------------------------------------------------------- algebraic glyphs


def _operand_error(n: PNode, a: Any, b: Any, fix: str) -> CodexTypeError:
    """A wrong-kind error naming both operands and their kinds."""
    return CodexTypeError(
        f"`{n.op}` cannot combine `{_text(n.args[0])}` (a {value_kind(a)}) with `{_text(n.args[1])}` "
        f"(a {value_kind(b)}); {fix}."
    )


def _both(ev: _Evaluator, n: PNode, a: Any, b: Any) -> tuple[Any, Any]:
    """Both operands as expressions or matrices."""
    return ev.scalar_or_vector(n, 0, a), ev.scalar_or_vector(n, 1, b)


def _scale(s: sympy.Expr, v: Any) -> Any:
    """Scalar times scalar or matrix."""
    return sympy.ImmutableMatrix(v * s) if isinstance(v, sympy.MatrixBase) else s * v


def _add(ev: _Evaluator, n: PNode, a: Any, b: Any) -> Any:
    a, b = _both(ev, n, a, b)
    if isinstance(a, sympy.MatrixBase) != isinstance(b, sympy.MatrixBase) or (
        isinstance(a, sympy.MatrixBase) and a.shape != b.shape
    ):
        raise _operand_error(n, a, b, "add values of the same kind and size (vector + vector)")
    return sympy.ImmutableMatrix(a + b) if isinstance(a, sympy.MatrixBase) else a + b


def _sub(ev: _Evaluator, n: PNode, a: Any, b: Any) -> Any:
    return _add(ev, n, a, -b if is_scalar(b) or isinstance(b, sympy.MatrixBase) else b)


def _add_terms(ev: _Evaluator, n: PNode, a: Any, b: Any) -> list[Any]:
    return list(_both(ev, n, a, b))


def _sub_terms(ev: _Evaluator, n: PNode, a: Any, b: Any) -> list[Any]:
    a, b = _both(ev, n, a, b)
    return [a, -b]


def _mul(ev: _Evaluator, n: PNode, a: Any, b: Any) -> Any:
    a, b = _both(ev, n, a, b)
    if isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase):
        raise _operand_error(n, a, b, "use `•` for the dot product, `×` for the cross, `⊗` for the outer")
    if isinstance(a, sympy.MatrixBase):
        return _scale(b, a)
    return _scale(a, b)


def _div_op(ev: _Evaluator, n: PNode, a: Any, b: Any) -> Any:
    a, b = _both(ev, n, a, b)
    if isinstance(b, sympy.MatrixBase):
        raise _operand_error(n, a, b, "divide by a scalar, or divide each component")
    return _scale(1 / b, a)


def _pow(ev: _Evaluator, n: PNode, a: Any, b: Any) -> Any:
    a, b = _both(ev, n, a, b)
    if isinstance(a, sympy.MatrixBase) or isinstance(b, sympy.MatrixBase):
        raise _operand_error(n, a, b, "raise scalars to scalar powers, e.g. `(F•F)^0.5`")
    check_power(a, b)
    return a**b


def _dot(ev: _Evaluator, n: PNode, a: Any, b: Any) -> Any:
    terms = _dot_terms(ev, n, a, b)
    return _sum(terms)


def _dot_terms(ev: _Evaluator, n: PNode, a: Any, b: Any) -> list[Any]:
    """The products of a • b, which contracts the last index of a with the first of b: aᵢbᵢ for two
    vectors, aᵢTᵢⱼ (a row of T per i) for a vector and a tensor, Tᵢⱼvⱼ (a column per j) for a tensor
    and a vector, Tᵢₖ Sₖⱼ for two tensors; one term for two scalars."""
    a, b = _both(ev, n, a, b)
    va, vb = isinstance(a, sympy.MatrixBase), isinstance(b, sympy.MatrixBase)
    if va != vb:
        raise _operand_error(n, a, b, "`•` takes two vectors (Σ aᵢbᵢ) or two scalars; use `*` to scale a vector")
    if not va:
        return [a * b]
    left = a.T if a.shape[1] == 1 else a  # a vector contracts as a row
    if left.shape[1] != b.shape[0]:
        raise _operand_error(n, a, b, f"the contracted lengths differ ({left.shape[1]} and {b.shape[0]})")
    terms = [left[:, k] * b[k, :] for k in range(b.shape[0])]
    if all(t.shape == (1, 1) for t in terms):
        return [t[0, 0] for t in terms]
    shaped = [t.T if t.shape[0] == 1 else t for t in terms]  # a vector result is a column
    return [sympy.ImmutableMatrix(t) for t in shaped]


def _cross(ev: _Evaluator, n: PNode, a: Any, b: Any) -> Any:
    a, b = _both(ev, n, a, b)
    ok = isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase) and a.shape == b.shape
    if not ok or a.shape not in ((2, 1), (3, 1)):
        raise _operand_error(n, a, b, "`×` takes two 3-vectors, or two 2-vectors for the z component")
    if a.shape == (2, 1):
        return a[0] * b[1] - a[1] * b[0]
    return sympy.ImmutableMatrix(a.cross(b))


def _tensor(ev: _Evaluator, n: PNode, a: Any, b: Any) -> Any:
    a, b = _both(ev, n, a, b)
    va, vb = isinstance(a, sympy.MatrixBase), isinstance(b, sympy.MatrixBase)
    if not va and not vb:
        raise NoSymbolicForm(
            f"`{_text(n)}` of two scalar fields is an entangled pair of states with no symbolic form; "
            "it runs on the wave path."
        )
    if not (va and vb and a.shape[1] == 1 and b.shape[1] == 1):
        raise _operand_error(n, a, b, "`⊗` takes two vector fields (outer product) or two states (a pair)")
    return sympy.ImmutableMatrix(a * b.T)


for _glyph, _binary in {
    "+": _add,
    "-": _sub,
    "*": _mul,
    "/": _div_op,
    "^": _pow,
    "•": _dot,
    "×": _cross,
    "⊗": _tensor,
}.items():
    implements(_glyph, "symbolic")(_binary)
for _glyph in _COMPARE:
    implements(_glyph, "symbolic")(lambda ev, n, a, b: ev.compare(n, a, b))
#: The terms an op's exact value sums, before they cancel: SEMANTICS' drift scale (Σ of their norms).
_TERMS: dict[str, Callable[..., Any]] = {
    "∇·": _unary(_div_terms),
    "∇×": _unary(_curl_terms),
    "Δ": _unary(_laplacian_terms),
    "□": _unary(_dalembert_terms),
    "+": _add_terms,
    "-": _sub_terms,
    "•": _dot_terms,
}
for _glyph, _terms in _TERMS.items():
    implements(_glyph, "terms")(_terms)
implements("⋈", "symbolic")(lambda ev, n, a, b, phase: ev.interfere(n, a, b, phase))
implements("vec", "symbolic")(lambda ev, n, *vals: ev.vector(n, list(vals)))
implements("density", "symbolic")(lambda ev, n, v: _density(ev.scalar_or_vector(n, 0, v)))


def _density(value: Any) -> Any:
    """|e|² = e·conj(e), summed over the components of a vector."""
    if isinstance(value, sympy.MatrixBase):
        return sympy.Add(*[c * sympy.conjugate(c) for c in value])
    return value * sympy.conjugate(value)


# ------------------------------------------------------------------------------------------ public API


def to_sympy(
    node: PNode,
    env: Mapping[str, sympy.Expr | sympy.ImmutableMatrix] | None = None,
    coords: Sequence[str] = ("x", "y"),
    *,
    constants: Mapping[str, float] | None = None,
    domain: Grid | None = None,
    table: OpTable = GLOBAL,
) -> sympy.Expr | sympy.ImmutableMatrix:
    """The exact SymPy value of a Photon expression.

    Parameters: `node` — the expression; `env` — values of the names it reads (SymPy expressions or
    matrices; plain symbols named x, y, z, t are taken as the coordinates); `coords` — the grid's
    coordinates (the spatial ones, all but `t`, set the vector dimension); `constants` — e.g. `c` of □
    (default 1); `domain` — a Grid over which `‖e‖`, `mean`, `integral` of fields are exact integrals.
    Returns: a SymPy expression, a column `ImmutableMatrix` (vector field), an n×n matrix (`⊗`), or a
    relational for comparisons.
    Raises: `CodexNameError` (unknown name or builtin), `CodexTypeError` (a glyph on the wrong kind of
    value), `NoSymbolicForm` (an op with no symbolic rule: the caller takes the wave path).
    """
    value = _Evaluator(env or {}, coords, constants or {}, domain, table)(node)
    if isinstance(value, str):
        raise CodexTypeError(
            f"`{_text(node)}` is a string, which is only an argument (a path, a keyword value), not a value."
        )
    return value


def exact_terms(
    key: str,
    node: PNode,
    operands: Sequence[Any],
    coords: Sequence[str],
    *,
    constants: Mapping[str, float] | None = None,
    table: OpTable = GLOBAL,
) -> list[Any] | None:
    """The terms op `key`'s exact value sums before they cancel (∂ₓFₓ and ∂ᵧFᵧ for ∇·F), from its
    operands' exact forms; None for an op whose value is its only term. SEMANTICS' drift scale is Σ of
    their norms."""
    rule = table.get(key).terms
    if rule is None:
        return None
    return list(rule(_Evaluator({}, coords, constants or {}, None, table), node, *operands))


def _check_on_grid(value: sympy.Basic, grid: Grid) -> None:
    """Refuse integrands that depend on coordinates the grid does not have."""
    extra = sorted(s.name for s in value.free_symbols & set(COORDS.values()) if s.name not in grid.names)
    if extra:
        raise CodexValueError(
            f"The integrand depends on `{extra[0]}`, which is not an axis of the grid `{grid.describe()}`; "
            f"add the axis or remove `{extra[0]}`."
        )


def integrate_over(expr: SymValue, grid: Grid, *, time_budget_s: float = 5.0) -> SymValue:
    """∫ expr dV over the grid's box (every axis, `t` included), exactly; per entry for matrices.

    Raises `NoSymbolicForm` ("no closed form") when SymPy cannot integrate within `time_budget_s`.
    """
    expr = _normalize_coords(expr)
    _check_on_grid(expr, grid)
    limits = [(COORDS[a.name], a.lo, a.hi) for a in grid.axes]
    if isinstance(expr, sympy.MatrixBase):
        return sympy.ImmutableMatrix(expr.applyfunc(lambda e: integrate_box(e, limits, time_budget_s=time_budget_s)))
    return integrate_box(expr, limits, time_budget_s=time_budget_s)


def exact_reduction(kind: str, value: SymValue, grid: Grid, *, time_budget_s: float = 5.0) -> SymValue:
    """`norm` (∫Σ|eᵢ|²)^½, `mean` ∫e/V or `integral` ∫e over the grid's box, exactly.

    Raises `CodexValueError` for an unknown kind, `NoSymbolicForm` when there is no closed form in time.
    """
    if kind == "norm":
        return sympy.sqrt(integrate_over(_density(value), grid, time_budget_s=time_budget_s))
    if kind in ("integral", "∫"):
        return integrate_over(value, grid, time_budget_s=time_budget_s)
    if kind == "mean":
        volume = sympy.Mul(*[as_number(a.hi) - as_number(a.lo) for a in grid.axes])
        return _scale(1 / volume, integrate_over(value, grid, time_budget_s=time_budget_s))
    raise CodexValueError(
        f"Reduction `{kind}` is unknown{did_you_mean(kind, _REDUCTIONS)}; use `norm`, `mean` or `integral`."
    )
