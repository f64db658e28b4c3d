"""Precision on the wave path: profiling through Lab.run and `@precision auto` against measured errors."""

from __future__ import annotations

import numpy as np
import pytest

from codexlab.qwave.precision import recommend_precision_for_opcode
from codexlab.runtime import Lab

SCROLL = (
    "@grid x:-1..1:64, y:-1..1:64\n"
    "a := gaussian(x, y, x0=-0.3, σ=0.2)\nb := gaussian(x, y, x0=0.3, σ=0.2)\n"
    "L = Δa\nS = a ⊕ b\nP = a * b\n"
)


@pytest.fixture(scope="module")
def profiled(tmp_path_factory):
    lab = Lab(home=tmp_path_factory.mktemp("home"), flags={"COST_THRESHOLD": 0.0})
    run = lab.run(SCROLL, profile=True)
    return lab, run


def test_profiling_records_every_format_for_wave_ops(profiled):
    lab, _ = profiled
    table = lab.profiler.table(as_dicts=True)
    ops = {row["op"] for row in table}
    assert {"Δ", "*", "⊕"} <= ops
    formats = {row["format"] for row in table if row["op"] == "Δ"}
    assert {"fp32", "fp16", "bf16", "fp8_e4m3", "int8"} <= formats


@pytest.mark.parametrize("op, tol", [("Δ", 1e-3), ("Δ", 0.05), ("⊕", 1e-3), ("⊕", 0.05), ("*", 0.05)])
def test_recommendation_meets_the_measured_error(profiled, op, tol):
    lab, run = profiled
    rec = recommend_precision_for_opcode(op, tol, run.values["L"].shape, profiler=lab.profiler)
    fmt = rec.format if isinstance(rec.format, str) else rec.format.name
    measured = lab.profiler.measured_rel_err(op, fmt, 2 / 64)
    if fmt != "fp64":
        assert measured is not None and measured[0] <= tol


def test_precision_auto_picks_a_format_per_op_and_stays_within_tolerance(tmp_path):
    lab = Lab(home=tmp_path / "h", flags={"COST_THRESHOLD": 0.0})
    ref = lab.run("@grid x:-1..1:64, y:-1..1:64\nψ := gaussian(x, y, σ=0.2)\nL = Δψ")
    auto = lab.run("@precision auto\nM = Δψ")
    beam = [b for b in auto.beams if b.token == "Δ" and b.stage == "wave"][0]
    assert beam.result["precision"] in ("fp32", "fp64")  # only these meet 1e-3 for a Laplacian
    assert "κ" in beam.result["precision_reason"]
    a, b = ref.values["L"].values, auto.values["M"].values
    assert np.linalg.norm(a - b) / np.linalg.norm(a) < 1e-3
