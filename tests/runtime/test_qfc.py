"""QFC payloads: one envelope per kind for each run, stored, resolvable by `run.qfc_id`, broadcast live."""

from __future__ import annotations

import pytest

from codexlab import Lab
from codexlab.contracts import QFC_PAYLOAD_KINDS, QfcUpdate
from codexlab.errors import CodexNameError
from codexlab.runtime.metrics import MetricsBus

SCROLL = """@grid x:-1..1:32, y:-1..1:32
@seed 5
a := gaussian(x, y, x0=-0.3, σ=0.15)
b := gaussian(x, y, x0=0.3, σ=0.15)
L = Δa
a ↔ b
"""


def test_run_qfc_id_resolves_to_one_envelope_per_kind(tmp_path) -> None:
    bus = MetricsBus()
    seen: list[dict] = []
    bus.subscribe(seen.append, {"qfc_update"})
    lab = Lab(home=tmp_path / "home", bus=bus)
    run = lab.run(SCROLL)
    assert run.qfc_id == f"qfc::{run.run_id}"
    updates = lab.qfc(run.qfc_id)
    kinds = [u.kind for u in updates]
    assert set(kinds) == set(QFC_PAYLOAD_KINDS) - {"qpu_precision_profile"}
    assert all(u.container_id == run.container_id for u in updates)
    by = {u.kind: u.payload for u in updates}
    assert [b["beam_id"] for b in by["qpu_beam_timeline"]["beams"]] == run.beam_ids
    edges = {(e["from"], e["to"]) for e in by["qpu_beam_lineage"]["edges"]}
    assert edges == {(p, b.beam_id) for b in run.beams for p in b.parents}
    assert set(by["qpu_entanglement_map"]["map"]) == set(run.eids)
    assert by["qpu_sheet_metrics"]["beams"] == len(run.beams)
    assert "execute" in by["qpu_sheet_metrics"]["phases_ms"]
    # the bus saw the live timeline envelopes of the running cell, then exactly the stored ones
    live = [e for e in seen if e["payload"].get("live")]
    assert live and all(QfcUpdate.model_validate(e).kind == "qpu_beam_timeline" for e in live)
    assert seen[: len(live)] == live
    assert [QfcUpdate.model_validate(e).kind for e in seen[len(live) :]] == kinds


def test_profiled_runs_carry_the_precision_profile(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home")
    run = lab.run(SCROLL, profile=True)
    profile = next(u for u in lab.qfc(run.qfc_id) if u.kind == "qpu_precision_profile")
    assert {row["format"] for row in profile.payload["rows"]} >= {"fp64", "fp32", "bf16"}


def test_unknown_qfc_id_is_one_sentence(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home")
    with pytest.raises(CodexNameError, match="No QFC payloads"):
        lab.qfc("qfc::nope")
