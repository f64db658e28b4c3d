"""`persist_cell`: one cell's beams, links and payload rows in one transaction, at most once per run."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from codexlab.contracts import EntanglementLink
from codexlab.contracts import verify_chain as contract_verify_chain
from codexlab.errors import StoreError
from codexlab.store import BeamStore, JSONLStore

from .conftest import make_store
from .factory import Storage, beam, series

EID = "eid::run1::abc"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sql_store(request: pytest.FixtureRequest, tmp_path) -> Iterator[BeamStore]:
    """The stores that commit a cell in one transaction (JSONL: see `test_jsonl_commits_a_cell_once`)."""
    handle = make_store(request.param, tmp_path, request)
    yield handle
    handle.close()


def cell_rows(run: str = "run1") -> dict[str, list[dict[str, object]]]:
    score = {
        "type": "sqi_score",
        "timestamp": 1.0,
        "container_id": "default_container",
        "goal_match_score": 1.0,
        "rewrite_success_prob": 1.0,
        "entropy_delta": 0.0,
        "beam_id": "beam_b1",
        "qscore": 0.9,
    }
    metric = {
        "name": "execute",
        "value": 3.5,
        "unit": "ms",
        "tags": {"run_id": run},
        "timestamp": "2025-01-01T00:00:00Z",
    }
    return {"sqi_scores": [score], "metrics": [metric]}


def link(beam_id: str, role: str) -> EntanglementLink:
    return EntanglementLink(eid=EID, beam_id=beam_id, cell_id="cell_001", role=role, schmidt_rank=2, entropy_bits=1.0)


def test_a_cell_commits_whole_and_chained(sql_store: BeamStore) -> None:
    beams = series(3, eid=None) + [beam("e1", eid=EID, parents=["b2"], t=5), beam("e2", eid=EID, parents=["b2"], t=6)]
    commit = sql_store.persist_cell(beams, links=[link("beam_e1", "A"), link("beam_e2", "B")], rows=cell_rows())
    assert commit.written and commit.run_id == "run1"
    assert contract_verify_chain(commit.beams) == [] and sql_store.verify_chain("run1") == []
    assert sql_store.beams_for_run("run1") == commit.beams
    assert sql_store.lineage("beam_e1", ids_only=True) == ["beam_b2", "beam_b1", "beam_b0"]
    assert sql_store.entanglement_map("run1") == {EID: ["cell_001"]}
    assert [r["qscore"] for r in sql_store.rows("sqi_scores")] == [0.9]
    assert [r["tags"] for r in sql_store.rows("metrics")] == [{"run_id": "run1"}]


def test_a_second_commit_of_the_run_writes_nothing_and_returns_the_stored_cell(sql_store: BeamStore) -> None:
    first = sql_store.persist_cell(series(3), rows=cell_rows())
    before = Storage(sql_store).counts()
    # a retried point computes the same cell again with fresh beam ids
    retry = sql_store.persist_cell(series(3, prefix="r"), rows=cell_rows())
    assert not retry.written and retry.beams == first.beams
    assert Storage(sql_store).counts() == before
    assert len(sql_store.rows("sqi_scores")) == 1 and len(sql_store.rows("metrics")) == 1


def test_a_failing_cell_leaves_nothing(sql_store: BeamStore) -> None:
    sql_store.persist_beam_events([beam("taken", run="other")])
    before = Storage(sql_store).counts()
    with pytest.raises(StoreError, match=r"Beam `beam_taken` is already stored"):
        sql_store.persist_cell([*series(2), beam("taken", parents=["b1"], t=3)], rows=cell_rows())
    assert Storage(sql_store).counts() == before
    assert sql_store.rows("sqi_scores") == [] and sql_store.beams_for_run("run1") == []


def test_bad_input_is_refused_before_anything_is_written(store: BeamStore) -> None:
    with pytest.raises(StoreError, match=r"commits one run, got beams of 2 runs \(`r1`, `r2`\)"):
        store.persist_cell([beam("a", run="r1"), beam("b", run="r2")])
    with pytest.raises(StoreError, match=r"link of beam `beam_elsewhere` is not for a beam of this cell"):
        store.persist_cell(series(1), links=[link("beam_elsewhere", "A")])
    with pytest.raises(StoreError, match=r"not a store table \(did you mean `metrics`\?\)"):
        store.persist_cell(series(1), rows={"metric": [{}]})
    assert store.beams_for_run("run1") == []


def test_jsonl_commits_a_cell_once(tmp_path) -> None:
    store = JSONLStore(tmp_path / "j")
    first = store.persist_cell(series(2), rows=cell_rows())
    again = store.persist_cell(series(2, prefix="r"), rows=cell_rows())
    assert first.written and not again.written
    assert [b.beam_id for b in again.beams] == [b.beam_id for b in first.beams]
    assert len(store.beams_for_run("run1")) == 2 and len(store.rows("sqi_scores")) == 1
    assert store.verify_chain("run1") == []


def test_concurrent_commits_of_one_run_write_it_once(sql_store: BeamStore) -> None:
    results = []
    barrier = threading.Barrier(4)

    def commit(prefix: str) -> None:
        barrier.wait()
        results.append(sql_store.persist_cell(series(4, prefix=prefix), rows=cell_rows()))

    threads = [threading.Thread(target=commit, args=(p,)) for p in "pqrs"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.written for r in results) == [False, False, False, True]
    assert len(sql_store.beams_for_run("run1")) == 4 and len(sql_store.rows("sqi_scores")) == 1
    assert sql_store.verify_chain("run1") == []
