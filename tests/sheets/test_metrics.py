"""Sheet metrics: the `qpu_sheet_metrics` QFC payload (scope `sheet`) that `lab.qfc` resolves and the
HUD folds in: cells, beams, the wall time beside the sum of cell times, and the critical path."""

from __future__ import annotations

import itertools
from typing import Any

from codexlab.hud.panels import panels_from_updates
from codexlab.qpu import build_graph, parse_sheet
from codexlab.runtime import Lab

from .conftest import DIAMOND


def _paths(graph: Any) -> list[list[str]]:
    """Every dependency chain of the graph, by brute force over cell sequences."""
    kids = graph.children()
    chains = []
    for length in range(1, len(graph.order) + 1):
        for seq in itertools.permutations(graph.order, length):
            if all(b in kids[a] for a, b in itertools.pairwise(seq)):
                chains.append(list(seq))
    return chains


def test_the_payload_is_stored_broadcast_and_consistent(lab: Lab) -> None:
    seen: list[dict[str, Any]] = []
    unsubscribe = lab.bus.subscribe(seen.append, {"qfc_update"})
    try:
        result = lab.run_sheet(DIAMOND, jobs=2)
    finally:
        unsubscribe()
    (update,) = lab.qfc(result.qfc_id)
    payload = update.payload
    assert update.kind == "qpu_sheet_metrics" and payload["scope"] == "sheet"
    assert any(e["payload"] == payload for e in seen)
    assert payload["cells"] == 7 and payload["ran"] == result.order and payload["cached"] == []
    assert payload["beams"] == len(result.beams) == sum(r["beams"] for r in payload["rows"])
    durations = {c: o.duration_ms for c, o in result.cells.items()}
    assert abs(payload["cells_ms"] - sum(durations.values())) < 1e-9
    assert abs(payload["speedup"] - payload["cells_ms"] / payload["wall_ms"]) < 1e-12
    assert payload["efficiency"] == payload["speedup"] / 2
    graph = build_graph(parse_sheet(DIAMOND))
    longest = max(_paths(graph), key=lambda p: sum(durations[c] for c in p))
    assert payload["critical_path"] == longest
    assert abs(payload["critical_path_ms"] - sum(durations[c] for c in longest)) < 1e-9
    assert payload["critical_path_ms"] <= payload["wall_ms"]  # a chain's cells run one after another


def test_the_hud_panel_shows_the_sheet(lab: Lab) -> None:
    result = lab.run_sheet(DIAMOND, jobs=2)
    again = lab.run_sheet(DIAMOND, jobs=2)
    panel = panels_from_updates(lab.qfc(again.qfc_id), result.container_id)["sheet"]
    assert panel["sheet_run_id"] == again.sheet_run_id and panel["jobs"] == 2
    assert [r["status"] for r in panel["cells"]] == ["cached"] * 7
    assert panel["critical_path"] == again.metrics["critical_path"]
