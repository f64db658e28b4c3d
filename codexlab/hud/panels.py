"""QFC payloads → compact, JSON-safe panel data for the HUD (pure Python, no widget imports).

The HUD reads the QFC envelopes a run published (`lab.qfc(run.qfc_id)` or `qfc_update` bus events); it
never recomputes them. `Panels` folds envelopes in one at a time, so the live bus feed and a stored run
give the same result. Every list is capped so the synced widget state stays small.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MAX_BEAMS", "MAX_RUNS", "MAX_ROWS", "Panels", "panels_from_updates", "mutation_rows", "panels_html"]

#: The newest beams kept in the timeline and the lineage DAG.
MAX_BEAMS = 200
#: Runs kept in the SQI/drift history.
MAX_RUNS = 100
#: Rows kept in the other tables (vetoes, mutations, entanglement, costs, precision).
MAX_ROWS = 100
_TEXT = 160
_VETO = re.compile(r"^vetoed by `(?P<law>[^`]*)`: (?P<reason>.*)$", re.DOTALL)


def _text(value: Any, limit: int = _TEXT) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(value: Any) -> float | None:
    """A finite float (6 significant digits), or None (NaN, inf, strings and missing values)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return float(f"{value:.6g}") if math.isfinite(value) else None


def _payload(update: Any) -> tuple[str, dict[str, Any]]:
    """(container id, payload) of a `QfcUpdate` or of its JSON dict (as published on the bus)."""
    if hasattr(update, "model_dump"):
        update = update.model_dump(mode="json")
    source = str(update.get("source", ""))
    return source.removeprefix("container::"), dict(update.get("payload") or {})


def _layers(nodes: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest-path depth of each node (roots at 0); nodes arrive in beam order, parents first or not."""
    parents: dict[str, list[str]] = {n: [] for n in nodes}
    for src, dst in edges:
        parents[dst].append(src)
    depth: dict[str, int] = {}

    def visit(node: str, seen: frozenset[str]) -> int:
        if node in depth:
            return depth[node]
        ups = [p for p in parents[node] if p not in seen]
        depth[node] = 1 + max((visit(p, seen | {node}) for p in ups), default=-1)
        return depth[node]

    for node in nodes:
        visit(node, frozenset())
    return depth


def mutation_rows(mutations: Iterable[Any]) -> list[dict[str, Any]]:
    """DNA mutations (contract 5, models or dicts) as table rows, newest last, capped."""
    rows = []
    for m in mutations:
        d = m.model_dump(mode="json") if hasattr(m, "model_dump") else dict(m)
        meta = d.get("metadata") or {}
        rows.append(
            {
                "mutation_id": _text(d.get("mutation_id")),
                "timestamp": _text(d.get("timestamp")),
                "original": _text((d.get("original") or {}).get("glyph")),
                "mutated": _text((d.get("mutated") or {}).get("glyph")),
                "reason": _text(meta.get("reason")),
                "accepted": d.get("accepted"),
                "qscore_before": _num(d.get("qscore_before")),
                "qscore_after": _num(d.get("qscore_after")),
            }
        )
    return rows[-MAX_ROWS:]


class Panels:
    """Panel data of the runs folded in so far: the last run's beams, DAG, vetoes, costs; a run history."""

    def __init__(self, container: str | None = None) -> None:
        self.container = container
        self.run_id = ""
        self.cell_id = ""
        self.statements: list[str] = []
        self.timeline: list[dict[str, Any]] = []
        self.lineage: dict[str, Any] = {"nodes": [], "edges": [], "dropped": 0}
        self.entanglement: list[dict[str, Any]] = []
        self.vetoes: list[dict[str, Any]] = []
        self.costs: list[dict[str, Any]] = []
        self.precision: dict[str, Any] = {}
        self.mutations: list[dict[str, Any]] = []
        #: Pictures of the run's fields (`codexlab.qwave.pictures.value_pictures`), when the HUD was given
        #: the `Run` itself; QFC payloads carry no field values.
        self.fields: list[dict[str, Any]] = []
        self.fields_left = 0
        self.history: dict[str, dict[str, Any]] = {}
        #: True while the run is executing (only live timeline envelopes seen so far).
        self.live = False
        #: The running loop's `{label, done, total, fused}`, or None.
        self.progress: dict[str, Any] | None = None
        #: The last sheet run (`scope: sheet`) and the container's stale cells (`scope: container`).
        self.sheet: dict[str, Any] = {}

    # ------------------------------------------------------------------------------------- folding

    def accepts(self, update: Any) -> bool:
        """Whether an envelope belongs to this HUD's container (any container when none was given)."""
        cid, payload = _payload(update)
        return bool(payload.get("kind")) and (self.container is None or cid == self.container)

    def apply(self, update: Any) -> bool:
        """Fold one QFC envelope in; False when it is for another container or of an unknown kind."""
        if not self.accepts(update):
            return False
        _, payload = _payload(update)
        kind = payload["kind"]
        run_id = str(payload.get("run_id", ""))
        if run_id and run_id != self.run_id and kind != "qpu_precision_profile":
            self._new_run(run_id)
        handler = getattr(self, f"_on_{kind}", None)
        if handler is None:
            return False
        handler(payload)
        return True

    def _new_run(self, run_id: str) -> None:
        self.run_id = run_id
        self.cell_id = ""
        self.statements = []
        self.timeline, self.vetoes, self.costs, self.entanglement = [], [], [], []
        self.lineage = {"nodes": [], "edges": [], "dropped": 0}
        self.precision = {}
        self.fields, self.fields_left = [], 0
        self.live, self.progress = False, None

    def _run_row(self) -> dict[str, Any]:
        row = self.history.pop(self.run_id, None) or {"run_id": self.run_id}
        self.history[self.run_id] = row  # newest last
        while len(self.history) > MAX_RUNS:
            self.history.pop(next(iter(self.history)))
        return row

    def _on_qpu_cell_update(self, p: Mapping[str, Any]) -> None:
        self.cell_id = _text(p.get("cell_id"))
        self.statements = [_text(s) for s in (p.get("statements") or [])][:MAX_ROWS]
        vetoes = []
        for name, description in (p.get("values") or {}).items():
            match = _VETO.match(str(description))
            if match:
                vetoes.append({"name": _text(name), "law": _text(match["law"]), "reason": _text(match["reason"])})
        self.vetoes = vetoes[:MAX_ROWS]
        self._run_row()["cell_id"] = self.cell_id

    def _on_qpu_sheet_metrics(self, p: Mapping[str, Any]) -> None:
        if p.get("scope") in ("sheet", "container"):
            self.sheet = _sheet_panel(p, self.sheet)
            return
        row = self._run_row()
        row.update(
            beams=int(p.get("beams") or 0),
            vetoes=int(p.get("vetoes") or 0),
            duration_ms=_num(p.get("duration_ms")),
            qscore_mean=_num(p.get("qscore_mean")),
            qscore_min=_num(p.get("qscore_min")),
        )
        row.setdefault("drift_max", None)

    def _on_qpu_beam_timeline(self, p: Mapping[str, Any]) -> None:
        beams = list(p.get("beams") or [])
        if p.get("live"):
            self._live_timeline(beams, p.get("progress"))
            return
        self.live, self.progress = False, None
        self.timeline = [self._row(b) for b in beams[-MAX_BEAMS:]]
        drifts = [d for d in (_num(b.get("drift")) for b in beams) if d is not None]
        self._run_row()["drift_max"] = max(drifts) if drifts else None
        self.costs = self._costs(beams)

    def _live_timeline(self, beams: list[Mapping[str, Any]], progress: Any) -> None:
        """A running cell's envelope: append its new beams, show its loop progress (committed ones replace)."""
        self.live = True
        self.timeline = (self.timeline + [self._row(b) for b in beams])[-MAX_BEAMS:]
        if isinstance(progress, Mapping):
            total = int(progress.get("total") or 0)
            self.progress = {
                "label": _text(progress.get("label"), 40),
                "done": max(0, min(int(progress.get("done") or 0), total)),
                "total": total,
                "fused": bool(progress.get("fused")),
            }
        else:
            self.progress = None

    @staticmethod
    def _row(b: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "id": _text(b.get("beam_id"), 200),
            "stage": _text(b.get("stage"), 24),
            "token": _text(b.get("token"), 40),
            "ts": _text(b.get("timestamp"), 40),
            "ms": _num(b.get("duration_ms")),
            "q": _num(b.get("qscore")),
            "drift": _num(b.get("drift")),
            "verdict": _text(b.get("verdict"), 16) or None,
        }

    @staticmethod
    def _costs(beams: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Per opcode, means per beam: measured ms (`mean_ms`), XLA compile ms inside it (`compile_ms`),
        the rest (`run_ms`, the steady-state time), the predicted ms and predicted ÷ run (`pred_ratio`).

        `compile_ms` comes from each beam's result; when any timed beam of the op lacks it, the op's
        compile time is unknown (None, not 0) and `run_ms` is the mean over the beams that have it.
        """
        by_op: dict[str, dict[str, Any]] = {}
        for b in beams:
            ms = _num(b.get("duration_ms"))
            if ms is None:
                continue
            s = by_op.setdefault(
                _text(b.get("token"), 40),
                {"n": 0, "total": 0.0, "cn": 0, "compile": 0.0, "run": 0.0, "pn": 0, "pred": 0.0},
            )
            s["n"] += 1
            s["total"] += ms
            compile_ms = _num(b.get("compile_ms"))
            if compile_ms is not None:
                s["cn"] += 1
                s["compile"] += compile_ms
                s["run"] += max(ms - compile_ms, 0.0)
            predicted = _num(b.get("predicted_ms"))
            if predicted is not None:
                s["pn"] += 1
                s["pred"] += predicted
        rows = []
        for name, s in by_op.items():
            run_ms = s["run"] / s["cn"] if s["cn"] else None
            predicted_ms = s["pred"] / s["pn"] if s["pn"] else None
            rows.append(
                {
                    "op": name,
                    "count": s["n"],
                    "total_ms": round(s["total"], 6),
                    "mean_ms": round(s["total"] / s["n"], 6),
                    "compile_ms": round(s["compile"] / s["cn"], 6) if s["cn"] == s["n"] else None,
                    "run_ms": None if run_ms is None else round(run_ms, 6),
                    "predicted_ms": None if predicted_ms is None else round(predicted_ms, 6),
                    "pred_ratio": _num(predicted_ms / run_ms) if predicted_ms is not None and run_ms else None,
                }
            )
        rows.sort(key=lambda r: -r["total_ms"])
        return rows[:MAX_ROWS]

    def _on_qpu_beam_lineage(self, p: Mapping[str, Any]) -> None:
        all_nodes = list(p.get("nodes") or [])
        nodes = all_nodes[-MAX_BEAMS:]
        ids = [str(n.get("id")) for n in nodes]
        kept = set(ids)
        edges = [
            (str(e.get("from")), str(e.get("to")))
            for e in (p.get("edges") or [])
            if str(e.get("from")) in kept and str(e.get("to")) in kept
        ]
        depth = _layers(ids, edges)
        self.lineage = {
            "nodes": [
                {"id": i, "stage": _text(n.get("stage"), 24), "token": _text(n.get("token"), 40), "layer": depth[i]}
                for i, n in zip(ids, nodes, strict=True)
            ],
            "edges": [{"from": a, "to": b} for a, b in edges],
            "dropped": len(all_nodes) - len(nodes),
        }

    def _on_qpu_entanglement_map(self, p: Mapping[str, Any]) -> None:
        mapping = p.get("map") or {}
        self.entanglement = [
            {"eid": _text(eid, 200), "members": [_text(m, 80) for m in list(members or [])[:20]]}
            for eid, members in list(mapping.items())[:MAX_ROWS]
        ]

    def _on_qpu_precision_profile(self, p: Mapping[str, Any]) -> None:
        rows = list(p.get("rows") or [])[: MAX_ROWS * 4]
        ops = list(dict.fromkeys(_text(r.get("op"), 40) for r in rows))[:MAX_ROWS]
        formats = list(dict.fromkeys(_text(r.get("format"), 24) for r in rows))[:16]
        cells = [
            {
                "op": _text(r.get("op"), 40),
                "format": _text(r.get("format"), 24),
                "rel_err": _num(r.get("mean_rel_err")),
                "ms": _num(r.get("mean_ms")),
                "nonfinite": int(r.get("nonfinite") or 0),
            }
            for r in rows
            if _text(r.get("op"), 40) in ops and _text(r.get("format"), 24) in formats
        ]
        self.precision = {"ops": ops, "formats": formats, "cells": cells}

    # ------------------------------------------------------------------------------------- output

    def to_dict(self) -> dict[str, Any]:
        """The panel data: plain JSON types only, every list capped."""
        return {
            "container": self.container or "",
            "run_id": self.run_id,
            "cell_id": self.cell_id,
            "statements": self.statements,
            "timeline": self.timeline,
            "lineage": self.lineage,
            "entanglement": self.entanglement,
            "sqi": list(self.history.values()),
            "vetoes": self.vetoes,
            "mutations": self.mutations,
            "costs": self.costs,
            "precision": self.precision,
            "fields": self.fields,
            "fields_left": self.fields_left,
            "live": self.live,
            "progress": self.progress,
            "sheet": self.sheet,
        }


def _sheet_panel(p: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    """The sheet panel: a sheet run's cells and timings, or a container's cells with the stale ones marked.

    `cells` rows: `cell_id`, `status` (ran, cached, failed, not run; or current, stale), `ms`,
    `start_ms`, `end_ms`, `reads`, `writes`, `changed` (the names that made a cell stale). A container
    update keeps the last sheet run's metrics beside its rows."""
    rows = [
        {
            "cell_id": _text(r.get("cell_id"), 80),
            "status": _text(r.get("status"), 16),
            "ms": _num(r.get("ms")),
            "start_ms": _num(r.get("start_ms")),
            "end_ms": _num(r.get("end_ms")),
            "reads": [_text(n, 40) for n in list(r.get("reads") or [])[:20]],
            "writes": [_text(n, 40) for n in list(r.get("writes") or [])[:20]],
            "changed": [_text(n, 40) for n in list(r.get("changed") or [])[:20]],
        }
        for r in list(p.get("rows") or [])[-MAX_ROWS:]
    ]
    if p.get("scope") == "container":
        return {
            **previous,
            "container_cells": rows,
            "stale": [_text(c, 80) for c in list(p.get("stale") or [])[:MAX_ROWS]],
        }
    return {
        **{k: v for k, v in previous.items() if k in ("container_cells", "stale")},
        "sheet_run_id": _text(p.get("sheet_run_id")),
        "name": _text(p.get("sheet")),
        "cells": rows,
        "jobs": int(p.get("jobs") or 1),
        "wall_ms": _num(p.get("wall_ms")),
        "cells_ms": _num(p.get("cells_ms")),
        "speedup": _num(p.get("speedup")),
        "critical_path": [_text(c, 80) for c in list(p.get("critical_path") or [])[:MAX_ROWS]],
        "critical_path_ms": _num(p.get("critical_path_ms")),
    }


def panels_from_updates(updates: Iterable[Any], container: str | None = None) -> dict[str, Any]:
    """Panel data of one run's QFC envelopes (as `lab.qfc(run.qfc_id)` returns them)."""
    panels = Panels(container)
    for update in updates:
        panels.apply(update)
    return panels.to_dict()


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return html.escape(", ".join(map(str, value)))
    return html.escape(str(value))


def _table(title: str, columns: list[str], rows: list[dict[str, Any]], limit: int = 20) -> str:
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c))}</td>" for c in columns) + "</tr>" for r in rows[-limit:])
    more = f"<div class='cx-hud-dim'>… {len(rows) - limit} earlier rows</div>" if len(rows) > limit else ""
    summary = f"<summary>{html.escape(title)}</summary>"
    return f"<details open>{summary}<table><tr>{head}</tr>{body}</table>{more}</details>"


def _pictures(data: Mapping[str, Any]) -> str:
    fields = data.get("fields") or []
    if not fields:
        return ""
    from ..qwave.pictures import pictures_html

    count = sum(len(g["pictures"]) for g in fields)
    body = pictures_html(list(fields), int(data.get("fields_left") or 0))
    return f"<details open><summary>Fields ({count})</summary>{body}</details>"


def panels_html(data: Mapping[str, Any]) -> str:
    """A static HTML summary of the panels (the fallback without a widget frontend); all text escaped."""
    stages: dict[str, int] = {}
    for b in data.get("timeline", []):
        stages[b["stage"]] = stages.get(b["stage"], 0) + 1
    stage_text = ", ".join(f"{html.escape(k)} {v}" for k, v in sorted(stages.items()))
    lineage = data.get("lineage") or {}
    parts = [
        "<div class='cx-hud-static'><style>.cx-hud-static table{border-collapse:collapse;font-size:12px}"
        ".cx-hud-static td,.cx-hud-static th{border:1px solid #ccc;padding:1px 6px;text-align:left}"
        ".cx-hud-dim{color:#888}</style>",
        f"<div><b>codexlab HUD</b> · run <code>{html.escape(data.get('run_id') or '–')}</code> · container "
        f"<code>{html.escape(data.get('container') or 'any')}</code> · {len(data.get('timeline', []))} beams"
        f" ({stage_text}) · lineage {len(lineage.get('nodes', []))} nodes, {len(lineage.get('edges', []))} edges</div>",
        _pictures(data),
        _table(
            "SQI / drift per run",
            ["run_id", "beams", "vetoes", "qscore_mean", "qscore_min", "drift_max"],
            data.get("sqi", []),
        ),
        _table("SoulLaw vetoes", ["name", "law", "reason"], data.get("vetoes", [])),
        _table("Beam timeline", ["stage", "token", "ms", "q", "verdict"], data.get("timeline", [])),
        _table(
            "Cost per opcode (ms per beam; compile apart from run)",
            ["op", "count", "mean_ms", "compile_ms", "run_ms", "predicted_ms", "pred_ratio", "total_ms"],
            [
                {**c, "compile_ms": "unknown" if c.get("compile_ms") is None else c["compile_ms"]}
                for c in data.get("costs", [])
            ],
        ),
        _table(
            "DNA mutations", ["mutation_id", "reason", "original", "mutated", "accepted"], data.get("mutations", [])
        ),
        _table(
            "Entanglement",
            ["eid", "members"],
            [{"eid": e["eid"], "members": ", ".join(e["members"])} for e in data.get("entanglement", [])],
        ),
        _table("Sheet cells", ["cell_id", "status", "ms", "writes"], (data.get("sheet") or {}).get("cells", [])),
        _table(
            "Stale cells",
            ["cell_id", "changed"],
            [r for r in (data.get("sheet") or {}).get("container_cells", []) if r.get("status") == "stale"],
        ),
        _table(
            "Precision profile",
            ["op", "format", "rel_err", "ms", "nonfinite"],
            (data.get("precision") or {}).get("cells", []),
        ),
        "</div>",
    ]
    return "".join(parts)
