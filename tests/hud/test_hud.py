"""The inline HUD: panels from a real run's QFC payloads, capped state, live follow, escaped HTML fallback."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("anywidget")

from codexlab import Lab  # noqa: E402
from codexlab.hud import Hud, panels_from_updates, panels_html  # noqa: E402
from codexlab.hud.panels import MAX_BEAMS  # noqa: E402

GRID = "@grid x:-1..1:32, y:-1..1:32\n"


@pytest.fixture
def lab(tmp_path) -> Lab:
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    return lab


def test_panels_match_the_run(lab) -> None:
    run = lab.run(GRID + "f := x^2 + y^2\nL = log(f)\nM = L + 1\nN = ‖f‖\n", "c")
    hud = Hud(lab, "c").update(run)
    p = hud.panels
    assert p["run_id"] == run.run_id and p["container"] == "c"
    assert [b["id"] for b in p["timeline"]] == run.beam_ids
    assert [(b["stage"], b["token"]) for b in p["timeline"]] == [(b.stage, b.token) for b in run.beams]
    assert [n["id"] for n in p["lineage"]["nodes"]] == run.beam_ids
    edges = {(e["from"], e["to"]) for e in p["lineage"]["edges"]}
    assert edges == {(parent, b.beam_id) for b in run.beams for parent in b.parents}
    layer = {n["id"]: n["layer"] for n in p["lineage"]["nodes"]}
    assert all(layer[a] < layer[b] for a, b in edges)
    vetoes = {v["name"]: (v["law"], v["reason"]) for v in p["vetoes"]}
    assert vetoes == {"L": ("finite", run.values["L"].reason), "M": ("finite", run.values["M"].reason)}
    veto_beam = next(b for b in p["timeline"] if b["id"] == run.values["L"].beam_id)
    assert veto_beam["verdict"] == "veto"
    (sqi,) = p["sqi"]
    qscores = [s.qscore for s in run.scores if s.qscore is not None]
    assert sqi["run_id"] == run.run_id and sqi["qscore_min"] == pytest.approx(min(qscores))
    timed = [b for b in run.beams if b.result.get("duration_ms") is not None]
    assert sum(c["count"] for c in p["costs"]) == len(timed)
    assert {c["op"] for c in p["costs"]} == {b.token for b in timed}
    assert p["mutations"] == [] and p["precision"] == {}
    assert repr(hud) == f"<Hud container=c run={run.run_id}>"
    hud.close()


def test_mutations_appear_after_fuse(lab) -> None:
    lab.run(GRID + "ψ := gaussian(x, y, σ=0.2)\n", "f")
    for _ in range(3):
        run = lab.run("E = ∇ψ • ∇ψ + Δψ\n", "f")
    lab.fuse("f")
    (mutation,) = lab.mutations("f")
    rows = Hud(lab, "f").update(run).panels["mutations"]
    assert [r["mutation_id"] for r in rows] == [mutation.mutation_id]
    assert rows[0]["reason"] == "fusion" and rows[0]["mutated"] == mutation.mutated.glyph


def test_state_stays_small_for_a_200_beam_run(lab) -> None:
    code = "a0 = 1.0\n" + "".join(f"a{i} = a{i - 1} + {i}.0\n" for i in range(1, 130))
    run = lab.run(code, "big")
    assert len(run.beams) >= 200
    hud = Hud(lab, "big").update(run)
    assert len(hud.panels["timeline"]) == min(len(run.beams), MAX_BEAMS)
    assert hud.panels["timeline"][-1]["id"] == run.beam_ids[-1]
    assert len(json.dumps(hud.panels).encode()) < 100_000
    state = hud.get_state()
    synced = {k: v for k, v in state.items() if k not in ("_esm", "_css")}
    assert len(json.dumps(synced, default=str).encode()) < 100_000


def test_follow_updates_live_and_close_stops(lab) -> None:
    hud = Hud(lab, "live").follow()
    seen: list[str] = []
    hud.observe(lambda change: seen.append(change["new"]["run_id"]), names="panels")
    first = lab.run(GRID + "ψ := gaussian(x, y, σ=0.2)\n", "live")
    assert hud.panels["run_id"] == first.run_id
    assert [b["id"] for b in hud.panels["timeline"]] == first.beam_ids
    lab.run("w0 = 1.0\n", "other")  # another container: ignored
    assert hud.panels["run_id"] == first.run_id
    second = lab.run("L = Δψ\n", "live")
    assert hud.panels["run_id"] == second.run_id and first.run_id in seen
    assert [r["run_id"] for r in hud.panels["sqi"]] == [first.run_id, second.run_id]
    hud.close()
    third = lab.run("M = Δψ\n", "live")
    assert hud.panels["run_id"] == second.run_id != third.run_id


def test_panels_from_stored_updates_equal_the_live_panels(lab) -> None:
    hud = Hud(lab, "c").follow()
    run = lab.run(GRID + "ψ := gaussian(x, y, σ=0.2)\nL = Δψ\n", "c")
    hud.close()
    stored = panels_from_updates(lab.qfc(run.qfc_id), "c")
    assert {k: v for k, v in stored.items() if k != "mutations"} == {
        k: v for k, v in hud.panels.items() if k != "mutations"
    }


def test_html_fallback_escapes_text(lab) -> None:
    lab.configure(
        "c", laws=[{"name": "small_norm", "when": "norm > 0.1", "verdict": "veto", "reason": "<b>too big</b>"}]
    )
    run = lab.run(GRID + "ψ := gaussian(x, y, σ=0.2)\n", "c")
    hud = Hud(lab, "c").update(run)
    assert any(v["reason"] == "<b>too big</b>" for v in hud.panels["vetoes"])
    page = hud._repr_html_()
    assert "&lt;b&gt;too big&lt;/b&gt;" in page and "<b>too big</b>" not in page
    bundle = hud._repr_mimebundle_()
    assert bundle["text/html"] == page and bundle["text/plain"] == repr(hud)
    data = {"run_id": "<script>x</script>", "timeline": [{"stage": "<i>", "token": "&", "ms": 1.0}]}
    assert "<script>" not in panels_html(data) and "&lt;script&gt;" in panels_html(data)


def test_a_profiled_run_has_a_precision_heatmap(lab) -> None:
    run = lab.run(GRID + "ψ := gaussian(x, y, σ=0.2)\nL = Δψ\n", "c", profile=True)
    precision = Hud(lab, "c").update(run).panels["precision"]
    assert precision["ops"] == ["Δ"] and "fp32" in precision["formats"]
    fp32 = next(c for c in precision["cells"] if c["format"] == "fp32")
    assert fp32["rel_err"] is not None and 0 < fp32["rel_err"] < 1e-3


LOOP = GRID + "u := gaussian(x, y, σ=0.3)\n⟲ until ‖u - v‖ < 1e-30 max 40 { v = u; u = relax(u) }\n"


def test_a_following_hud_shows_a_running_loop_then_the_committed_run(lab) -> None:
    lab.live_interval_s = 0.0
    hud = Hud(lab, "loop").follow()
    snapshots: list[dict] = []
    hud.observe(lambda change: snapshots.append(json.loads(json.dumps(change["new"]))), names="panels")
    run = lab.run(LOOP, "loop")
    hud.close()
    live = [p for p in snapshots if p["live"]]
    assert live and not snapshots[-1]["live"] and snapshots[-1]["progress"] is None
    done = [p["progress"]["done"] for p in live if p["progress"]]
    loop = next(b for b in run.beams if b.stage == "loop")
    assert done[0] == 0 and done[-1] == loop.result["iterations"] and done == sorted(done)
    timelines = {json.dumps([b["id"] for b in p["timeline"]]) for p in live}
    assert len(timelines) >= 2  # beams were added while the cell ran
    assert [b["id"] for b in snapshots[-1]["timeline"]] == run.beam_ids


def test_selecting_a_beam_replays_its_eid_or_its_run(lab) -> None:
    run = lab.run(
        GRID + "@seed 3\na := gaussian(x, y, x0=-0.5, σ=0.1)\nb := gaussian(x, y, x0=0.5, σ=0.1)\nP = a ↔ b\n", "r"
    )
    hud = Hud(lab, "r").update(run)
    member = next(b for b in run.beams if b.eid)
    hud.select(member.beam_id)
    replay = hud.replay
    assert replay["ref"] == member.eid and replay["selected"] == member.beam_id
    assert replay["steps"][replay["step"]]["beam_id"] == member.beam_id
    assert [s["beam_id"] for s in replay["steps"]] == [b.beam_id for b in lab.replay(member.eid, n=hud.replay_n)]
    plain = next(b for b in run.beams if not b.eid and b.stage == "ingest")
    hud.select(plain.beam_id)
    assert hud.replay["ref"] == run.ghx_id
    assert hud.replay["steps"][hud.replay["step"]]["beam_id"] == plain.beam_id
    hud.select("no-such-beam")
    assert hud.replay["steps"] == [] and hud.replay["error"] == "unknown beam"
    hud.select("")
    assert hud.replay == {}
    hud.close()


def test_plotly_is_one_library_widget_per_session(monkeypatch, tmp_path) -> None:
    from codexlab.hud import library

    bundle = tmp_path / "plotly.js"
    bundle.write_text("export default { initialize() {} };\n")
    monkeypatch.setattr(library, "BUNDLE", bundle)
    monkeypatch.setattr(library, "_INSTANCE", [])
    monkeypatch.setattr(library.PlotlyLibrary, "_esm", bundle)
    first, second = library.plotly_library(), library.plotly_library()
    assert first is second and isinstance(first, library.PlotlyLibrary)
    first.close()
    third = library.plotly_library()
    assert third is not first  # a closed model is replaced
    third.close()
    monkeypatch.setattr(library, "BUNDLE", tmp_path / "missing.js")
    assert library.plotly_library() is None


def test_a_new_hud_can_continue_an_earlier_huds_run_history(lab) -> None:
    first = Hud(lab, "h").update(lab.run(GRID + "ψ := gaussian(x, y, σ=0.2)\n", "h"))
    run = lab.run("L = Δψ\n", "h")
    second = Hud(lab, "h", history=first).update(run)
    assert [r["run_id"] for r in second.panels["sqi"]] == [*[r["run_id"] for r in first.panels["sqi"]], run.run_id]
    assert len(first.panels["sqi"]) == 1  # the earlier HUD is not changed
    first.close()
    second.close()
