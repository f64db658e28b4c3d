"""The cell's trace (`codex_trace`): glyph, prediction, rewrite, simplify, contradiction, replay and warning
events in the run's trace and the home's `traces/codex_trace.jsonl`, each naming a beam of the run."""

from __future__ import annotations

import json

import pytest

from codexlab.errors import CodexValueError
from codexlab.runtime import Lab
from codexlab.runtime.codex_trace import TRACE_FILE, trace_event

CELL = "@grid x:-1..1:16, y:-1..1:16\nf := gaussian(x, y, σ=0.3)\nL = ∇·∇f + 0*f\n⟦ Goal | tiny : ‖L‖ < 0.001 ⟧\n"


@pytest.fixture
def lab(tmp_path) -> Lab:
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    return lab


def test_the_trace_names_each_step_and_its_beam(lab: Lab) -> None:
    run = lab.run(CELL)
    beams = {b.beam_id: b for b in run.beams}
    kinds = [e["kind"] for e in run.trace]
    assert {"glyph", "prediction", "rewrite", "simplify", "contradiction"} <= set(kinds)
    (rewrite,) = [e for e in run.trace if e["kind"] == "rewrite"]
    assert (rewrite["rule"], rewrite["before"], rewrite["after"]) == ("div_grad", "∇·∇f", "Δf")
    assert beams[rewrite["beam_id"]].stage == "rewrite"
    simplify = [e for e in run.trace if e["kind"] == "simplify"]
    ops = lambda text: sorted(ch for ch in text if ch in "∇Δ□·×")  # noqa: E731 - differential glyphs in a text
    assert simplify and all(ops(e["before"]) == ops(e["after"]) for e in simplify)  # algebra only
    glyphs = [e for e in run.trace if e["kind"] == "glyph"]
    predictions = [e for e in run.trace if e["kind"] == "prediction"]
    assert [e["glyph"] for e in glyphs] == [e["glyph"] for e in predictions] and "Δ" in [e["glyph"] for e in glyphs]
    assert all(beams[e["beam_id"]].stage in ("symbolic", "wave") for e in glyphs)
    assert all(beams[e["beam_id"]].stage == "schedule" for e in predictions)
    (contradiction,) = [e for e in run.trace if e["kind"] == "contradiction"]
    assert contradiction["goal"] == "tiny"


def test_the_trace_is_logged_with_the_run_and_replays_are_too(lab: Lab) -> None:
    run = lab.run(CELL, "c")
    path = lab.home / "traces" / TRACE_FILE
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    logged = [e for e in lines if e.get("run_id") == run.run_id]
    assert [e["kind"] for e in logged] == [e["kind"] for e in run.trace]
    assert {e["cell_id"] for e in logged} == {run.cell_id} and {e["container_id"] for e in logged} == {"c"}
    replayed = lab.replay(run.ghx_id, 3)
    last = json.loads(path.read_text(encoding="utf-8").splitlines()[-1])
    assert last["kind"] == "replay" and last["beams"] == [b.beam_id for b in replayed] and len(replayed) == 3


def test_a_loop_that_stops_early_leaves_a_warning_and_kinds_are_checked(lab: Lab) -> None:
    run = lab.run("a = 1.0\n⟲ 400 { a = a * 10.0 }")
    assert any(e["kind"] == "warning" and "stopped at iteration" in e["message"] for e in run.trace)
    with pytest.raises(CodexValueError, match="not a trace kind"):
        trace_event("rewrites")
