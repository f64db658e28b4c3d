"""`BeamStore.runs`: one summary per run, newest first, filtered by container and start time; the
`intents` payload table. On SQLite, JSONL and PostgreSQL."""

from __future__ import annotations

import pytest

from codexlab.errors import CodexValueError, StoreError
from codexlab.store import BeamStore

from .factory import beam, series, ts


def _fill(store: BeamStore) -> None:
    store.persist_beam_events(series(3, run="r1", prefix="a", container="c1"))  # seconds 0-2
    store.persist_beam_events(series(2, run="r2", prefix="b", start=10, container="c2"))  # 10-11
    failed = beam("e", run="r3", stage="error", t=20, container="c1", result={"error": "CodexNameError"})
    store.persist_beam_events([failed])
    store.persist_beam_events([beam("v", run="r4", t=30, container="c1", verdict="veto")])


def test_runs_are_summarized_newest_first(store: BeamStore) -> None:
    _fill(store)
    rows = store.runs()
    assert [r["run_id"] for r in rows] == ["r4", "r3", "r2", "r1"]
    r1 = rows[-1]
    assert r1 == {
        "run_id": "r1",
        "container_id": "c1",
        "cell_id": "cell_001",
        "started": ts(0),
        "ended": ts(2),
        "beams": 3,
        "errors": 0,
        "vetoes": 0,
    }
    assert (rows[1]["errors"], rows[0]["vetoes"]) == (1, 1)


def test_runs_filter_by_container_start_and_limit(store: BeamStore) -> None:
    _fill(store)
    assert [r["run_id"] for r in store.runs("c1")] == ["r4", "r3", "r1"]
    assert [r["run_id"] for r in store.runs("c1", since=ts(1))] == ["r4", "r3"]  # r1 started before
    assert [r["run_id"] for r in store.runs(until=ts(20))] == ["r2", "r1"]
    assert [r["run_id"] for r in store.runs(since=1_735_689_610, until="2025-01-01T00:00:20Z")] == ["r2"]
    assert [r["run_id"] for r in store.runs(limit=2)] == ["r4", "r3"]
    assert store.runs("nowhere") == []
    with pytest.raises(CodexValueError, match="`since` should be an ISO 8601 time"):
        store.runs(since="2025-01-01T00:00:00")  # no time zone
    with pytest.raises(CodexValueError, match="`limit`"):
        store.runs(limit=0)


def test_intents_are_a_payload_table(store: BeamStore) -> None:
    row = {
        "timestamp": ts(3),
        "sheet_run_id": "r1",
        "cell_id": "cell_001",
        "container_id": "c1",
        "type": "Goal",
        "tag": "smooth",
        "text": "‖L‖ < 40",
        "action": None,
        "origin": "photon",
        "metadata": {"origin": "photon"},
    }
    assert store.persist_rows("intents", [row]) == 1
    stored = store.rows("intents", sheet_run_id="r1")
    assert stored == [{k: v for k, v in row.items() if v is not None}]
    with pytest.raises(StoreError, match="missing `origin`"):
        store.persist_rows("intents", [{k: v for k, v in row.items() if k != "origin"}])
