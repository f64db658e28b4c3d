"""Repairs from a drift report: ranked scroll patches, each with the qscore SQI would predict for it.

A repair never creates a value. It may **rename** a missing name to one the container already has (by
name distance and kind), or **change a directive** (`@method fd4`, `@method spectral`, `@method exact`,
`@precision fp64`, a finer `@grid` for a cell that sets its own). A fix that would need a new definition
— a library scroll's definition of a missing name — is a **proposal**: ranked and recorded, never run.

Predicted drift follows the method's order p (error ≈ C·h^p): halving h divides it by 2^p, and moving
from order p to q on the same grid multiplies it by h^(q−p). Spectral derivatives on periodic axes are
taken as order `SPECTRAL_ORDER`. fp64 removes precision drift; the exact path has no discretization drift.
predicted_qscore = qscore(1, exp(−drift/τ), goal, rewrite); for a missing-name fix the goal factor is
the name match (difflib ratio, plus a bonus when the kinds agree), so closer names rank higher.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from codexlab.lang import ast, parse
from codexlab.lang.scrolls import ScrollLibrary, build_scroll, inject
from codexlab.sqi.drift import DriftReport
from codexlab.sqi.scoring import TAU, qscore

__all__ = ["CellSettings", "RepairCandidate", "SPECTRAL_ORDER", "predict_drift", "repair_from_drift"]

SPECTRAL_ORDER = 8
_ORDERS = {"fd2": 2, "fd4": 4, "spectral": SPECTRAL_ORDER}
_VECTOR_USES = frozenset({"∇·", "∇×", "•", "×", "⊗"})
_KIND_BONUS = 0.2
_MIN_RATIO = 0.5


@dataclass(frozen=True)
class RepairCandidate:
    """One patch: what it does, the patched scroll (parses), its predicted drift and qscore. A `proposal`
    would define a new value and is never applied, only recorded."""

    kind: str
    description: str
    patched_scroll: str
    predicted_qscore: float
    predicted_drift: float | None = None
    proposal: bool = False


# ------------------------------------------------------------------------------------------- scroll


def _directive(scroll: ast.Scroll, name: str) -> tuple[int, ast.Directive] | None:
    for i, s in enumerate(scroll.statements):
        if isinstance(s, ast.Directive) and s.name == name:
            return i, s
    return None


def _word(scroll: ast.Scroll, name: str, default: str) -> str:
    found = _directive(scroll, name)
    if found is None:
        return default
    words = [a.value for a in found[1].args if isinstance(a, ast.Word)]
    return str(words[0]) if words else default


def _set_directive(scroll: ast.Scroll, directive: ast.Directive) -> str:
    """The scroll with `directive` replacing the one of its name, or put after the leading directives."""
    found = _directive(scroll, directive.name)
    if found is not None:
        return build_scroll(inject(scroll, directive, at=found[0], replace=True))
    return build_scroll(inject(scroll, directive, at=_lead(scroll)))


def _lead(scroll: ast.Scroll) -> int:
    """Index after the leading directives."""
    n = 0
    for s in scroll.statements:
        if not isinstance(s, ast.Directive):
            break
        n += 1
    return n


#: What a cell without `@grid`/`@method`/`@precision` lines runs with: the container's current settings.
@dataclass(frozen=True)
class CellSettings:
    """The container's grid (axes and `bc` options), method and precision, for cells that do not set them."""

    axes: tuple[ast.AxisSpec, ...] = (ast.AxisSpec("x", -1, 1, 128), ast.AxisSpec("y", -1, 1, 128))
    options: tuple[ast.Option, ...] = ()
    method: str = "auto"
    precision: str = "auto"

    @classmethod
    def of(cls, grid: Any, method: str = "auto", precision: str = "auto") -> CellSettings:
        """From a `qwave.Grid` (anything with `axes` of name/lo/hi/n/bc) and the container's method/precision."""
        axes = tuple(ast.AxisSpec(a.name, a.lo, a.hi, a.n) for a in grid.axes)
        options = tuple(ast.Option(f"bc_{a.name}", a.bc) for a in grid.axes if a.bc != "periodic")
        return cls(axes, options, method, precision)


def _grid(scroll: ast.Scroll, settings: CellSettings) -> tuple[list[ast.AxisSpec], list[ast.Option]]:
    found = _directive(scroll, "grid")
    if found is None:
        return list(settings.axes), list(settings.options)
    args = found[1].args
    return [a for a in args if isinstance(a, ast.AxisSpec)], [a for a in args if isinstance(a, ast.Option)]


def _spacing(axes: Sequence[ast.AxisSpec], periodic: Mapping[str, bool]) -> float:
    return max((a.hi - a.lo) / (a.n if periodic[a.name] else max(a.n - 1, 1)) for a in axes)


def _periodic(axes: Sequence[ast.AxisSpec], options: Sequence[ast.Option]) -> dict[str, bool]:
    opts = {o.key: str(o.value) for o in options}
    return {a.name: opts.get(f"bc_{a.name}", opts.get("bc", "periodic")) == "periodic" for a in axes}


# ------------------------------------------------------------------------------------------ predict


def predict_drift(drift: float, h: float, order: int, *, new_order: int | None = None, refine: int = 1) -> float:
    """The drift after refining h by `refine` (divides by refine^order) and/or moving to `new_order`."""
    q = order if new_order is None else new_order
    value = drift / float(refine) ** q
    if q != order:
        value *= h ** (q - order)
    return value


def _q(drift: float | None, goal: float, rewrite: float) -> float:
    acc = 1.0 if drift is None else math.exp(-drift / TAU)
    return qscore(1.0, acc, max(0.0, min(goal, 1.0)), max(0.0, min(rewrite, 1.0)))


def _components(report: DriftReport, kind: str) -> float | None:
    return max((c.value for c in report.components if c.kind == kind), default=None)


# ------------------------------------------------------------------------------------- missing names


def _missing_names(report: DriftReport) -> list[str]:
    names: list[str] = []
    for gap in report.gaps:
        if gap.kind == "missing_dependency":
            names += re.findall(r"`([^`]+)`", gap.detail)
    return list(dict.fromkeys(names))


def _walk(node: Any) -> Iterable[Any]:
    yield node
    if isinstance(node, ast.Node):
        for value in vars(node).values():
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, ast.Node):
                    yield from _walk(item)


def _expected_kind(scroll: ast.Scroll, name: str) -> str:
    """`vector` when the name is an operand of a vector op (∇·, ∇×, •, ×, ⊗), else `field`."""
    for node in _walk(scroll):
        operands: tuple[Any, ...] = ()
        if isinstance(node, ast.Unary) and node.op in _VECTOR_USES:
            operands = (node.operand,)
        elif isinstance(node, ast.Binary) and node.op in _VECTOR_USES:
            operands = (node.left, node.right)
        if any(isinstance(o, ast.Name) and o.id == name for o in operands):
            return "vector"
    return "field"


def _kind_of(expr: Any) -> str:
    """The kind a definition's value has: a pair (`↔`, `⊗`), a measurement (`⧖`), a vector or a field."""
    if isinstance(expr, ast.Binary) and expr.op in ("↔", "⊗"):
        return "pair"
    if isinstance(expr, ast.Unary) and expr.op == "⧖":
        return "measurement"
    return "vector" if isinstance(expr, ast.Vector) or (isinstance(expr, ast.Unary) and expr.op == "∇") else "field"


#: Greek letters spelled out, so `phi` matches `φ` and `psi` matches `ψ` by name.
_GREEK = {
    "α": "alpha",
    "β": "beta",
    "γ": "gamma",
    "δ": "delta",
    "ε": "epsilon",
    "ζ": "zeta",
    "η": "eta",
    "θ": "theta",
    "κ": "kappa",
    "λ": "lambda",
    "μ": "mu",
    "ν": "nu",
    "ξ": "xi",
    "π": "pi",
    "ρ": "rho",
    "σ": "sigma",
    "τ": "tau",
    "φ": "phi",
    "χ": "chi",
    "ψ": "psi",
    "ω": "omega",
}


def _spelled(name: str) -> str:
    return "".join(_GREEK.get(ch, ch) for ch in name)


def _name_ratio(a: str, b: str) -> float:
    """Name similarity (difflib), also between spelled-out Greek letters (`psi` ~ `ψ`)."""
    return max(
        difflib.SequenceMatcher(None, a, b).ratio(), difflib.SequenceMatcher(None, _spelled(a), _spelled(b)).ratio()
    )


def rename(node: Any, old: str, new: str) -> Any:
    """An AST (a scroll, statement or expression) with every use of the name `old` reading `new`."""
    if isinstance(node, ast.Name):
        return dataclasses.replace(node, id=new) if node.id == old else node
    if not isinstance(node, ast.Node):
        return node
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, tuple) and any(isinstance(v, ast.Node) for v in value):
            renamed = tuple(rename(v, old, new) for v in value)
            if any(a is not b for a, b in zip(renamed, value, strict=True)):
                changes[f.name] = renamed
        elif isinstance(value, ast.Node):
            renamed = rename(value, old, new)
            if renamed is not value:
                changes[f.name] = renamed
    return dataclasses.replace(node, **changes) if changes else node


def _names_in(expr: Any) -> set[str]:
    return {n.id for n in _walk(expr) if isinstance(n, ast.Name)}


def _first_use(scroll: ast.Scroll, name: str) -> int:
    for i, s in enumerate(scroll.statements):
        if not isinstance(s, ast.Directive) and name in _names_in(s):
            return i
    return len(scroll.statements)


Bound = ast.Definition | ast.Assignment


def _library_defs(library: ScrollLibrary) -> list[tuple[str, Bound, dict[str, Bound]]]:
    """(scroll name, definition, the scroll's definitions by name) for every library definition."""
    out: list[tuple[str, Bound, dict[str, Bound]]] = []
    for scroll_name in library.list():
        try:
            scroll = library.load(scroll_name)
        except Exception:  # noqa: BLE001 - a broken library file is skipped, not fatal to a repair
            continue
        defs: dict[str, Bound] = {
            s.name: s for s in scroll.statements if isinstance(s, ast.Definition | ast.Assignment)
        }
        out += [(scroll_name, s, defs) for s in defs.values()]
    return out


def _with_deps(stmt: Any, defs: Mapping[str, Any], known: set[str]) -> list[Any]:
    """`stmt` preceded by the library definitions it needs that the target scroll lacks."""
    needed: list[Any] = []
    todo = [n for n in _names_in(stmt.value) if n not in known]
    seen: set[str] = set()
    while todo:
        n = todo.pop()
        if n in seen or n not in defs:
            continue
        seen.add(n)
        needed.insert(0, defs[n])
        todo += [m for m in _names_in(defs[n].value) if m not in known]
    return needed + [stmt]


def _name_candidates(
    report: DriftReport,
    scroll: ast.Scroll,
    library: ScrollLibrary | None,
    memory_names: Sequence[str],
    drift: float | None,
    rewrite: float,
) -> list[RepairCandidate]:
    out: list[RepairCandidate] = []
    bound = {s.name for s in scroll.statements if isinstance(s, (ast.Definition, ast.Assignment))}
    known = bound | set(memory_names)
    library_defs = _library_defs(library) if library is not None else []
    for missing in _missing_names(report):
        want = _expected_kind(scroll, missing)
        at = _first_use(scroll, missing)
        for earlier in dict.fromkeys(memory_names):
            ratio = _name_ratio(missing, earlier)
            if earlier == missing or ratio < _MIN_RATIO:
                continue
            out.append(
                RepairCandidate(
                    "rename",
                    f"read `{earlier}` (a name the container has) where the cell wrote `{missing}` "
                    f"(name match {ratio:.2f})",
                    build_scroll(rename(scroll, missing, earlier)),
                    _q(drift, ratio, rewrite),
                    drift,
                )
            )
        for scroll_name, stmt, defs in library_defs:
            ratio = _name_ratio(missing, stmt.name)
            if ratio < _MIN_RATIO or _kind_of(stmt.value) in ("pair", "measurement"):
                continue  # an operator needs a field where the name is used; a pair or record cannot be one
            goal = min(1.0, ratio + (_KIND_BONUS if _kind_of(stmt.value) == want else 0.0)) * (
                1.0 if _kind_of(stmt.value) == want else 0.8
            )
            renamed = ast.Definition(missing, stmt.value)
            statements = _with_deps(renamed, defs, known)
            out.append(
                RepairCandidate(
                    "propose_definition",
                    f"proposal, not applied (it would make a new value): define `{missing}` from `{stmt.name}` "
                    f"of library scroll `{scroll_name}` (name match {ratio:.2f}, {_kind_of(stmt.value)})",
                    build_scroll(inject(scroll, statements, at=at)),
                    _q(drift, goal, rewrite),
                    drift,
                    proposal=True,
                )
            )
    return out


# ----------------------------------------------------------------------------------- discretization


def _numeric_candidates(
    report: DriftReport, scroll: ast.Scroll, rewrite: float, settings: CellSettings
) -> list[RepairCandidate]:
    out: list[RepairCandidate] = []
    disc = _components(report, "discretization")
    prec = _components(report, "precision")
    other = _components(report, "run") or 0.0
    method = _word(scroll, "method", settings.method)
    precision = _word(scroll, "precision", settings.precision)
    axes, options = _grid(scroll, settings)
    periodic = _periodic(axes, options)
    h = _spacing(axes, periodic)
    order = _ORDERS.get(method, 2)

    def total(d: float | None, p: float | None) -> float:
        return max(d or 0.0, p or 0.0, other)

    if disc is not None and disc > 0:
        if method in ("fd2", "auto"):
            d = predict_drift(disc, h, order, new_order=4)
            out.append(
                RepairCandidate(
                    "fd_order",
                    f"fourth-order differences (`@method fd4`): drift ≈ {disc:.3g}·h² → {d:.3g}",
                    _set_directive(scroll, ast.Directive("method", (ast.Word("fd4"),))),
                    _q(total(d, prec), 1.0, rewrite),
                    total(d, prec),
                )
            )
        if _directive(scroll, "grid") is not None:  # a cell on its container's grid cannot change it alone
            d = predict_drift(disc, h, order, refine=2)
            finer = [ast.AxisSpec(a.name, a.lo, a.hi, a.n * 2) for a in axes]
            out.append(
                RepairCandidate(
                    "finer_grid",
                    f"double the points per axis: drift ÷ 2^{order} → {d:.3g}",
                    _set_directive(scroll, ast.Directive("grid", (*finer, *options))),
                    _q(total(d, prec), 1.0, rewrite),
                    total(d, prec),
                )
            )
        if method != "spectral" and all(periodic.values()):
            d = predict_drift(disc, h, order, new_order=SPECTRAL_ORDER)
            out.append(
                RepairCandidate(
                    "spectral",
                    f"spectral derivatives on the periodic axes (`@method spectral`): drift → {d:.3g}",
                    _set_directive(scroll, ast.Directive("method", (ast.Word("spectral"),))),
                    _q(total(d, prec), 1.0, rewrite),
                    total(d, prec),
                )
            )
        out.append(
            RepairCandidate(
                "exact",
                "evaluate exactly where the values are analytic (`@method exact`): no discretization drift",
                _set_directive(scroll, ast.Directive("method", (ast.Word("exact"),))),
                _q(total(0.0, prec), 1.0, rewrite),
                total(0.0, prec),
            )
        )
    if (prec is not None and prec > 0) or (precision not in ("fp64", "auto") and disc is not None):
        out.append(
            RepairCandidate(
                "precision",
                f"compute in fp64 (`@precision fp64`, was `{precision}`): precision drift → 0",
                _set_directive(scroll, ast.Directive("precision", (ast.Word("fp64"),))),
                _q(total(disc, 0.0), 1.0, rewrite),
                total(disc, 0.0),
            )
        )
    return out


# ------------------------------------------------------------------------------------------- entry


def repair_from_drift(
    report: DriftReport,
    scroll_text: str,
    library: ScrollLibrary | None = None,
    memory_names: Sequence[str] = (),
    *,
    rewrite: float = 1.0,
    settings: CellSettings | None = None,
) -> list[RepairCandidate]:
    """Ranked repair candidates (best predicted qscore first) for a cell's drift report and scroll text.

    `settings` are the container's grid, method and precision, used where the cell sets none (default:
    the 128² periodic grid, fd2, auto — what a new container runs).

    A missing name is renamed to one of `memory_names` (the container's names), by edit distance; the
    scroll `library`'s definitions of it are proposals only (`proposal=True`). Discretization and
    precision drift get a higher FD order, a finer grid (when the cell sets its own `@grid`), spectral
    derivatives (all axes periodic), `@method exact` and fp64. Every `patched_scroll` is canonical text
    built with the scroll injector and parses.
    """
    scroll = parse(scroll_text)
    lib = library if library is not None else ScrollLibrary()
    drift = report.drift
    out = _name_candidates(report, scroll, lib, memory_names, drift, rewrite)
    out += _numeric_candidates(report, scroll, rewrite, settings or CellSettings())
    unique: dict[str, RepairCandidate] = {}
    for cand in out:
        key = cand.patched_scroll
        if key not in unique or unique[key].predicted_qscore < cand.predicted_qscore:
            unique[key] = cand
    return sorted(unique.values(), key=lambda c: -c.predicted_qscore)
