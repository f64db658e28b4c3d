"""The inline HUD: panels from a real run's QFC payloads, capped state, live follow, escaped HTML fallback."""

from __future__ import annotations

import json

import numpy as np
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
    # mutations and the container's cells (the sheet panel) come from the Lab, not from the run's payloads
    from_lab = ("mutations", "sheet")
    assert {k: v for k, v in stored.items() if k not in from_lab} == {
        k: v for k, v in hud.panels.items() if k not in from_lab
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
    bundle, _ = hud._repr_mimebundle_()
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


def test_plotly_comes_from_the_plotly_package_once_per_session(monkeypatch) -> None:
    import importlib.resources

    from codexlab.hud import library

    shipped = (importlib.resources.files("plotly") / "package_data" / "plotly.min.js").read_text(encoding="utf-8")
    esm = library.PlotlyLibrary._esm
    assert isinstance(esm, str) and shipped in esm  # the library's ES module carries plotly.js itself
    assert (
        esm.index("const module = { exports: {} };") < esm.index(shipped) < esm.index("const Plotly = module.exports")
    )
    assert "export default" in esm.split(shipped)[1]
    monkeypatch.setattr(library, "_INSTANCE", [])
    first, second = library.plotly_library(), library.plotly_library()
    assert first is second and isinstance(first, library.PlotlyLibrary)
    first.close()
    third = library.plotly_library()
    assert third is not first  # a closed model is replaced
    third.close()


def test_each_hud_sends_only_its_own_small_module(lab) -> None:
    from codexlab.hud.replay import ReplayWidget

    run = lab.run(GRID + "ψ := gaussian(x, y, σ=0.2)\n", "small")
    for widget in (Hud(lab, "small").update(run), ReplayWidget(lab, run.run_id)):
        esm = widget.get_state()["_esm"]
        assert len(esm.encode()) < 100_000 and "plotly.js v" not in esm
        widget.close()


def test_the_hud_shows_a_picture_of_each_field_the_run_bound(lab) -> None:
    run = lab.run(GRID + "ψ := gaussian(x, y, σ=0.2) * exp(i*3*x)\nF = ∇|ψ|²\nn = ‖ψ‖\n", "pics")
    hud = Hud(lab, "pics").update(run)
    groups = hud.panels["fields"]
    assert [g["name"] for g in groups] == ["ψ", "F"]  # the number `n` has no picture
    titles = [p["title"] for g in groups for p in g["pictures"]]
    assert titles == ["|ψ|", "arg ψ", "F[x]", "F[y]"]
    for pic in (p for g in groups for p in g["pictures"]):
        assert pic["kind"] == "heatmap" and pic["src"].startswith("data:image/png;base64,")
        assert pic["dims"] == ["x", "y"] and pic["extent"][0][0] == -1.0
    mag = groups[0]["pictures"][0]
    values = np.abs(run.values["ψ"].values)
    assert (mag["min"], mag["max"]) == (pytest.approx(values.min(), rel=1e-5), pytest.approx(values.max(), rel=1e-5))
    page = hud._repr_html_()
    assert "Fields (4)" in page and page.count("data:image/png;base64,") >= 4
    assert Hud(lab, "pics").update(run.qfc_id).panels["fields"] == []  # a QFC id carries no values
    hud.close()


def _timeline(beams: list[dict]) -> dict:
    return {"source": "container::c", "payload": {"kind": "qpu_beam_timeline", "run_id": "r1", "beams": beams}}


def test_costs_show_compile_apart_from_run_and_unknown_compile_as_unknown() -> None:
    from codexlab.hud.panels import Panels

    beams = [
        {"beam_id": "a", "token": "Δ", "duration_ms": 120.0, "compile_ms": 110.0, "predicted_ms": 2.0},
        {"beam_id": "b", "token": "Δ", "duration_ms": 4.0, "compile_ms": 0.0, "predicted_ms": 3.0},
        {"beam_id": "c", "token": "∇", "duration_ms": 50.0, "predicted_ms": 1.0},
        {"beam_id": "d", "token": "∇", "duration_ms": 6.0, "compile_ms": 1.0},
    ]
    panels = Panels("c")
    assert panels.apply(_timeline(beams))
    rows = {r["op"]: r for r in panels.costs}
    lap = rows["Δ"]
    assert lap["count"] == 2 and lap["total_ms"] == 124.0 and lap["mean_ms"] == 62.0
    assert lap["compile_ms"] == 55.0  # (110 + 0) / 2
    assert lap["run_ms"] == 7.0  # ((120 − 110) + (4 − 0)) / 2
    assert lap["predicted_ms"] == 2.5 and lap["pred_ratio"] == pytest.approx(2.5 / 7.0, rel=1e-5)
    grad = rows["∇"]
    assert grad["compile_ms"] is None  # one beam did not report it: unknown, not 0
    assert grad["run_ms"] == 5.0  # only the beam that reported its compile time
    assert grad["predicted_ms"] == 1.0 and grad["pred_ratio"] == pytest.approx(0.2)
    page = panels_html(panels.to_dict())
    assert "unknown" in page and "run_ms" in page and "compile_ms" in page


def test_a_real_runs_costs_read_compile_ms_when_the_beams_carry_it(lab) -> None:
    run = lab.run(GRID + "ψ := gaussian(x, y, σ=0.2)\nL = Δψ\n", "cost")
    rows = {r["op"]: r for r in Hud(lab, "cost").update(run).panels["costs"]}
    lap = [b for b in run.beams if b.token == "Δ" and b.result.get("duration_ms") is not None]
    assert lap and rows["Δ"]["count"] == len(lap)
    reported = [b.result.get("compile_ms") for b in lap]
    if all(isinstance(c, (int, float)) for c in reported):
        assert rows["Δ"]["compile_ms"] == pytest.approx(sum(reported) / len(lap), rel=1e-5, abs=1e-6)
    else:
        assert rows["Δ"]["compile_ms"] is None


def test_a_new_hud_can_continue_an_earlier_huds_run_history(lab) -> None:
    first = Hud(lab, "h").update(lab.run(GRID + "ψ := gaussian(x, y, σ=0.2)\n", "h"))
    run = lab.run("L = Δψ\n", "h")
    second = Hud(lab, "h", history=first).update(run)
    assert [r["run_id"] for r in second.panels["sqi"]] == [*[r["run_id"] for r in first.panels["sqi"]], run.run_id]
    assert len(first.panels["sqi"]) == 1  # the earlier HUD is not changed
    first.close()
    second.close()
