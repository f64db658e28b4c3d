"""The plan's example payloads validate, round-trip through JSON, and match the contract docs."""

from __future__ import annotations

import json

import pytest

from codexlab.contracts import (
    BeamEvent,
    CollapseTrace,
    DnaMutation,
    EntanglementMap,
    GlyphExecution,
    QfcUpdate,
    SqiScore,
    load_payload,
    model_for,
    payload_kinds,
    validate_payload,
)
from tests.contracts._examples import PLAN_EXAMPLES

PLAN_MODELS = {
    "beam_event": BeamEvent,
    "entanglement_map": EntanglementMap,
    "glyph_execution": GlyphExecution,
    "sqi_score": SqiScore,
    "dna_mutation": DnaMutation,
    "collapse_trace": CollapseTrace,
}


def test_the_plan_has_six_examples_and_every_kind_is_registered():
    assert set(PLAN_EXAMPLES) == set(PLAN_MODELS)
    assert set(PLAN_MODELS) | {"qfc_update", "entanglement_link", "soullaw_event"} == set(payload_kinds())
    for kind, model in PLAN_MODELS.items():
        assert model_for(kind) is model
        assert model_for(model) is model


@pytest.mark.parametrize("kind", sorted(PLAN_MODELS))
def test_plan_example_validates(kind, examples):
    model = validate_payload(kind, examples[kind])
    assert isinstance(model, PLAN_MODELS[kind])


@pytest.mark.parametrize("kind", sorted(PLAN_MODELS))
def test_plan_example_keeps_every_plan_field(kind, examples):
    dumped = validate_payload(kind, examples[kind]).model_dump(mode="json")
    assert set(examples[kind]) <= set(dumped)


@pytest.mark.parametrize("kind", sorted(PLAN_MODELS))
def test_json_round_trip_is_a_fixpoint(kind, examples):
    first = validate_payload(kind, examples[kind])
    text = first.model_dump_json()
    second = validate_payload(kind, text)
    assert second == first
    assert load_payload(kind, json.loads(text)) == first


def test_plan_values_are_read_as_given(examples):
    beam = validate_payload("beam_event", examples["beam_event"])
    assert (beam.cell_id, beam.stage, beam.token) == ("cell_001", "ingest", "⊕")
    assert beam.eid == "eid::run::9f86d081884c"
    assert beam.timestamp == "2025-01-01T00:00:00.000000Z"
    assert beam.v == 1 and beam.parents == [] and beam.source == "codex"
    glyph = validate_payload("glyph_execution", examples["glyph_execution"])
    assert glyph.payload.cost == 12.5 and glyph.payload.detail.total == pytest.approx(12.5, rel=1e-15)
    emap = validate_payload("entanglement_map", examples["entanglement_map"])
    assert emap["eid::abcd1234::9f86d081884c"] == ["cell_001", "cell_007"]
    assert emap.eids() == ["eid::abcd1234::9f86d081884c"] and len(emap) == 1


def test_absent_v_means_version_one_and_explicit_v1_is_accepted(examples):
    for kind in PLAN_MODELS:
        data = examples[kind]
        data["v"] = 1
        assert validate_payload(kind, data) == validate_payload(kind, PLAN_EXAMPLES[kind])


def test_qfc_envelope_validates_each_payload_kind():
    for kind in (
        "qpu_cell_update",
        "qpu_sheet_metrics",
        "qpu_precision_profile",
        "qpu_beam_lineage",
        "qpu_entanglement_map",
        "qpu_beam_timeline",
    ):
        message = {"type": "qfc_update", "source": "container::demo", "payload": {"kind": kind, "n": 3}}
        update = validate_payload("qfc_update", message)
        assert update.kind == kind and update.container_id == "demo" and update.payload["n"] == 3
    assert isinstance(update, QfcUpdate)
