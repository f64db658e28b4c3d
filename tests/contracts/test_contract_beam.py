"""BeamEvent: timestamps, ids, canonical JSON, the hash chain and the v0 -> v1 migration."""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from pydantic import ValidationError

from codexlab.contracts import (
    CHAINED_FIELDS,
    LEGACY_CHAINED_FIELDS,
    STAGES,
    BeamEvent,
    beam_hash,
    canonical_json,
    chain_beams,
    load_payload,
    migrations_for,
    new_beam_id,
    to_utc_iso,
    utc_now_iso,
    validate_payload,
    verify_chain,
)
from codexlab.errors import ContractError

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def make_beam(**changes) -> BeamEvent:
    data = {
        "beam_id": "beam_cell_001_wave_20250101T000000000000Z_0a1b2c3d",
        "cell_id": "cell_001",
        "sheet_run_id": "abcd1234",
        "stage": "wave",
        "token": "∇",
        "result": {"shape": [64, 64], "dtype": "float64", "norm": 1.5},
        "timestamp": "2025-01-01T00:00:00Z",
    }
    data.update(changes)
    return validate_payload("beam_event", data)


def test_field_names_and_defaults_are_the_agreed_ones():
    assert list(BeamEvent.model_fields) == [
        "v",
        "beam_id",
        "cell_id",
        "sheet_run_id",
        "container_id",
        "eid",
        "stage",
        "token",
        "result",
        "timestamp",
        "parents",
        "prev_hash",
        "hash",
        "source",
        "drift",
        "qscore",
        "verdict",
    ]
    beam = make_beam()
    assert (beam.v, beam.container_id, beam.eid, beam.parents, beam.prev_hash, beam.hash) == (
        1,
        "default_container",
        None,
        [],
        None,
        None,
    )
    assert (beam.source, beam.drift, beam.qscore, beam.verdict) == ("codex", None, None, None)
    assert set(STAGES) == {
        "ingest",
        "rewrite",
        "schedule",
        "symbolic",
        "wave",
        "entangle",
        "collapse",
        "loop",
        "sqi",
        "policy",
        "fusion",
        "repair",
        "kg",
        "cpu",
        "container",
        "cached",
        "error",
    }


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2025-01-01T00:00:00Z", "2025-01-01T00:00:00.000000Z"),
        ("2025-01-01T00:00:00.123456+00:00", "2025-01-01T00:00:00.123456Z"),
        ("2025-01-01T01:30:00+02:00", "2024-12-31T23:30:00.000000Z"),
        ("2024-12-31T19:00:00.5-05:00", "2025-01-01T00:00:00.500000Z"),
        (datetime(2025, 1, 1, 12, 0, 0, 7, tzinfo=UTC), "2025-01-01T12:00:00.000007Z"),
        (datetime(2025, 1, 1, 12, tzinfo=timezone(timedelta(hours=-3))), "2025-01-01T15:00:00.000000Z"),
    ],
)
def test_timestamp_is_normalized_to_utc(given, expected):
    assert make_beam(timestamp=given).timestamp == expected
    assert to_utc_iso(given) == expected


def test_normalized_timestamps_keep_the_instant():
    moment = datetime(2030, 6, 1, 8, 15, 30, 250000, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    text = make_beam(timestamp=moment).timestamp
    assert datetime.fromisoformat(text) == moment


@pytest.mark.parametrize("bad", ["2025-01-01T00:00:00", datetime(2025, 1, 1), "yesterday", 1735689600])
def test_timestamp_without_zone_or_not_a_time_is_rejected(bad):
    with pytest.raises(ContractError, match=r"`beam_event\.timestamp` (has no time zone|should be)"):
        make_beam(timestamp=bad)


def test_utc_now_iso_is_fixed_width_and_current():
    before = datetime.now(UTC)
    text = utc_now_iso()
    after = datetime.now(UTC)
    assert ISO_Z.match(text)
    assert before - timedelta(microseconds=1) <= datetime.fromisoformat(text) <= after


def test_new_beam_id_has_the_agreed_shape_and_is_unique():
    ids = {new_beam_id("cell_001", "wave", "2025-01-01T00:00:00Z") for _ in range(2000)}
    assert len(ids) == 2000
    for beam_id in ids:
        assert re.fullmatch(r"beam_cell_001_wave_20250101T000000000000Z_[0-9a-f]{8}", beam_id)
    assert new_beam_id("c", "ingest").startswith("beam_c_ingest_")
    assert make_beam(beam_id=new_beam_id("cell_001", "wave")).stage == "wave"


def test_canonical_json_is_sorted_compact_and_matches_json_for_plain_data():
    data = {"b": [1, 2.5, None, True], "a": {"z": "ψ", "y": 1e-300}, "ä": -0.0}
    text = canonical_json(data)
    assert text == json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert text == '{"a":{"y":1e-300,"z":"ψ"},"b":[1,2.5,null,true],"ä":-0.0}'
    assert json.loads(text) == data


def test_canonical_json_never_fails_and_encodes_non_finite_floats_as_strings():
    text = canonical_json(
        {
            "nan": math.nan,
            "inf": math.inf,
            "ninf": -math.inf,
            "arr": np.arange(3.0),
            "i": np.int64(7),
            "t": (1, 2),
            "s": {3, 1},
            "obj": object.__name__,
        }
    )
    assert json.loads(text) == {
        "nan": "NaN",
        "inf": "Infinity",
        "ninf": "-Infinity",
        "arr": [0.0, 1.0, 2.0],
        "i": 7,
        "t": [1, 2],
        "s": [1, 3],
        "obj": "object",
    }
    assert canonical_json(0.1 + 0.2) == repr(0.1 + 0.2)


def test_beam_hash_is_sha256_of_the_chained_fields_and_prev_hash():
    beam = make_beam(eid="eid::abcd1234::9f86d0", parents=["beam_p1"])
    prev = "a" * 64
    fields = {name: beam.model_dump(mode="json")[name] for name in CHAINED_FIELDS}
    fields["prev_hash"] = prev
    reference = hashlib.sha256(
        json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert beam_hash(beam, prev) == reference
    assert beam_hash(beam.model_dump(), prev) == reference
    assert "hash" not in CHAINED_FIELDS and "prev_hash" not in CHAINED_FIELDS
    assert {"drift", "qscore", "verdict"} <= set(CHAINED_FIELDS)


def test_the_legacy_scheme_leaves_the_scores_out():
    beam = make_beam(drift=0.5, qscore=0.25, verdict="veto")
    fields = {name: beam.model_dump(mode="json")[name] for name in LEGACY_CHAINED_FIELDS} | {"prev_hash": None}
    reference = hashlib.sha256(
        json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert beam_hash(beam, None, scheme=1) == reference
    assert set(CHAINED_FIELDS) - set(LEGACY_CHAINED_FIELDS) == {"drift", "qscore", "verdict"}
    assert beam_hash(beam, None, scheme=1) == beam_hash(beam.evolve(verdict="pass"), None, scheme=1)
    with pytest.raises(ValueError, match="`scheme` should be one of"):
        beam_hash(beam, None, scheme=3)


def test_scores_and_chained_fields_change_the_hash():
    beam = make_beam().with_chain(None)
    assert beam.hash_ok and beam.prev_hash is None
    for field, value in [
        ("token", "Δ"),
        ("result", {"norm": 2.0}),
        ("parents", ["beam_x"]),
        ("timestamp", "2025-01-01T00:00:01Z"),
        ("source", "photon"),
        ("container_id", "c2"),
        ("drift", 0.01),
        ("qscore", 0.9),
        ("verdict", "veto"),
    ]:
        assert not beam.evolve(**{field: value}).hash_ok, field
    assert beam_hash(beam, "b" * 64) != beam.hash


def test_chain_links_each_beam_to_the_previous_and_detects_edits():
    beams = [make_beam(beam_id=f"beam_c_wave_{i}", token=t) for i, t in enumerate("∇Δ⊕⊗")]
    chained = chain_beams(beams)
    assert chained[0].prev_hash is None
    assert [b.prev_hash for b in chained[1:]] == [b.hash for b in chained[:-1]]
    assert verify_chain(chained) == []
    edited = list(chained)
    edited[2] = edited[2].evolve(result={"norm": 99.0})
    assert verify_chain(edited) == ["beam_c_wave_2"]
    assert verify_chain(chained[:1] + chained[2:]) == ["beam_c_wave_2"]
    resumed = chain_beams(beams[2:], prev_hash=chained[1].hash)
    assert [b.hash for b in resumed] == [b.hash for b in chained[2:]]


def test_models_are_frozen_and_evolve_validates():
    beam = make_beam()
    with pytest.raises(ValidationError, match="frozen"):
        beam.token = "Δ"
    with pytest.raises(ContractError, match=r"`beam_event\.qscore` should be less than or equal to 1"):
        beam.evolve(qscore=1.5)


def test_beam_event_v0_is_upgraded_by_load_payload():
    v0 = {
        "v": 0,
        "beam_id": "beam_c_wave_1",
        "cell_id": "c",
        "sheet_run_id": "r",
        "stage": "wave",
        "token": "∇",
        "ts": 1735689600.25,
        "parent_beam_id": "beam_c_ingest_0",
    }
    beam = load_payload("beam_event", v0)
    assert beam.v == 1
    assert beam.timestamp == "2025-01-01T00:00:00.250000Z"
    assert beam.parents == ["beam_c_ingest_0"]
    iso_v0 = {**v0, "ts": "2025-01-01T00:00:00Z"}
    del iso_v0["parent_beam_id"]
    upgraded = load_payload(BeamEvent, iso_v0)
    assert upgraded.timestamp == "2025-01-01T00:00:00.000000Z" and upgraded.parents == []
    assert 0 in migrations_for("beam_event")


def test_v0_is_not_accepted_by_validate_payload():
    v0 = {
        "v": 0,
        "beam_id": "beam_c_wave_1",
        "cell_id": "c",
        "sheet_run_id": "r",
        "stage": "wave",
        "token": "∇",
        "timestamp": "2025-01-01T00:00:00Z",
    }
    with pytest.raises(ContractError, match=r"`beam_event\.v` is 0, older .* read it with `load_payload`"):
        validate_payload("beam_event", v0)


def test_newer_version_is_refused_with_the_fix():
    with pytest.raises(ContractError, match=r"`beam_event\.v` is 2, newer .*; upgrade codexlab"):
        make_beam(v=2)
    with pytest.raises(ContractError, match=r"`beam_event\.v` is 2, newer"):
        load_payload("beam_event", {**make_beam().model_dump(), "v": 2})


@pytest.mark.parametrize("eid", ["eid::run", "eid:run:h", "run::abc", "eid::a b::c", "eid::::x"])
def test_eid_must_have_the_agreed_shape(eid):
    with pytest.raises(ContractError, match=r"`beam_event\.eid` should match the pattern"):
        make_beam(eid=eid)


def test_parents_are_distinct_beam_ids():
    assert make_beam(parents=["beam_a", "beam_b"]).parents == ["beam_a", "beam_b"]
    with pytest.raises(ContractError, match=r"`beam_event\.parents` should hold beam ids"):
        make_beam(parents=["cell_001"])
    with pytest.raises(ContractError, match=r"`beam_event\.parents` should list each parent beam once"):
        make_beam(parents=["beam_a", "beam_a"])


def test_result_stays_open_for_op_specific_keys():
    result = {"shape": [8], "checksum": "abc", "vault_ref": "sha256:00", "custom": {"k": [1, 2]}}
    assert make_beam(result=result).result == result
