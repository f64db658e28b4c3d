"""Long Python-side loops show a tqdm progress bar unless the Lab's `progress` is off (CLI --quiet/--json)."""

from __future__ import annotations

from codexlab import Lab
from codexlab.runtime.metrics import MetricsBus

LOOP = """@grid x:-1..1:16, y:-1..1:16
u := gaussian(x, y, σ=0.3)
⟲ until ‖u - v‖ < 1e-30 max 60 { v = u; u = relax(u) }
"""


def test_a_long_loop_shows_progress(tmp_path, capsys) -> None:
    lab = Lab(home=tmp_path / "home")
    lab.run(LOOP)
    assert "⟲ until (max 60)" in capsys.readouterr().err


def test_progress_off_prints_nothing(tmp_path, capsys) -> None:
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    lab.run(LOOP)
    assert "⟲" not in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ live QFC feed

FUSED = """@grid x:-1..1:32, y:-1..1:32
u := gaussian(x, y, σ=0.3)
⟲ 200 { u = u + 0.0001*Δu }
"""


def _live_listener(lab: Lab) -> list[dict]:
    events: list[dict] = []
    lab.bus.subscribe(lambda e: events.append(e["payload"]), {"qfc_update"})
    return events


def _progress(events: list[dict]) -> list[tuple[int, int, bool]]:
    rows = [p["progress"] for p in events if p.get("progress")]
    return [(r["done"], r["total"], r["fused"]) for r in rows]


def test_a_python_loop_streams_progress_and_beams_before_the_run_commits(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home", bus=MetricsBus())
    lab.progress = False
    lab.live_interval_s = 0.0  # every iteration, not at most every 0.1 s
    events = _live_listener(lab)
    run = lab.run(LOOP)
    live = [p for p in events if p.get("live")]
    committed = [p for p in events if not p.get("live")]
    assert live and committed and events.index(committed[0]) > events.index(live[-1])
    assert all(p["kind"] == "qpu_beam_timeline" and p["run_id"] == run.run_id for p in live)
    steps = _progress(live)
    loop = next(b for b in run.beams if b.stage == "loop" and "iterations" in b.result)
    assert steps[0][0] == 0 and steps[-1][0] == loop.result["iterations"]
    assert [d for d, _, _ in steps] == sorted(d for d, _, _ in steps) and len(steps) >= 3
    assert all(total == 60 and not fused for _, total, fused in steps)
    # every executed beam was streamed once, in order, before the commit
    streamed = [b["beam_id"] for p in live for b in p["beams"]]
    assert streamed == run.beam_ids


def test_a_fused_loop_reports_progress_from_inside_the_kernel(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home", bus=MetricsBus())
    lab.progress = False
    events = _live_listener(lab)
    run = lab.run(FUSED)
    loop = next(b for b in run.beams if b.stage == "loop")
    assert loop.result["fused"] is True
    steps = _progress([p for p in events if p.get("live")])
    assert steps[0] == (0, 200, True) and steps[-1] == (200, 200, True)
    assert any(0 < d < 200 for d, _, _ in steps)


def test_no_listener_means_no_live_envelopes(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home", bus=MetricsBus())
    lab.progress = False
    assert not lab.bus.wants("qfc_update")
    lab.run(FUSED)
    assert not [e for e in lab.bus.recent("qfc_update", 1000) if e["payload"].get("live")]
    assert lab.bus.recent("qfc_update")  # the committed run's envelopes are still published
