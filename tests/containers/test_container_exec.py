"""`execute_qfc_container_beams`: a stored program (a fused QGlyph program, a fusion glyph, a scroll) run
over a container's fields; every beam carries `"source": "qfc_container_exec"`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from codexlab.container import SOURCE, execute_qfc_container_beams, program_code
from codexlab.errors import CodexTypeError, CodexValueError
from codexlab.lang import parse, parse_expr
from codexlab.photon.adapter import codex_to_photon_ast
from codexlab.qwave.qglyph import to_qglyph
from codexlab.runtime import Lab
from codexlab.runtime.run import Run

REPO = Path(__file__).resolve().parents[2]


def _numpy_energy(w: np.ndarray, h: float) -> np.ndarray:
    """∇w • ∇w + Δw with 2nd-order central differences on a periodic grid, written out in NumPy."""
    out = np.zeros_like(w)
    for axis in (0, 1):
        up, down = np.roll(w, -1, axis), np.roll(w, 1, axis)
        out += ((up - down) / (2 * h)) ** 2 + (down - 2 * w + up) / h**2
    return out


def _stored_program(run: Run) -> str:
    return next(b.result["qglyph_id"] for b in run.beams if "qglyph_id" in b.result)


def test_a_stored_fused_program_runs_over_the_fields_with_the_source_tag(lab: Lab, source_run: Run) -> None:
    box = lab.container("src")
    run = execute_qfc_container_beams(box, _stored_program(source_run), outputs="E2")
    assert run.beams and {b.source for b in run.beams} == {SOURCE}
    stored = lab.store.beams_for_run(run.run_id)
    assert stored and all(b.source == "qfc_container_exec" for b in stored)
    h = lab.memory("src").grid.spacing[0]
    w = lab.container("src")["w"].values
    assert np.allclose(run.values["E2"].values, _numpy_energy(w, h), rtol=1e-10, atol=1e-8)
    assert np.array_equal(run.values["E2"].values, source_run.values["E"].values)
    assert "E2" in box.names and run.cell_id.startswith("exec_")
    w_beam = lab.memory("src").bindings["w"].value.beam_id
    e2_beam = lab.memory("src").bindings["E2"].value.beam_id
    assert e2_beam in run.beam_ids and w_beam in lab.lineage(e2_beam, ids_only=True)


def test_inputs_rename_a_programs_slots(lab: Lab, source_run: Run) -> None:
    program = to_qglyph(codex_to_photon_ast(parse_expr("Δq * 2")))
    assert program_code(program, inputs={"q": "w"}, outputs={"_": "D"}) == "D = Δw * 2\n"
    run = lab.container("src").execute(program, inputs={"q": "w"}, outputs="D")
    h = lab.memory("src").grid.spacing[0]
    w = lab.container("src")["w"].values
    lap = sum((np.roll(w, 1, a) - 2 * w + np.roll(w, -1, a)) / h**2 for a in (0, 1))
    assert np.allclose(run.values["D"].values, 2 * lap, rtol=1e-12, atol=1e-9)


def test_a_scroll_runs_as_text_path_or_ast(lab: Lab, source_run: Run, tmp_path: Path) -> None:
    box = lab.container("src")
    assert box.execute("S1 = w * 3\n").values["S1"].shape == (32, 32)
    scroll = tmp_path / "s.codex"
    scroll.write_text("S2 = w + 1\n", encoding="utf-8")
    run = box.execute(scroll)
    assert run.cell_id == "exec_s" and {b.source for b in run.beams} == {SOURCE}
    assert box.execute(parse("S3 = ‖w‖")).values["S3"] == pytest.approx(float(source_run.values["n0"]))
    with pytest.raises(CodexValueError, match="a scroll names its own"):
        box.execute("S4 = w", inputs={"a": "w"})
    with pytest.raises(CodexTypeError, match="not `int`"):
        box.execute(3)


def test_a_fusion_glyph_runs_by_name_over_the_fields(lab: Lab) -> None:
    code = "@grid x:-1..1:32, y:-1..1:32\nw := random(seed=3)\nE = ∇w • ∇w + Δw\n"
    for _ in range(3):
        lab.run(code, container="fz")
    lab.min_fusion_gain = 0.0  # keep whatever glyph is found: this test is about exec
    glyph = lab.fuse("fz")
    assert glyph is not None and glyph.chain == ("∇", "•", "+") and glyph.inputs == ("q0", "q1")
    assert glyph.text == "q1 + ∇q0 • ∇q0"
    run = lab.container("fz").execute(glyph, inputs={"q0": "w", "q1": "w"}, outputs="F")
    assert any(b.token == glyph.name for b in run.beams)  # the fused glyph ran as one op
    assert {b.source for b in run.beams} == {SOURCE}
    h = lab.memory("fz").grid.spacing[0]
    w = lab.container("fz")["w"].values
    grad2 = sum(((np.roll(w, -1, a) - np.roll(w, 1, a)) / (2 * h)) ** 2 for a in (0, 1))
    assert np.allclose(run.values["F"].values, w + grad2, rtol=1e-10, atol=1e-8)


def test_fork_copies_names_and_leaves_the_source_untouched(lab: Lab, source_run: Run) -> None:
    fork = lab.container("src").fork("branch")
    assert fork.names == lab.container("src").names
    fork.execute("w = w * 0")
    assert float(np.abs(fork["w"].values).max()) == 0.0
    assert float(np.abs(lab.container("src")["w"].values).max()) > 0.0
    assert fork.memory.bindings["E"].value.beam_id == lab.memory("src").bindings["E"].value.beam_id
    with pytest.raises(Exception, match=r"`ww` is not bound in container `branch` \(did you mean `w`\?\)"):
        fork["ww"]
    assert repr(fork).startswith("<Container branch: 5 names [E, n0, u, w, ψ] on x:-1..1:32")


def test_python_m_container_demo_runs(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "codexlab.container", "--home", str(tmp_path / "home")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "sources ['qfc_container_exec']" in done.stdout
    assert "E_again equals E bit for bit: True" in done.stdout
    assert "source sha256 " in done.stdout
