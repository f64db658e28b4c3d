"""Collapse traces (contract 6) in the JSONL file, beside SoulLaw events, and in the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codexlab.contracts import CollapseTrace, SoulLawEvent
from codexlab.contracts.collapse_trace import load_trace_record
from codexlab.errors import ContractError
from codexlab.sqi import Verdict, export_collapse_trace, log_soullaw_event
from codexlab.store import SQLStore


def _export(path: Path, **changes) -> CollapseTrace:
    args = dict(
        expression="⧖ψ",
        output={"outcome": [0.125, -0.5], "probability": 0.031},
        adapter="qwave",
        identity="researcher",
        ghx_projection_id="run_abc",
        vault_snapshot_id="f" * 64,
        qglyph_id="a" * 24,
        scroll_tree={"type": "Scroll", "statements": []},
        entropy_before=6.2,
        entropy_after=3.1,
        memory_tags=["demo", "collapse"],
        trigger_metadata={"kind": "measurement", "seed": 7},
        path=path,
    )
    args.update(changes)
    return export_collapse_trace(**args)


def test_trace_is_written_and_validates(tmp_path: Path) -> None:
    path = tmp_path / "traces" / "collapse_trace.jsonl"
    trace = _export(path, timestamp=100.0)
    (line,) = path.read_text(encoding="utf-8").splitlines()
    record = load_trace_record(json.loads(line))
    assert isinstance(record, CollapseTrace) and record == trace
    block = record.hologram.signature_block
    assert (block.ghx_projection_id, block.vault_snapshot_id, block.qglyph_id) == (
        "run_abc",
        "f" * 64,
        "a" * 24,
    )
    pack = record.hologram.dream_pack
    assert pack.entropy_state == {"before": 6.2, "after": 3.1, "unit": "nats"}
    assert pack.memory_tags == ["demo", "collapse"] and pack.scroll_tree["type"] == "Scroll"
    assert record.hologram.trigger_metadata == {"kind": "measurement", "seed": 7}


def test_traces_and_soullaw_events_share_the_file(tmp_path: Path) -> None:
    path = tmp_path / "collapse_trace.jsonl"
    _export(path)
    log_soullaw_event(Verdict("finite", "pass", "", "beam_c_wave_1"), path=path, container_id="box")
    _export(path, output="a choice", adapter="photon", expression="∇·∇f")
    kinds = [type(load_trace_record(json.loads(line))) for line in path.read_text(encoding="utf-8").splitlines()]
    assert kinds == [CollapseTrace, SoulLawEvent, CollapseTrace]


def test_invalid_trace_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "collapse_trace.jsonl"
    with pytest.raises(ContractError, match="adapter"):
        _export(path, adapter="quantum")
    assert not path.exists()


def test_trace_goes_to_the_store(tmp_path: Path) -> None:
    store = SQLStore(f"sqlite:///{tmp_path / 'beams.db'}")
    store.ensure_tables()
    try:
        trace = _export(tmp_path / "t.jsonl", store=store)
        (row,) = store.rows("collapse_traces")
        assert CollapseTrace.model_validate(row) == trace
    finally:
        store.close()
