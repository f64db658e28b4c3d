"""How a `Run` looks in Jupyter: a compact HTML table with a picture of each field (`run_html`) and a
plain-text summary (`run_text`).

Both read only the `Run` (no store, no Lab), so they are cheap to call from `_repr_html_` and
`_repr_pretty_`. Every piece of text that came from a cell (names, reasons, expressions, ids) is passed
through `html.escape`; long lists are cut. Field pictures are small PNGs inline (at most 64×64 cells,
`MAX_PICTURES` per run), so a run with a few fields adds tens of KB, not MB, to a saved notebook.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ValueRow", "value_rows", "run_html", "run_text"]

#: At most this many values, derivation steps per name and ids per list are shown.
MAX_VALUES = 40
MAX_STEPS = 8
MAX_IDS = 6
#: Longer strings (expressions, reasons) are cut to this many characters.
MAX_TEXT = 160


@dataclass(frozen=True)
class ValueRow:
    """One line of the values table: a name, its kind, shape, dtype, range (or value) and a note."""

    name: str
    kind: str
    shape: str = ""
    dtype: str = ""
    min: str = ""
    max: str = ""
    note: str = ""
    vetoed: bool = False


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    """`text`, shortened to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(x: float) -> str:
    """A number in 4 significant digits; NaN and ±inf spelled out."""
    return f"{x:.4g}" if math.isfinite(x) else repr(x)


def _array_row(name: str, value: Any) -> ValueRow:
    """A field's row: kind (field/vector/tensor), shape, dtype, min and max (of |z| when complex)."""
    data = np.asarray(value.values)
    dims = tuple(value.dims)
    kind = "tensor" if "component2" in dims else "vector" if "component" in dims else "field"
    real = np.abs(data) if np.iscomplexobj(data) else data
    lo = hi = ""
    if real.size:
        with np.errstate(all="ignore"):
            lo, hi = _num(float(np.nanmin(real))), _num(float(np.nanmax(real)))
    note = ", ".join(f"{d}:{n}" for d, n in zip(dims, data.shape, strict=False))
    return ValueRow(name, kind, "×".join(map(str, data.shape)), str(data.dtype), lo, hi, note)


def _value_row(name: str, value: Any) -> ValueRow:
    """The row of any run value (field, number, pair, measurement, vetoed name, other)."""
    import xarray as xr

    kind = type(value).__name__
    if isinstance(value, xr.DataArray):
        return _array_row(name, value)
    if kind == "Vetoed":
        return ValueRow(name, "vetoed", note=f"`{value.law}`: {value.reason}", vetoed=True)
    if kind == "EntangledPair":
        note = f"Schmidt rank {value.schmidt_rank}, entropy {float(value.entropy_bits):.4f} bits"
        return ValueRow(name, "pair", note=note)
    if kind == "Measurement":
        outcome = ", ".join(_num(float(c)) for c in value.outcome)
        return ValueRow(name, "measurement", note=f"at ({outcome}), probability {_num(float(value.probability))}")
    if isinstance(value, bool | np.bool_):
        return ValueRow(name, "bool", note=str(bool(value)))
    if isinstance(value, complex | np.complexfloating):
        z = complex(value)
        return ValueRow(name, "number", dtype="complex", note=f"{z.real:.6g}{z.imag:+.6g}i")
    if isinstance(value, int | float | np.number):
        return ValueRow(name, "number", dtype=type(value).__name__, note=f"{float(value):.6g}")
    return ValueRow(name, kind, note=_cut(repr(value)))


def value_rows(run: Any) -> list[ValueRow]:
    """One `ValueRow` per value of the run, in assignment order."""
    return [_value_row(str(k), v) for k, v in run.values.items()]


def _beam_names(run: Any) -> dict[str, str]:
    """Beam id → the value name it produced (or its token), to label qscores."""
    names = {b.beam_id: str(b.result.get("name") or b.token) for b in run.beams}
    names.update({v.beam_id: str(v.name) for v in run.values.values() if type(v).__name__ == "Vetoed"})
    return names


def _qscores(run: Any) -> list[tuple[str, float, str, float | None]]:
    """(label, qscore, rating, drift) of every scored beam."""
    names = _beam_names(run)
    return [
        (names.get(s.beam_id, "?"), float(s.qscore), str(s.rating), None if s.drift is None else float(s.drift))
        for s in run.scores
        if getattr(s, "qscore", None) is not None
    ]


def _vetoes(run: Any) -> list[tuple[str, str, str]]:
    """(name, law, reason) of every vetoed value, then of vetoes on beams that named no value."""
    found = [(str(v.name), str(v.law), str(v.reason)) for v in run.values.values() if type(v).__name__ == "Vetoed"]
    covered = {v.beam_id for v in run.values.values() if type(v).__name__ == "Vetoed"}
    names = _beam_names(run)
    for verdict in run.verdicts:
        if getattr(verdict, "outcome", None) == "veto" and verdict.beam_id not in covered:
            covered.add(verdict.beam_id)
            found.append((names.get(verdict.beam_id, verdict.beam_id), str(verdict.law), str(verdict.reason)))
    return found


def _derivation_steps(derivation: Any) -> list[tuple[str, str, str]]:
    """(rule, before, after) of each rewrite step, in Unicode notation."""
    from ..photon.printing import to_unicode

    return [(str(s.rule), to_unicode(s.before), to_unicode(s.after)) for s in getattr(derivation, "steps", [])]


def _stages(run: Any) -> Counter[str]:
    """How many beams the run has at each stage."""
    return Counter(str(b.stage) for b in run.beams)


def _some(items: Iterable[str], limit: int = MAX_IDS) -> tuple[list[str], int]:
    """The first `limit` items and how many more there were."""
    items = list(items)
    return items[:limit], max(len(items) - limit, 0)


# ------------------------------------------------------------------------------------------------ HTML

_CSS = (
    ".cx-run{font-family:var(--jp-ui-font-family,sans-serif);font-size:12px;line-height:1.35}"
    ".cx-run table{border-collapse:collapse;margin:2px 0 6px}"
    ".cx-run th,.cx-run td{padding:1px 8px;text-align:left;border-bottom:1px solid #8883}"
    ".cx-run .cx-veto{color:#b3261e}.cx-run .cx-dim{opacity:.7}.cx-run code{font-size:11px}"
)


def _table(head: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    """An HTML table; cells must already be escaped."""
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(
        f"<tr{f' class={chr(34)}{classes[i]}{chr(34)}' if classes and classes[i] else ''}>"
        + "".join(f"<td>{c}</td>" for c in row)
        + "</tr>"
        for i, row in enumerate(rows)
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _e(text: Any) -> str:
    return html.escape(_cut(str(text)))


def _pictures(run: Any) -> str:
    """The pictures of the run's fields (heatmap, line or mid-plane; |·| and arg of complex values)."""
    from ..qwave.pictures import pictures_html, value_pictures

    return pictures_html(*value_pictures(run.values))


def run_html(run: Any) -> str:
    """A compact HTML view of a run: values (kind, shape, min, max) and pictures of its fields, qscores,
    vetoes with their law and reason, derivations, beam counts by stage and the ids that resolve
    (`lab.replay`, `lab.qfc`)."""
    parts = [f"<div class='cx-run'><style>{_CSS}</style>"]
    stages = _stages(run)
    stage_text = ", ".join(f"{_e(k)} {v}" for k, v in sorted(stages.items()))
    parts.append(
        f"<div><b>Run</b> <code>{_e(run.run_id)}</code> · container <code>{_e(run.container_id)}</code> · "
        f"{len(run.beams)} beams ({stage_text}) · {float(run.duration_ms):.1f} ms</div>"
    )

    rows = value_rows(run)
    if rows:
        shown, more = rows[:MAX_VALUES], len(rows) - MAX_VALUES
        body = [
            [f"<code>{_e(r.name)}</code>", _e(r.kind), _e(r.shape), _e(r.dtype), _e(r.min), _e(r.max), _e(r.note)]
            for r in shown
        ]
        classes = ["cx-veto" if r.vetoed else "" for r in shown]
        parts.append(_table(["name", "kind", "shape", "dtype", "min", "max", "note"], body, classes))
        if more > 0:
            parts.append(f"<div class='cx-dim'>… {more} more values</div>")
        parts.append(_pictures(run))

    vetoes = _vetoes(run)
    if vetoes:
        items = "".join(
            f"<li><code>{_e(n)}</code> not bound: vetoed by <code>{_e(law)}</code>: {_e(reason)}</li>"
            for n, law, reason in vetoes[:MAX_VALUES]
        )
        parts.append(f"<div class='cx-veto'><b>vetoed</b><ul>{items}</ul></div>")

    scores = _qscores(run)
    if scores:
        body = [
            [f"<code>{_e(label)}</code>", f"{q:.3f}", _e(rating), "" if d is None else _e(_num(d))]
            for label, q, rating, d in scores[:MAX_VALUES]
        ]
        parts.append("<details><summary>qscores</summary>" + _table(["beam", "qscore", "rating", "drift"], body))
        parts.append("</details>")

    for name, derivation in list(run.derivations.items())[:MAX_VALUES]:
        steps = _derivation_steps(derivation)
        if not steps:
            continue
        body = [[_e(rule), f"<code>{_e(before)}</code>", f"<code>{_e(after)}</code>"] for rule, before, after in steps]
        extra = len(body) - MAX_STEPS
        parts.append(
            f"<details><summary>derivation of <code>{_e(name)}</code> ({len(steps)} steps)</summary>"
            + _table(["rule", "before", "after"], body[:MAX_STEPS])
            + (f"<div class='cx-dim'>… {extra} more steps</div>" if extra > 0 else "")
            + "</details>"
        )

    ids = [f"GHX <code>{_e(run.ghx_id)}</code>"]
    if run.qfc_id:
        ids.append(f"QFC <code>{_e(run.qfc_id)}</code>")
    ids.append(f"cell <code>{_e(run.cell_id)}</code>")
    eids, more_eids = _some(run.eids)
    if eids:
        listed = ", ".join(f"<code>{_e(x)}</code>" for x in eids)
        ids.append(f"eids {listed}" + (f" (+{more_eids})" if more_eids else ""))
    parts.append(f"<div class='cx-dim'>{' · '.join(ids)}</div></div>")
    return "".join(parts)


# ------------------------------------------------------------------------------------------------ text


def run_text(run: Any) -> str:
    """A plain-text summary of a run (what a terminal IPython shows): values, vetoes, qscores,
    derivations, beam counts by stage and ids."""
    stages = _stages(run)
    lines = [
        f"Run {run.run_id} · container {run.container_id} · {len(run.beams)} beams "
        f"({', '.join(f'{k} {v}' for k, v in sorted(stages.items()))}) · {float(run.duration_ms):.1f} ms"
    ]
    rows = value_rows(run)
    for r in rows[:MAX_VALUES]:
        if r.vetoed:
            lines.append(f"  {r.name}: vetoed by {r.note} (not bound)")
        elif r.shape:
            lines.append(f"  {r.name}: {r.kind} {r.shape} {r.dtype}, min {r.min}, max {r.max}")
        else:
            lines.append(f"  {r.name}: {r.kind} {r.note}".rstrip())
    if len(rows) > MAX_VALUES:
        lines.append(f"  … {len(rows) - MAX_VALUES} more values")
    named_vetoes = {r.name for r in rows if r.vetoed}
    for name, law, reason in _vetoes(run):
        if name not in named_vetoes:
            lines.append(f"  vetoed: {name} by `{law}`: {_cut(reason)}")
    scores = _qscores(run)
    if scores:
        lines.append("  qscores: " + ", ".join(f"{label} {q:.3f} ({rating})" for label, q, rating, _ in scores[:12]))
    for name, derivation in list(run.derivations.items())[:MAX_VALUES]:
        steps = _derivation_steps(derivation)
        if steps:
            rules = " → ".join(rule for rule, _, _ in steps[:MAX_STEPS]) + (" …" if len(steps) > MAX_STEPS else "")
            lines.append(f"  derivation of {name}: {_cut(steps[0][1])} ⇒ {_cut(steps[-1][2])} [{rules}]")
    lines.append(f"  GHX replay id: {run.ghx_id}" + (f" · QFC id: {run.qfc_id}" if run.qfc_id else ""))
    eids, more = _some(run.eids)
    if eids:
        lines.append(f"  eids: {', '.join(eids)}" + (f" (+{more})" if more else ""))
    return "\n".join(lines)
