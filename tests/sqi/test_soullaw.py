"""SoulLaw: every built-in law, fail-closed behaviour, the registry, and the JSONL records."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from codexlab.contracts import SoulLawEvent, new_beam_id, utc_now_iso
from codexlab.contracts.collapse_trace import load_trace_record
from codexlab.errors import CodexConfigError, CodexNameError, CodexValueError, ContractError
from codexlab.sqi import (
    LAWS,
    PASS,
    LawRegistry,
    Verdict,
    check_resources,
    log_soullaw_event,
    verdict_of,
    vet,
    veto,
    warn,
)
from codexlab.store import SQLStore


def _beam(stage: str = "wave", token: str = "Δ", **result) -> dict:
    return {
        "beam_id": new_beam_id("cell_1", stage),
        "cell_id": "cell_1",
        "stage": stage,
        "token": token,
        "result": result,
        "container_id": "box",
        "timestamp": utc_now_iso(),
    }


def _only(verdicts: list[Verdict], name: str) -> Verdict:
    found = [v for v in verdicts if v.law == name]
    assert len(found) == 1, f"expected one verdict of `{name}`, got {verdicts}"
    return found[0]


# ------------------------------------------------------------------------------------ built-in laws


def test_builtin_laws_are_registered_in_order() -> None:
    assert LAWS.names()[:8] == (
        "finite",
        "bounded_growth",
        "normalized_state",
        "resources",
        "data_roots",
        "consent",
        "sqi_floor",
        "qkd_signature",
    )


def test_nan_values_are_vetoed_by_finite() -> None:
    beam = _beam(norm="nan", min="nan", max="nan", finite=False)
    v = _only(vet(beam, {"name": "L"}), "finite")
    assert (v.outcome, v.reason) == ("veto", "`L` has NaN/Inf values")
    assert verdict_of(vet(beam, {"name": "L"})) == "veto"
    ok = _only(vet(_beam(norm=1.0, min=0.0, max=1.0, finite=True)), "finite")
    assert ok.outcome == "pass"
    assert _only(vet(_beam(stage="ingest", value="inf", shape=[])), "finite").outcome == "veto"
    text = _beam(stage="ingest", token=":=", kind="string", value="inf", finite=True)
    assert _only(vet(text), "finite").outcome == "pass"


def test_bounded_growth_scales_the_limit_by_h_to_the_minus_order() -> None:
    beam = _beam(norm=5e8)
    ctx = {"input_norms": [1.0, 10.0], "spacing": (0.01, 0.02)}
    # Δ: order 2, G = 1e6 · 0.01^−2 = 1e10 ≥ 5e8/10.
    assert _only(vet(beam, ctx), "bounded_growth").outcome == "pass"
    # A pointwise op has G = 1e6: 5e8 > 1e6·10.
    pointwise = _only(vet(_beam(token="•", norm=5e8), ctx), "bounded_growth")
    assert pointwise.outcome == "veto" and "grew from ‖in‖ = 10" in pointwise.reason
    # A first derivative: G = 1e6 · 100 = 1e8, and 5e8 > 1e8·10 is false, so it passes; 2e9 does not.
    assert _only(vet(_beam(token="∇", norm=5e8), ctx), "bounded_growth").outcome == "pass"
    assert _only(vet(_beam(token="∇", norm=2e9), ctx), "bounded_growth").outcome == "veto"
    # A threshold from the config.
    strict = vet(_beam(token="•", norm=50.0), ctx, config={"thresholds": {"growth_limit": 2}})
    assert _only(strict, "bounded_growth").outcome == "veto"
    assert all(v.law != "bounded_growth" for v in vet(beam, {}))


@pytest.mark.parametrize(
    ("op", "norm", "precision", "outcome"),
    [
        ("⊕", 1 + 5e-7, "fp64", "pass"),
        ("⊕", 1 + 5e-6, "fp64", "veto"),
        ("↔", 1 + 5e-5, "fp32", "pass"),
        ("⧖", 1 + 5e-4, "fp32", "veto"),
        ("⊖", 1 + 1e-2, "bf16", "pass"),
        ("⊖", float("nan"), "fp64", "veto"),
    ],
)
def test_normalized_state_after_state_ops(op: str, norm: float, precision: str, outcome: str) -> None:
    beam = _beam(token=op, precision=precision)
    assert _only(vet(beam, {"state_norm": norm}), "normalized_state").outcome == outcome


def test_superposition_is_checked_from_its_own_norm() -> None:
    assert _only(vet(_beam(token="⊕", norm=1.5, precision="fp64")), "normalized_state").outcome == "veto"
    assert _only(vet(_beam(token="⊖", norm=1.0, precision="fp64")), "normalized_state").outcome == "pass"
    assert all(v.law != "normalized_state" for v in vet(_beam(token="↔", entropy_bits=1.0)))


def test_normalized_state_applies_only_to_state_ops() -> None:
    assert all(v.law != "normalized_state" for v in vet(_beam(token="Δ"), {"state_norm": 3.0}))


def test_resource_law_refuses_a_huge_grid_without_allocating() -> None:
    tracemalloc.start()
    try:
        verdicts = check_resources(grid_points=100_000**2, est_bytes=100_000**2 * 8, loop_iterations=10)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024
    assert [v.outcome for v in verdicts] == ["veto", "veto", "pass"]
    assert "10,000,000,000 grid points" in verdicts[0].reason and "`max_grid_points`" in verdicts[0].reason
    assert verdict_of(verdicts) == "veto"


def test_resource_law_on_beams_and_loops() -> None:
    assert _only(vet(_beam(), {"grid_points": 128 * 128}), "resources").outcome == "pass"
    loop = _beam(stage="loop", token="⟲", iterations=10, bound=5_000_000)
    assert _only(vet(loop), "resources").outcome == "veto"
    limits = {"thresholds": {"max_loop_iterations": 10_000_000}}
    assert _only(vet(loop, config=limits), "resources").outcome == "pass"


def test_data_roots_law(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "fields").mkdir(parents=True)
    inside = _only(
        vet(_beam("ingest", "load"), {"load_path": root / "fields/a.nc", "data_roots": [root]}), "data_roots"
    )
    assert inside.outcome == "pass"
    relative = vet(_beam("ingest", "load"), {"load_path": "fields/a.nc", "data_roots": [root]})
    assert _only(relative, "data_roots").outcome == "pass"
    outside = _only(vet(_beam("ingest", "load"), {"load_path": "/etc/passwd", "data_roots": [root]}), "data_roots")
    assert outside.outcome == "veto" and "outside the allowed data roots" in outside.reason
    escape = vet(_beam("ingest", "load"), {"load_path": "../../etc/passwd", "data_roots": [root]})
    assert _only(escape, "data_roots").outcome == "veto"
    url = _only(vet(_beam("ingest", "load"), {"load_path": "https://x.org/a.nc", "data_roots": [root]}), "data_roots")
    assert url.outcome == "veto" and "URL" in url.reason
    assert _only(vet(_beam("ingest", "load"), {"load_path": "a.nc"}), "data_roots").outcome == "veto"


def test_consent_before_collapse() -> None:
    collapse = _beam("collapse", "⧖")
    assert all(v.law != "consent" for v in vet(collapse, {}))
    refused = _only(vet(collapse, {"requires_consent": True, "container_id": "lab"}), "consent")
    assert refused.outcome == "veto" and "container `lab` requires consent" in refused.reason
    granted = vet(collapse, {"requires_consent": True, "consent_granted": True})
    assert _only(granted, "consent").outcome == "pass"
    assert all(v.law != "consent" for v in vet(_beam(token="Δ"), {"requires_consent": True}))


def test_sqi_floor() -> None:
    low = _only(vet({**_beam(), "qscore": 0.2}), "sqi_floor")
    assert low.outcome == "veto" and "under the SQI floor 0.35" in low.reason
    assert _only(vet(_beam(), {"qscore": 0.5}), "sqi_floor").outcome == "pass"
    assert all(v.law != "sqi_floor" for v in vet(_beam()))


def test_qkd_signature() -> None:
    entangled = _beam("entangle", "↔")
    assert _only(vet(entangled, {"qkd_on": True, "signature_ok": False}), "qkd_signature").outcome == "veto"
    assert _only(vet(entangled, {"qkd_on": True, "signature_ok": True}), "qkd_signature").outcome == "pass"
    assert all(v.law != "qkd_signature" for v in vet(entangled, {"qkd_on": True, "signature_ok": None}))
    assert all(v.law != "qkd_signature" for v in vet(entangled, {"qkd_on": False, "signature_ok": False}))


def test_error_beams_are_not_vetted() -> None:
    assert vet(_beam("error", "error", finite=False)) == []


# --------------------------------------------------------------------------------- fail-closed, registry


def test_a_law_that_raises_is_a_veto() -> None:
    registry = LawRegistry()

    @registry.law("explodes")
    def _explodes(beam, ctx):
        raise RuntimeError("boom")

    @registry.law("garbage")
    def _garbage(beam, ctx):
        return "ok"

    verdicts = vet(_beam(), laws=registry)
    assert [(v.law, v.outcome) for v in verdicts] == [("explodes", "veto"), ("garbage", "veto")]
    assert verdicts[0].reason == "law `explodes` failed: RuntimeError: boom"
    assert "failed" in verdicts[1].reason and "not `PASS`" in verdicts[1].reason


def test_registry_duplicates_override_lookup_and_names() -> None:
    registry = LawRegistry()
    registry.register("mine", lambda beam, ctx: warn("careful"))
    with pytest.raises(CodexValueError, match="already registered"):
        registry.register("mine", lambda beam, ctx: PASS)
    registry.register("mine", lambda beam, ctx: veto("no"), override=True)
    assert [v.outcome for v in vet(_beam(), laws=registry)] == ["veto"]
    with pytest.raises(CodexNameError, match="did you mean `mine`"):
        registry["mien"]
    with pytest.raises(CodexValueError, match="not valid"):
        registry.register("bad name", lambda beam, ctx: PASS)
    registry.unregister("mine")
    assert len(registry) == 0


def test_global_decorator_and_law_selection_by_name() -> None:
    from codexlab.sqi import law

    @law("always_warn_for_test")
    def _always(beam, ctx):
        return warn("just so")

    try:
        verdicts = vet(_beam(norm=1.0, finite=True), laws=["finite", "always_warn_for_test"])
        assert [(v.law, v.outcome) for v in verdicts] == [
            ("finite", "pass"),
            ("always_warn_for_test", "warn"),
        ]
        assert verdict_of(verdicts) == "warn"
        with pytest.raises(CodexValueError, match="already registered"):
            law("always_warn_for_test")(_always)
    finally:
        LAWS.unregister("always_warn_for_test")


def test_user_laws_run_with_the_config() -> None:
    config = {"laws": [{"name": "max_norm", "when": "norm > 1e6", "verdict": "veto", "reason": "norm too large"}]}
    big = _only(vet(_beam(norm=2e6, finite=True), config=config), "max_norm")
    assert (big.outcome, big.reason) == ("veto", "norm too large")
    assert _only(vet(_beam(norm=2.0, finite=True), config=config), "max_norm").outcome == "pass"
    assert all(v.law != "max_norm" for v in vet(_beam(stage="loop", iterations=3), config=config))
    registry = LawRegistry()
    registry.register("max_norm", lambda beam, ctx: PASS)
    with pytest.raises(CodexConfigError, match="name of a registered law"):
        vet(_beam(), laws=registry, config=config)


def test_verdict_of_orders_outcomes() -> None:
    make = lambda o: Verdict("x", o, "", "beam_1")  # noqa: E731
    assert verdict_of([]) == "pass"
    assert verdict_of([make("pass"), make("warn")]) == "warn"
    assert verdict_of([make("warn"), make("veto"), make("pass")]) == "veto"


# ------------------------------------------------------------------------------------------- records


def test_soullaw_events_are_appended_and_validate(tmp_path: Path) -> None:
    path = tmp_path / "traces" / "collapse_trace.jsonl"
    beam = _beam(norm="nan", finite=False)
    verdicts = vet(beam, {"name": "L"})
    events = log_soullaw_event(verdicts, path=path, container_id="box", timestamp=12.5)
    log_soullaw_event(verdicts[0], path=path, container_id="box")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(verdicts) + 1
    records = [load_trace_record(json.loads(line)) for line in lines]
    assert all(isinstance(r, SoulLawEvent) for r in records)
    first = records[0]
    assert (first.event, first.law, first.reason, first.beam_id, first.container_id, first.timestamp) == (
        "soullaw_veto",
        "finite",
        "`L` has NaN/Inf values",
        beam["beam_id"],
        "box",
        12.5,
    )
    assert records[: len(events)] == events


def test_soullaw_event_needs_a_beam_and_goes_to_the_store(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    with pytest.raises(ContractError, match="beam_id"):
        log_soullaw_event(check_resources(grid_points=10), path=path, container_id="box")
    assert not path.exists()
    store = SQLStore(f"sqlite:///{tmp_path / 'beams.db'}")
    store.ensure_tables()
    try:
        verdicts = check_resources(grid_points=10**12, beam_id="beam_cell_policy_1")
        log_soullaw_event(verdicts, path=path, container_id="box", store=store)
        rows = store.rows("collapse_traces")
        assert len(rows) == 1 and SoulLawEvent.model_validate(rows[0]).verdict == "veto"
    finally:
        store.close()
