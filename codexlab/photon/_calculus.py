"""Exact calculus for symbolic evaluation: coordinate symbols, derivatives (SymPy or symengine) and
definite integrals over a box within a time budget.

Heavy differentiation runs in symengine: SymPy spends seconds on the chain and product rules of a
1000-term sum that symengine does in milliseconds (guides/PERFORMANCE.md). The result is converted back
with SymPy's evaluation on, so it is the same canonical expression SymPy itself would return.
"""

from __future__ import annotations

import atexit
import pickle
import subprocess
import sys
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import symengine
import sympy

from ..errors import CodexValueError
from ._integrate_worker import read_message, write_message

__all__ = [
    "X",
    "Y",
    "Z",
    "T",
    "COORDS",
    "NoSymbolicForm",
    "SYMENGINE_THRESHOLD",
    "choose_diff_backend",
    "differentiate",
    "integrate_box",
    "as_number",
]

X, Y, Z, T = sympy.symbols("x y z t", real=True)
#: Coordinate name → its real SymPy symbol.
COORDS: dict[str, sympy.Symbol] = {"x": X, "y": Y, "z": Z, "t": T}

#: Expressions with more nodes than this are differentiated by symengine.
SYMENGINE_THRESHOLD = 200

DiffBackend = Literal["sympy", "symengine"]

# Functions whose derivatives symengine and SymPy agree on; anything else (Abs, conjugate, re, im, …)
# stays in SymPy, which knows the coordinates are real.
_SYMENGINE_SAFE = (
    sympy.sin,
    sympy.cos,
    sympy.tan,
    sympy.exp,
    sympy.log,
    sympy.sinh,
    sympy.cosh,
    sympy.tanh,
    sympy.asin,
    sympy.acos,
    sympy.atan,
)


class NoSymbolicForm(CodexValueError):
    """An expression or op with no symbolic rule (data fields, measurement, states, grid reductions).

    The scheduler catches it to decide that a node has no symbolic path and must run on the wave path.
    """


def as_number(value: int | float | complex) -> sympy.Expr:
    """An exact SymPy number: ints stay integers and decimal floats become the rational they spell."""
    if isinstance(value, bool):
        raise CodexValueError(f"`{value}` is a boolean, not a number; write `1` or `0`.")
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, float):
        if value != value:
            return sympy.nan
        if value in (float("inf"), float("-inf")):
            return sympy.oo if value > 0 else -sympy.oo
        return sympy.Rational(repr(value))
    if isinstance(value, complex):
        return as_number(value.real) + sympy.I * as_number(value.imag)
    return sympy.sympify(value, strict=True)


def _node_count_exceeds(expr: sympy.Basic, limit: int) -> bool:
    """Whether the expression tree has more than `limit` nodes (stops counting early)."""
    for count, _ in enumerate(sympy.preorder_traversal(expr), start=1):
        if count > limit:
            return True
    return False


def _symengine_safe(expr: sympy.Basic) -> bool:
    """Whether every function and symbol in `expr` converts to symengine and back unchanged."""
    names = [s.name for s in expr.free_symbols]
    if len(names) != len(set(names)) or expr.has(sympy.Derivative, sympy.Integral, sympy.Piecewise):
        return False
    return all(isinstance(f, _SYMENGINE_SAFE) for f in expr.atoms(sympy.Function))


def choose_diff_backend(expr: sympy.Basic) -> DiffBackend:
    """`symengine` for large expressions built from functions it differentiates like SymPy, else `sympy`."""
    if _node_count_exceeds(expr, SYMENGINE_THRESHOLD) and _symengine_safe(expr):
        return "symengine"
    return "sympy"


class _KeptSymbol(symengine.Symbol):
    """A symengine symbol that converts back to the exact SymPy symbol it came from (assumptions kept)."""

    def __init__(self, name: str, original: sympy.Symbol) -> None:
        super().__init__(name)
        self._original = original

    def _sympy_(self) -> sympy.Symbol:
        return self._original


def _diff_symengine(expr: sympy.Expr, orders: Sequence[tuple[sympy.Symbol, int]]) -> sympy.Expr:
    """Differentiate in symengine; SymPy evaluation on the way back gives SymPy's canonical form."""
    kept = {symengine.Symbol(s.name): _KeptSymbol(s.name, s) for s in expr.free_symbols}
    se_expr = symengine.sympify(expr).xreplace(kept)
    for sym, order in orders:
        target = kept.get(symengine.Symbol(sym.name))
        if target is None:
            return sympy.Integer(0)
        for _ in range(order):
            se_expr = se_expr.diff(target)
    return sympy.sympify(se_expr._sympy_())


_DIFF_CACHE_SIZE = 1024
_DIFFS: OrderedDict[tuple[Any, ...], sympy.Expr] = OrderedDict()
_DIFF_LOCK = threading.Lock()


def differentiate(
    expr: sympy.Expr,
    *orders: tuple[sympy.Symbol, int],
    backend: DiffBackend | None = None,
) -> sympy.Expr:
    """∂ⁿexpr/∂s₁ⁿ¹… for `(symbol, order)` pairs; `backend=None` picks with `choose_diff_backend`.

    Results are kept (a bounded LRU): a cell rerun, or the drift of every op, asks for the same
    derivatives again, and SymPy takes milliseconds for each.
    """
    key = (expr, orders, backend)
    with _DIFF_LOCK:
        if key in _DIFFS:
            _DIFFS.move_to_end(key)
            return _DIFFS[key]
    out = _differentiate(expr, orders, backend)
    with _DIFF_LOCK:
        _DIFFS[key] = out
        if len(_DIFFS) > _DIFF_CACHE_SIZE:
            _DIFFS.popitem(last=False)
    return out


def _differentiate(
    expr: sympy.Expr, orders: tuple[tuple[sympy.Symbol, int], ...], backend: DiffBackend | None
) -> sympy.Expr:
    chosen = backend or choose_diff_backend(expr)
    if chosen == "symengine":
        return _diff_symengine(expr, orders)
    if chosen != "sympy":
        raise CodexValueError(f"Differentiation backend `{chosen}` is unknown; use `sympy` or `symengine`.")
    out = expr
    for sym, order in orders:
        out = sympy.diff(out, sym, order)
    return out


# --------------------------------------------------------------------------------- integrals over a box


class _IntegrationWorker:
    """One long-lived SymPy process for integrals; killed (and later restarted) when it runs over time.

    A separate process is the only way to stop SymPy mid-integral. It is started with `python -I` on the
    worker file, so it imports nothing but SymPy and never re-runs the caller's `__main__`.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None

    def _ensure(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            script = Path(__file__).with_name("_integrate_worker.py")
            self._proc = subprocess.Popen(
                [sys.executable, "-I", str(script)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        return self._proc

    def _stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            self._proc = None

    def run(self, expr: sympy.Expr, limits: list[tuple[Any, ...]], budget: float) -> tuple[str, Any]:
        """("ok", result), ("error", message) or ("timeout", None)."""
        with self._lock:
            proc = self._ensure()
            box: list[Any] = []

            def receive() -> None:
                try:
                    box.append(read_message(proc.stdout))  # type: ignore[arg-type]
                except (EOFError, OSError, pickle.UnpicklingError) as err:
                    box.append(("error", f"the integration worker stopped ({err})"))

            try:
                write_message(proc.stdin, (expr, limits))  # type: ignore[arg-type]
            except OSError as err:
                self._stop()
                return ("error", f"the integration worker could not be reached ({err})")
            reader = threading.Thread(target=receive, daemon=True)
            reader.start()
            reader.join(budget)
            if not box:
                self._stop()
                reader.join()
                return ("timeout", None)
            if box[0][0] == "error" and proc.poll() is not None:
                self._stop()
            return box[0]


_WORKER = _IntegrationWorker()
atexit.register(_WORKER._stop)


def integrate_box(
    expr: sympy.Expr,
    limits: Sequence[tuple[sympy.Symbol, float, float]],
    *,
    time_budget_s: float = 5.0,
) -> sympy.Expr:
    """∫ expr over a box, exactly, in a SymPy worker process stopped after `time_budget_s` seconds.

    Raises `NoSymbolicForm` ("no closed form") when SymPy fails, leaves an unevaluated integral, or runs
    out of time, so the caller falls back to the wave path.
    """
    exact = [(s, as_number(lo), as_number(hi)) for s, lo, hi in limits]
    if not expr.free_symbols & {s for s, _, _ in exact}:
        return sympy.Mul(expr, *[hi - lo for _, lo, hi in exact])
    status, result = _WORKER.run(expr, exact, time_budget_s)
    if status == "timeout":
        raise NoSymbolicForm(
            f"SymPy found no closed form for the integral within {time_budget_s:g} s; "
            "the value is computed on the grid instead."
        )
    if status == "error" or result.has(sympy.Integral):
        detail = f" ({result})" if status == "error" else ""
        raise NoSymbolicForm(
            f"SymPy found no closed form for the integral{detail}; the value is computed on the grid instead."
        )
    return result
