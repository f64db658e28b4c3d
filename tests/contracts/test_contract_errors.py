"""Validation errors: one ContractError naming each field path and reason; per-contract rules."""

from __future__ import annotations

import math

import pytest

from codexlab.contracts import (
    EntanglementLink,
    load_payload,
    load_trace_record,
    model_for,
    rating_for,
    register_migration,
    validate_payload,
)
from codexlab.contracts._base import ContractModel, register_kind
from codexlab.errors import ContractError


def test_message_names_the_path_and_reason(examples):
    beam = examples["beam_event"]
    beam["result"] = 3
    with pytest.raises(ContractError, match=r"^`beam_event\.result` should be a dictionary, got `3`\.$"):
        validate_payload("beam_event", beam)


def test_unknown_field_gets_a_did_you_mean(examples):
    beam = examples["beam_event"]
    beam["stagee"] = beam.pop("stage")
    with pytest.raises(ContractError) as info:
        validate_payload("beam_event", beam)
    message = str(info.value)
    assert "`beam_event.stagee` is not a known field (did you mean `stage`?)" in message
    assert "`beam_event.stage` is required but missing" in message


def test_several_errors_are_joined_into_one_message(examples):
    beam = examples["beam_event"]
    beam.update(result=3, stage="wav", tokn="x")
    with pytest.raises(ContractError) as info:
        validate_payload("beam_event", beam)
    parts = str(info.value).rstrip(".").split("; ")
    assert parts[0].startswith("`beam_event.stage` should be one of `ingest`, `rewrite`")
    assert parts[0].endswith("got `'wav'` (did you mean `wave`?)")
    assert parts[1] == "`beam_event.result` should be a dictionary, got `3`"
    assert parts[2] == "`beam_event.tokn` is not a known field (did you mean `token`?)"
    assert [e["loc"] for e in info.value.errors] == [("stage",), ("result",), ("tokn",)]


def test_nested_paths_and_nested_did_you_mean(examples):
    trace = examples["collapse_trace"]
    trace["hologram"]["signature_block"]["qglyph"] = "x"
    trace["hologram"]["dream_pack"]["memory_tags"] = ["ok", 5]
    with pytest.raises(ContractError) as info:
        validate_payload("collapse_trace", trace)
    message = str(info.value)
    assert "`collapse_trace.hologram.dream_pack.memory_tags[1]` should be a string, got `5`" in message
    assert (
        "`collapse_trace.hologram.signature_block.qglyph` is not a known field (did you mean `qglyph_id`?)"
    ) in message


def test_strict_types_do_not_coerce(examples):
    score = examples["sqi_score"]
    score["goal_match_score"] = "0.82"
    expected = r"`sqi_score\.goal_match_score` should be a number, got `'0\.82'`"
    with pytest.raises(ContractError, match=expected):
        validate_payload("sqi_score", score)
    glyph = examples["glyph_execution"]
    glyph["payload"]["detail"]["energy"] = True
    with pytest.raises(ContractError, match=r"`glyph_execution\.payload\.detail\.energy` should be a number"):
        validate_payload("glyph_execution", glyph)


def test_non_objects_and_bad_json_text_are_contract_errors():
    with pytest.raises(ContractError, match=r"^`beam_event` should be a dictionary, got `\[1, 2\]`\.$"):
        validate_payload("beam_event", [1, 2])
    with pytest.raises(ContractError, match=r"`sqi_score` payload is not valid JSON"):
        validate_payload("sqi_score", "{not json")


def test_long_lists_of_errors_are_capped():
    with pytest.raises(ContractError, match=r"; and \d+ more problems\.$"):
        validate_payload("beam_event", {f"junk{i}": i for i in range(20)})


def test_unknown_kind_suggests_the_closest():
    expected = r"`beam_evnt` is not a payload kind \(did you mean `beam_event`\?\)"
    with pytest.raises(ContractError, match=expected):
        validate_payload("beam_evnt", {})
    expected = r"`sqi-score` is not a payload kind \(did you mean `sqi_score`\?\)"
    with pytest.raises(ContractError, match=expected):
        model_for("sqi-score")
    with pytest.raises(ContractError, match="should be a kind name or a model class"):
        model_for(3)


def test_glyph_cost_must_be_the_sum_of_its_detail(examples):
    glyph = examples["glyph_execution"]
    detail = glyph["payload"]["detail"]
    assert math.fsum(detail.values()) == pytest.approx(12.5, rel=1e-15)
    glyph["payload"]["cost"] = 12.6
    expected = r"`glyph_execution\.payload` `cost` 12\.6 is not the sum of `detail`"
    with pytest.raises(ContractError, match=expected):
        validate_payload("glyph_execution", glyph)
    glyph["payload"]["cost"] = 12.5 * (1 + 1e-12)
    assert validate_payload("glyph_execution", glyph).payload.cost == glyph["payload"]["cost"]


def test_glyph_action_is_text_or_object(examples):
    glyph = examples["glyph_execution"]
    glyph["payload"]["action"] = {"value": 3}
    assert validate_payload("glyph_execution", glyph).payload.action == {"value": 3}
    glyph["payload"]["action"] = 3
    expected = r"`glyph_execution\.payload\.action` should be a string or a JSON"
    with pytest.raises(ContractError, match=expected):
        validate_payload("glyph_execution", glyph)


@pytest.mark.parametrize(
    ("qscore", "rating"),
    [
        (0.85, "exceptional"),
        (0.8499, "strong"),
        (0.65, "strong"),
        (0.45, "moderate"),
        (0.25, "weak"),
        (0.2499, "poor"),
        (0.0, "poor"),
        (1.0, "exceptional"),
    ],
)
def test_rating_bands(qscore, rating, examples):
    assert rating_for(qscore) == rating
    score = {**examples["sqi_score"], "qscore": qscore, "rating": rating, "beam_id": "beam_x", "drift": 0.0}
    assert validate_payload("sqi_score", score).rating == rating


def test_rating_must_match_qscore(examples):
    score = {**examples["sqi_score"], "qscore": 0.5, "rating": "strong"}
    expected = r"`rating` `strong` does not match `qscore` 0\.5, whose band is `moderate`"
    with pytest.raises(ContractError, match=expected):
        validate_payload("sqi_score", score)


@pytest.mark.parametrize("field", ["goal_match_score", "rewrite_success_prob"])
def test_probabilities_are_in_unit_interval(field, examples):
    with pytest.raises(ContractError, match=rf"`sqi_score\.{field}` should be less than or equal to 1"):
        validate_payload("sqi_score", {**examples["sqi_score"], field: 1.01})


def test_entanglement_map_keys_members_and_version(examples):
    emap = examples["entanglement_map"]
    assert validate_payload("entanglement_map", {**emap, "v": 1}).root == emap
    with pytest.raises(ContractError, match=r"`entanglement_map\['eid::x'\]` key should match the pattern"):
        validate_payload("entanglement_map", {"eid::x": ["cell_001"]})
    with pytest.raises(ContractError, match=r"`entanglement_map\['eid::r::h'\]` should have at least 1 item"):
        validate_payload("entanglement_map", {"eid::r::h": []})
    with pytest.raises(ContractError, match=r"`entanglement_map` has `v` = `2`"):
        validate_payload("entanglement_map", {**emap, "v": 2})


def test_entanglement_link_entropy_is_bounded_by_log2_rank():
    link = {
        "eid": "eid::r::h",
        "beam_id": "beam_a",
        "role": "A",
        "schmidt_rank": 2,
        "entropy_bits": 1.0,
        "cell_id": "cell_001",
    }
    assert validate_payload(EntanglementLink, link).entropy_bits == 1.0
    four = {**link, "schmidt_rank": 4, "entropy_bits": math.log2(3)}
    assert validate_payload("entanglement_link", four).schmidt_rank == 4
    with pytest.raises(ContractError, match=r"`entropy_bits` 1\.5 exceeds log2\(schmidt_rank\) = 1"):
        validate_payload("entanglement_link", {**link, "entropy_bits": 1.5})
    expected = r"`entanglement_link\.role` should be one of `A`, `B`, got `'C'`"
    with pytest.raises(ContractError, match=expected):
        validate_payload("entanglement_link", {**link, "role": "C"})
    expected = r"`entanglement_link\.schmidt_rank` should be greater than or equal"
    with pytest.raises(ContractError, match=expected):
        validate_payload("entanglement_link", {**link, "schmidt_rank": 0})


def test_dna_mutation_sides_and_reason(examples):
    mutation = examples["dna_mutation"]
    mutation["mutated"] = {"glyph": "∇²", "op_chain": ["∇", "∇·"], "template": "lap(x)"}
    mutation.update(accepted=True, qscore_before=0.4, qscore_after=0.9)
    record = validate_payload("dna_mutation", mutation)
    assert record.mutated.op_chain == ["∇", "∇·"] and record.accepted is True
    mutation["metadata"]["reason"] = "fuse"
    mutation["original"]["glyf"] = "x"
    with pytest.raises(ContractError) as info:
        validate_payload("dna_mutation", mutation)
    reason = "`dna_mutation.metadata.reason` should be one of `fusion`, `repair`, got `'fuse'`"
    assert reason in str(info.value)
    assert "`dna_mutation.original.glyf` is not a known field (did you mean `glyph`?)" in str(info.value)


def test_soullaw_events_and_trace_records(examples):
    event = {
        "type": "soullaw_event",
        "event": "soullaw_veto",
        "law": "sqi_floor",
        "reason": "qscore 0.2 < 0.35",
        "beam_id": "beam_c_wave_1",
        "container_id": "demo",
        "timestamp": 1735689600,
    }
    record = load_trace_record(event)
    assert record.verdict == "veto"
    assert load_trace_record(examples["collapse_trace"]).adapter == "qwave"
    expected = r"`soullaw_event\.event` should be one of .*\(did you mean `soullaw_veto`\?\)"
    with pytest.raises(ContractError, match=expected):
        load_trace_record({**event, "event": "soullaw_vetoo"})
    expected = r"should have `type` `collapse_trace` or `soullaw_event`, got `'x'`"
    with pytest.raises(ContractError, match=expected):
        load_trace_record({"type": "x"})


def test_qfc_payload_kind_is_checked():
    update = {"type": "qfc_update", "source": "container::demo", "payload": {"kind": "qpu_cell_updat"}}
    expected = r"`qfc_update\.payload` has `kind` `'qpu_cell_updat'` \(did you mean `qpu_cell_update`\?\)"
    with pytest.raises(ContractError, match=expected):
        validate_payload("qfc_update", update)
    with pytest.raises(ContractError, match=r"`qfc_update\.source` should match the pattern"):
        validate_payload("qfc_update", {**update, "source": "demo", "payload": {"kind": "qpu_beam_timeline"}})


def test_missing_migration_and_failing_migration_are_reported():
    @register_kind
    class Probe(ContractModel):
        KIND = "probe_for_tests"
        VERSION = 3
        x: int

    @register_migration(Probe, from_v=1)
    def _one_to_two(data):
        data["x"] = int(data.pop("old_x"))
        return data

    try:
        expected = r"no migration from v2 to v3 is registered; register one with `@register_migration\(Probe"
        with pytest.raises(ContractError, match=expected):
            load_payload("probe_for_tests", {"v": 1, "old_x": "4"})
        with pytest.raises(ContractError, match=r"`probe_for_tests` v1 payload could not be upgraded to v2"):
            load_payload("probe_for_tests", {"v": 1})

        @register_migration(Probe, from_v=2)
        def _two_to_three(data):
            return {**data, "x": data["x"] * 10}

        assert load_payload("probe_for_tests", {"v": 1, "old_x": "4"}).x == 40
    finally:
        from codexlab.contracts._base import PAYLOAD_KINDS
        from codexlab.contracts.registry import _MIGRATIONS

        PAYLOAD_KINDS.pop("probe_for_tests", None)
        for key in [k for k in _MIGRATIONS if k[0] is Probe]:
            del _MIGRATIONS[key]


def test_constructing_a_model_directly_raises_the_same_contract_error():
    from codexlab.contracts import BeamEvent, CostDetail

    expected = r"^`beam_event\.stage` should be one of .*\(did you mean `wave`\?\)\.$"
    with pytest.raises(ContractError, match=expected):
        BeamEvent(
            beam_id="beam_x", cell_id="c", sheet_run_id="s", stage="wav", token="t", timestamp="2025-01-01T00:00:00Z"
        )
    with pytest.raises(ContractError, match=r"`CostDetail\.delay` is required but missing"):
        CostDetail(energy=1.0, ethics_risk=0.0, opportunity_loss=0.0)
    from codexlab.contracts import EntanglementMap

    assert EntanglementMap({"eid::r::h": ["cell_001"]})["eid::r::h"] == ["cell_001"]
    with pytest.raises(ContractError, match=r"`entanglement_map\['eid::r::h'\]` should have at least 1 item"):
        EntanglementMap({"eid::r::h": []})
