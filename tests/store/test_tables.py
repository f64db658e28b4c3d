"""The payload tables (persist_rows / rows), polars frames and the schema version."""

from __future__ import annotations

import json

import polars as pl
import pytest

from codexlab.contracts import CollapseTrace, DnaMutation, SoulLawEvent, SqiScore, load_trace_record
from codexlab.errors import StoreError
from codexlab.store import BeamStore

from .factory import BASE_SECONDS, Storage, beam, series

SCORE = SqiScore(
    timestamp=BASE_SECONDS + 1.5,
    container_id="demo",
    goal_match_score=0.8,
    rewrite_success_prob=0.6,
    entropy_delta=-0.25,
    beam_id="beam_b1",
    qscore=0.7,
    drift=0.01,
    rating="strong",
)


def _mutation(i: int) -> DnaMutation:
    return DnaMutation.model_validate(
        {
            "mutation_id": f"mut_{i}",
            "timestamp": "2025-01-01T00:00:00Z",
            "original": {"glyph": "∇", "op_chain": ["grad", "div"]},
            "mutated": {"glyph": "Δ", "template": "laplace(u)"},
            "metadata": {
                "reason": "fusion",
                "entropy_delta": 0.0,
                "rewrite_success_prob": 0.9,
                "container_id": "demo",
            },
            "accepted": True,
            "qscore_before": 0.5,
            "qscore_after": 0.75,
        }
    )


def test_payload_rows_round_trip_into_their_contracts(store: BeamStore) -> None:
    assert store.persist_rows("sqi_scores", [SCORE, SCORE.model_copy(update={"container_id": "other"})]) == 2
    (row,) = store.rows("sqi_scores", container_id="demo")
    assert SqiScore.model_validate(row) == SCORE

    store.persist_rows("dna_mutations", [_mutation(1), _mutation(2).model_dump()])
    assert [DnaMutation.model_validate(r) for r in store.rows("dna_mutations")] == [
        _mutation(1),
        _mutation(2),
    ]

    trace = CollapseTrace(
        expression="measure(ψ)",
        output={"outcome": 1},
        adapter="qwave",
        identity="test",
        timestamp=BASE_SECONDS + 2.0,
    )
    verdict = SoulLawEvent(
        event="soullaw_veto",
        law="no_nan",
        reason="NaN in field",
        beam_id="beam_b1",
        container_id="demo",
        timestamp=BASE_SECONDS + 3.0,
    )
    store.persist_rows("collapse_traces", [trace, verdict])
    assert [load_trace_record(r) for r in store.rows("collapse_traces")] == [trace, verdict]
    assert [r["type"] for r in store.rows("collapse_traces", beam_id=None)] == ["collapse_trace"]


def test_cost_calibration_and_metrics(store: BeamStore) -> None:
    store.persist_rows(
        "cost_calibration",
        [
            {
                "op": "laplace",
                "backend": "jax",
                "dtype": "float32",
                "size": 2**22,
                "flops": 2.1e7,
                "bytes": 3.4e7,
                "predicted_ms": 1.5,
                "actual_ms": 1.75,
                "timestamp": "2025-01-01T00:00:00Z",
            },
        ],
    )
    (cal,) = store.rows("cost_calibration", op="laplace", backend="jax")
    assert cal["size"] == 4194304 and cal["actual_ms"] == 1.75
    assert cal["timestamp"] == "2025-01-01T00:00:00.000000Z"
    store.persist_rows(
        "metrics",
        [
            {
                "name": "beams_per_s",
                "value": 1234.5,
                "unit": "1/s",
                "tags": {"run": "r1", "n": [1, 2]},
                "timestamp": BASE_SECONDS,
            },  # epoch seconds are stored as the column's ISO text
            {"name": "beams_per_s", "value": 99.0, "timestamp": "2025-01-01T00:00:01+00:00"},
        ],
    )
    rows = store.rows("metrics", name="beams_per_s")
    assert rows == [
        {
            "name": "beams_per_s",
            "value": 1234.5,
            "unit": "1/s",
            "tags": {"n": [1, 2], "run": "r1"},
            "timestamp": "2025-01-01T00:00:00.000000Z",
        },
        {"name": "beams_per_s", "value": 99.0, "timestamp": "2025-01-01T00:00:01.000000Z"},
    ]


def test_bad_payload_rows_write_nothing(store: BeamStore, storage: Storage) -> None:
    store.persist_rows("dna_mutations", [_mutation(1)])
    with pytest.raises(StoreError, match=r"`dna_mutations` .*`mut_1`.*nothing was written"):
        store.persist_rows("dna_mutations", [_mutation(3), _mutation(1)])
    assert [r["mutation_id"] for r in store.rows("dna_mutations")] == ["mut_1"]
    with pytest.raises(StoreError, match=r"unknown column `vaule` \(did you mean `value`\?\)"):
        store.persist_rows("metrics", [{"name": "x", "vaule": 1.0, "timestamp": 0}])
    with pytest.raises(StoreError, match=r"Row 1 for `metrics` is missing `value`"):
        store.persist_rows("metrics", [{"name": "x", "value": 1.0, "timestamp": 0}, {"name": "y", "timestamp": 0}])
    with pytest.raises(StoreError, match="non-finite `value`"):
        store.persist_rows("metrics", [{"name": "x", "value": float("nan"), "timestamp": 0}])
    with pytest.raises(StoreError, match=r"`metric` is not a store table \(did you mean `metrics`\?\)"):
        store.persist_rows("metric", [])
    with pytest.raises(StoreError, match="`beam_events` is not a store table"):
        store.persist_rows("beam_events", [])  # beams go through persist_beam_events
    assert store.rows("metrics") == []


def test_rows_filters_are_checked(store: BeamStore) -> None:
    store.persist_beam_events(series(3))
    assert [r["beam_id"] for r in store.rows("beams", sheet_run_id="run1")] == [
        "beam_b0",
        "beam_b1",
        "beam_b2",
    ]
    assert store.rows("lineage_edges", parent_id="beam_b0") == [{"child_id": "beam_b1", "parent_id": "beam_b0"}]
    with pytest.raises(StoreError, match=r"`beam_events` has no column `cel_id` \(did you mean `cell_id`\?\)"):
        store.rows("beams", cel_id="x")
    with pytest.raises(StoreError, match="`beam_events.result` holds JSON"):
        store.rows("beams", result={})


def test_frame_of_beams(store: BeamStore) -> None:
    stored = store.persist_beam_events(
        series(4) + [beam("z", t=9, parents=["b3", "b0"], eid="eid::run1::zz", qscore=0.5)]
    )
    df = store.frame("beams")
    assert df.height == 5
    assert df.schema["parents"] == pl.List(pl.String)
    assert df.schema["seq"] == pl.Int64 and df.schema["qscore"] == pl.Float64 and df.schema["result"] == pl.String
    assert df["beam_id"].to_list() == [b.beam_id for b in stored]
    assert df["seq"].to_list() == [1, 2, 3, 4, 5]
    assert df["parents"].to_list()[-1] == ["beam_b3", "beam_b0"]
    assert [json.loads(r) for r in df["result"]] == [b.result for b in stored]
    assert df["hash"].to_list() == [b.hash for b in stored]
    assert df["qscore"].to_list() == [None, None, None, None, 0.5]
    assert df.filter(pl.col("eid").is_not_null())["beam_id"].to_list() == ["beam_z"]


def test_frame_of_an_empty_table_keeps_its_columns(store: BeamStore) -> None:
    df = store.frame("metrics")
    assert df.height == 0
    assert df.schema == pl.Schema(
        {
            "id": pl.Int64,
            "name": pl.String,
            "value": pl.Float64,
            "unit": pl.String,
            "tags": pl.String,
            "timestamp": pl.String,
        }
    )
    with pytest.raises(StoreError, match=r"`metricz` is not a store table \(did you mean `metrics`\?\)"):
        store.frame("metricz")


def test_schema_version_is_head(store: BeamStore) -> None:
    assert store.schema_version() == "0004"
    store.ensure_tables()  # idempotent
    assert store.schema_version() == "0004"
