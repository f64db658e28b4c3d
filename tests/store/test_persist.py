"""Persisting beams: validation, the run hash chain, all-or-nothing batches, verify_chain, sealed scores."""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime

import pytest

from codexlab.contracts import CHAINED_FIELDS, beam_hash
from codexlab.contracts import verify_chain as contract_verify_chain
from codexlab.errors import StoreError
from codexlab.store import BeamStore, SQLStore

from .factory import Storage, beam, series, ts


def test_persist_links_each_run_into_a_hash_chain(store: BeamStore) -> None:
    first = store.persist_beam_events(series(3, run="r1") + series(2, run="r2", prefix="x"))
    later = store.persist_beam_events(series(2, run="r1", start=3))
    r1 = [b for b in first if b.sheet_run_id == "r1"] + later
    # the contract's own verifier is the reference: each beam hashes its fields and the previous hash
    assert contract_verify_chain(r1) == []
    assert r1[0].prev_hash is None
    assert later[0].prev_hash == r1[2].hash
    assert all(b.hash == beam_hash(b, b.prev_hash) for b in first + later)
    r2 = [b for b in first if b.sheet_run_id == "r2"]
    assert r2[0].prev_hash is None and r2[1].prev_hash == r2[0].hash
    assert store.beams_for_run("r1") == r1
    assert store.get_beam("beam_b4") == later[1]
    assert store.get_beam("beam_nope") is None


def test_persist_accepts_dicts_and_validates_them(store: BeamStore) -> None:
    data = beam("d1").model_dump()
    data["timestamp"] = datetime(2025, 1, 1, 12, tzinfo=UTC)
    (stored,) = store.persist_beam_events([data])
    assert stored.timestamp == "2025-01-01T12:00:00.000000Z"
    assert stored.hash == beam_hash(stored, None)
    bad = beam("d2").model_dump() | {"stage": "wav"}
    with pytest.raises(StoreError, match=r"Beam `beam_d2` \(item 0 of the batch\) is not a valid BeamEvent.*`wave`"):
        store.persist_beam_events([bad])
    with pytest.raises(StoreError, match="Item 0 of the batch is a `int`"):
        store.persist_beam_events([3])  # type: ignore[list-item]


def test_results_that_json_changes_still_verify(store: BeamStore) -> None:
    """Values whose JSON is lossy (NaN, huge floats, -0.0, tuples, int keys) round-trip to the same hash."""
    odd = {
        "nan": float("nan"),
        "inf": float("inf"),
        "big": 1e16,
        "huge": 1.5e300,
        "negzero": -0.0,
        "tiny": 5e-324,
        "shape": (3, 4),
        "nested": {"2": [1, {"10": 1, "9": 2}]},
        "keys": {1: "a", 10: "b", 2: "c"},
        "text": '∇² "quoted" \\ é\n',
        "flag": True,
        "none": None,
    }
    store.persist_beam_events([beam("odd", result=odd), beam("plain", t=1, parents=["odd"])])
    assert store.verify_chain() == []
    again = store.get_beam("beam_odd")
    assert again is not None and again.hash_ok
    assert again.result["big"] == 1e16 and isinstance(again.result["big"], float)
    assert again.result["nan"] == "NaN"  # the canonical form the hash was computed over


@pytest.mark.parametrize(
    "poison",
    ["duplicate_in_batch", "duplicate_of_stored", "invalid_beam"],
)
def test_a_failing_batch_leaves_the_store_as_it_was(store: BeamStore, storage: Storage, poison: str) -> None:
    store.persist_beam_events(series(3, eid="eid::run1::aa"))
    before = storage.counts()
    batch = [beam("n1", t=10, parents=["b2"], eid="eid::run1::bb"), beam("n2", t=11, parents=["n1"])]
    if poison == "duplicate_in_batch":
        batch.append(beam("n1", t=12))
        message = r"Beam `beam_n1` appears twice in the batch"
    elif poison == "duplicate_of_stored":
        batch.append(beam("b1", t=12))
        message = r"Beam `beam_b1` is already stored; nothing was written"
    else:
        batch.append(beam("n3", t=12).model_dump() | {"parents": ["not_a_beam"]})  # type: ignore[arg-type]
        message = r"Beam `beam_n3` \(item 2 of the batch\) is not a valid BeamEvent"
    with pytest.raises(StoreError, match=message):
        store.persist_beam_events(batch)
    assert storage.counts() == before
    assert store.get_beam("beam_n1") is None
    assert store.entanglement_map() == {"eid::run1::aa": ["cell_001"]}
    # the chain goes on from the last beam that was stored
    (next_beam,) = store.persist_beam_events([beam("n9", t=20)])
    assert next_beam.prev_hash == store.get_beam("beam_b2").hash  # type: ignore[union-attr]
    assert store.verify_chain() == []


def test_verify_chain_finds_an_edited_beam(store: BeamStore, storage: Storage) -> None:
    store.persist_beam_events(series(5) + series(2, run="r2", prefix="o"))
    assert store.verify_chain() == []
    storage.edit_result("beam_b2", {"n": 999})
    problems = store.verify_chain()
    assert len(problems) == 1
    assert "run `run1`: beam `beam_b2` (seq 3) was edited" in problems[0]
    assert store.verify_chain("r2") == []


def test_verify_chain_finds_a_deleted_beam(store: BeamStore, storage: Storage) -> None:
    store.persist_beam_events(series(5))
    storage.delete("beam_b1")
    (problem,) = store.verify_chain("run1")
    assert "beam `beam_b2` (seq 3) does not follow `beam_b0` (seq 1): 1 beam(s) are missing" in problem


def test_verify_chain_finds_a_deleted_first_beam(store: BeamStore, storage: Storage) -> None:
    store.persist_beam_events(series(3))
    storage.delete("beam_b0")
    (problem,) = store.verify_chain()
    assert "beam `beam_b1` (seq 2) should start the run: 1 beam(s) are missing before it" in problem


def test_verify_chain_finds_reordered_beams(store: BeamStore, storage: Storage) -> None:
    store.persist_beam_events(series(5))
    storage.swap_seq("beam_b2", "beam_b3")
    (problem,) = store.verify_chain()
    assert "beam `beam_b3` (seq 3) does not follow `beam_b1` (seq 2)" in problem
    assert "missing or the beams were reordered" in problem


def test_scores_are_sealed_into_the_beam_hash(store: BeamStore) -> None:
    """The scores decide approval, so they are chained like the content, and fixed once stored."""
    (stored,) = store.persist_beam_events([beam("s", drift=0.25, qscore=0.75, verdict="veto")])
    assert (stored.drift, stored.qscore, stored.verdict) == (0.25, 0.75, "veto")
    fields = {n: getattr(stored, n) for n in CHAINED_FIELDS} | {"prev_hash": None}
    reference = hashlib.sha256(
        json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert stored.hash == reference
    assert {"drift", "qscore", "verdict"} <= set(CHAINED_FIELDS)
    assert beam_hash(stored.evolve(verdict="pass"), None) != stored.hash
    assert not hasattr(store, "update_beam_scores")  # a later re-score would be indistinguishable from tampering


def test_concurrent_writers_of_one_run_keep_one_chain(store: BeamStore, tmp_path) -> None:
    """Two handles (as two processes would have) append to one run at once: the chain stays linear."""
    if isinstance(store, SQLStore) and store.engine.dialect.name == "sqlite":
        other: BeamStore = SQLStore(str(store.engine.url))
    elif isinstance(store, SQLStore):
        other = SQLStore(
            store.engine.url.render_as_string(hide_password=False), schema=store.schema, home=store.key_home
        )
    else:
        other = type(store)(store.path)  # type: ignore[call-arg,attr-defined]

    def write(handle: BeamStore, prefix: str) -> None:
        for i in range(10):
            handle.persist_beam_events([beam(f"{prefix}{i}", t=i)])

    threads = [threading.Thread(target=write, args=(h, p)) for h, p in ((store, "p"), (other, "q"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other.close()
    run = store.beams_for_run("run1")
    assert len(run) == 20
    assert contract_verify_chain(run) == []
    assert store.verify_chain() == []


def test_timestamps_are_the_contract_form(store: BeamStore) -> None:
    (stored,) = store.persist_beam_events([beam("t", t=61)])
    assert stored.timestamp == ts(61) == "2025-01-01T00:01:01.000000Z"
