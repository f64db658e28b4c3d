"""Fusion: chain support on synthetic beams, vetoed beams ignored, fused equals op-by-op, speedup measured."""

from __future__ import annotations

import numpy as np
import pytest

from codexlab.patterns import recombine_from_beams, run_op_by_op
from codexlab.patterns.fusion import _grid_for, chain_supports, sample_inputs
from tests.patterns.conftest import energy_run


def test_support_and_template_on_synthetic_beams(beam) -> None:
    beams = [b for r in ("r1", "r2", "r3") for b in energy_run(beam, r)]
    supports = {tuple(t for t, _ in k): len(v) for k, v in chain_supports(beams).items()}
    assert supports[("∇", "•", "+")] == 3
    assert supports[("Δ", "+")] == 3
    (glyph,) = recombine_from_beams(beams, min_support=3, measure=False)
    assert glyph.chain == ("∇", "•", "+")
    assert glyph.support == 3
    assert glyph.name.startswith("fuse_") and len(glyph.name) == len("fuse_") + 8
    assert glyph.program.fusable
    assert set(glyph.inputs) == set(glyph.program.inputs) == {"q0", "q1"}
    again = recombine_from_beams(list(reversed(beams)), min_support=3, measure=False)[0]
    assert again.name == glyph.name


def test_vetoed_beams_are_ignored(beam) -> None:
    beams = energy_run(beam, "r1") + energy_run(beam, "r2", veto_dot=True) + energy_run(beam, "r3", veto_dot=True)
    (glyph,) = recombine_from_beams(beams, min_support=3, measure=False)
    assert glyph.chain == ("Δ", "+")
    assert recombine_from_beams(beams[:5], min_support=3, measure=False) == []


def test_fused_kernel_equals_op_by_op_and_speedup_is_measured(beam) -> None:
    beams = [b for r in ("r1", "r2", "r3") for b in energy_run(beam, r)]
    (glyph,) = recombine_from_beams(beams, min_support=3, shapes=[(32, 32)], repeats=5)
    assert glyph.measured_on == (32, 32)
    assert glyph.speedup is not None and glyph.speedup > 0
    assert glyph.timings_ms["fused_ms"] > 0 and glyph.timings_ms["op_by_op_ms"] > 0
    grid = _grid_for((48, 48))
    inputs = sample_inputs(glyph.input_kinds, grid)
    fused = np.asarray(glyph.kernel(grid)(**inputs))
    eager = np.asarray(run_op_by_op(glyph.program, grid, inputs))
    assert fused.shape == (48, 48)
    assert np.max(np.abs(fused - eager)) <= 1e-6 * np.max(np.abs(eager))
    # and the value itself: |∇g|² + q1 for the Gaussian g, against the analytic form away from the edges
    x, y = grid.mesh()
    g = inputs["q0"]
    exact = (x**2 + y**2) / 0.2**4 * g**2 + inputs["q1"]
    inner = (slice(8, -8), slice(8, -8))
    assert np.max(np.abs(fused[inner] - exact[inner])) < 0.05 * np.max(np.abs(exact))


def test_the_traffic_gain_counts_bytes_from_the_specs_not_timings() -> None:
    """op-by-op: each op reads its operands and writes its result (8 bytes a value); fused: the inputs
    once and the output once. ∇a • ∇a + Δa runs ∇ once (its two uses share it), • (2 in, 1 out), Δ (1 in,
    1 out) and + (2 in, 1 out): 16 + 24 + 16 + 24 = 80 bytes against 8·(1 input + 1 output) = 16."""
    from codexlab.lang import parse_expr
    from codexlab.patterns.fusion import traffic_gain
    from codexlab.photon.adapter import codex_to_photon_ast
    from codexlab.qwave.qglyph import to_qglyph

    def gain(text: str) -> float:
        return traffic_gain(to_qglyph(codex_to_photon_ast(parse_expr(text))))

    assert gain("∇a • ∇a + Δa") == pytest.approx(80 / 16)
    assert gain("Δa") == pytest.approx(1.0)  # one op: nothing to save
    assert gain("a*b + c") == pytest.approx(48 / 32)
