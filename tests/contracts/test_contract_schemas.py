"""JSON Schema export: one file per kind, deterministic text, and the committed copies are current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codexlab.contracts import export_schemas, payload_kinds, schema_for, schemas_are_current
from tests.contracts._examples import PLAN_EXAMPLES

COMMITTED = Path(__file__).resolve().parents[2] / "data" / "schemas"


def test_committed_schemas_are_current():
    stale = schemas_are_current(COMMITTED)
    assert stale == [], (
        f"data/schemas is out of date for {stale}; regenerate with "
        "`python -c \"from codexlab.contracts import export_schemas; export_schemas('data/schemas')\"`"
    )


def test_export_writes_one_sorted_indented_file_per_kind(tmp_path):
    paths = export_schemas(tmp_path / "out")
    assert sorted(p.name for p in paths) == sorted(f"{k}.schema.json" for k in payload_kinds())
    for path in paths:
        text = path.read_text(encoding="utf-8")
        assert text.endswith("}\n") and not text.endswith("\n\n")
        data = json.loads(text)
        assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        assert data["x-codexlab-kind"] == path.name.removesuffix(".schema.json")
    assert export_schemas(tmp_path / "again") and all(
        (tmp_path / "again" / p.name).read_bytes() == p.read_bytes() for p in paths
    )


def test_stale_missing_and_orphan_files_are_reported(tmp_path):
    export_schemas(tmp_path)
    assert schemas_are_current(tmp_path) == []
    (tmp_path / "sqi_score.schema.json").write_text("{}\n", encoding="utf-8")
    (tmp_path / "beam_event.schema.json").unlink()
    (tmp_path / "old_kind.schema.json").write_text("{}\n", encoding="utf-8")
    assert schemas_are_current(tmp_path) == ["beam_event.schema.json", "old_kind.schema.json", "sqi_score.schema.json"]
    assert schemas_are_current(tmp_path / "nowhere") == sorted(f"{k}.schema.json" for k in payload_kinds())


def test_schemas_describe_the_contract_rules():
    beam = schema_for("beam_event")
    assert beam["additionalProperties"] is False
    assert set(beam["required"]) == {"beam_id", "cell_id", "sheet_run_id", "stage", "token", "timestamp"}
    assert beam["properties"]["v"]["const"] == 1
    assert len(beam["properties"]["stage"]["enum"]) == 17
    emap = schema_for("entanglement_map")
    assert emap["additionalProperties"] is False and "v" in emap["properties"]


@pytest.mark.parametrize("kind", sorted(PLAN_EXAMPLES))
def test_plan_examples_satisfy_the_exported_schema(kind):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(schema_for(kind)).validate(PLAN_EXAMPLES[kind])


def test_schema_rejects_a_typo_like_the_model():
    jsonschema = pytest.importorskip("jsonschema")
    bad = {**PLAN_EXAMPLES["beam_event"], "stagee": "wave"}
    assert not jsonschema.Draft202012Validator(schema_for("beam_event")).is_valid(bad)
