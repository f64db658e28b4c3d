"""`BeamStore.beam_index`: the columns pattern mining needs, on every backend, equal to the full rows."""

from __future__ import annotations

import math
from typing import Any

from codexlab.store import BeamStore

from .factory import beam

_INDEX_KEYS = ("beam_id", "sheet_run_id", "cell_id", "stage", "token", "verdict", "eid")


def _expected(row: dict[str, Any]) -> dict[str, Any]:
    """What `beam_index` should hold for a full store row."""
    value = row["result"].get("duration_ms")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    out = {key: row.get(key) for key in _INDEX_KEYS}
    out["parents"] = list(row["parents"])
    out["duration_ms"] = float(value) if number else None
    if row["stage"] == "loop":
        out["result"] = row["result"]
    return out


def test_beam_index_matches_the_rows(store: BeamStore) -> None:
    attractor = {"kind": "fixed_point", "iteration": 12, "residual": 1e-9}
    beams = [
        beam("a", t=0, result={"duration_ms": 2.345678901234567}),
        beam("b", t=1, parents=["a"], result={"duration_ms": 7}, verdict="warn"),
        beam("c", t=2, parents=["a", "b"], result={"duration_ms": True}, eid="eid::run1::00000001", verdict="veto"),
        beam("d", t=3, parents=["c"], result={"duration_ms": "3.5"}, cell="cell_002"),
        beam("e", t=4, parents=["d"], result={"n": 1}),
        beam("f", t=5, parents=["e"], result={"duration_ms": -0.0}),
        beam("g", t=6, parents=["f"], result={"duration_ms": 1e16}),
        beam("h", t=7, parents=["g"], result={"duration_ms": math.nan}),
        beam(
            "loop",
            t=8,
            stage="loop",
            parents=["a"],
            result={"duration_ms": 0.1, "names": ["ψ"], "attractor": attractor},
        ),
        beam("other", t=9, container="elsewhere", result={"duration_ms": 1.0}),
    ]
    store.persist_beam_events(beams)

    index = store.beam_index("default_container")
    rows = store.rows("beams", container_id="default_container")
    assert [r["beam_id"] for r in index] == [r["beam_id"] for r in rows]
    assert index == [_expected(r) for r in rows]
    by_id = {r["beam_id"]: r for r in index}
    assert by_id["beam_b"]["duration_ms"] == 7.0 and by_id["beam_b"]["verdict"] == "warn"
    assert by_id["beam_c"]["duration_ms"] is None  # a bool is not a duration
    assert by_id["beam_d"]["duration_ms"] is None  # nor is a string
    assert math.copysign(1.0, by_id["beam_f"]["duration_ms"]) == -1.0
    assert by_id["beam_c"]["parents"] == ["beam_a", "beam_b"] and by_id["beam_c"]["eid"] == "eid::run1::00000001"
    assert by_id["beam_loop"]["result"]["attractor"] == attractor
    assert "result" not in by_id["beam_a"]
    assert [r["beam_id"] for r in store.beam_index("elsewhere")] == ["beam_other"]
    assert store.beam_index("nothing here") == []
