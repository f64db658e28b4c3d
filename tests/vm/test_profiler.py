"""The instruction profiler: counts, times that add up to the execute stage, work from the op specs."""

from __future__ import annotations

import pytest

from codexlab.ops import spec_of
from codexlab.runtime.instruction_profiler import copy_bandwidth

HEAT = """@grid x:0..1:128, y:0..1:128
u = exp(-((x-0.5)^2+(y-0.5)^2)/0.02)
⟲ 60 { u = u + 0.00001*Δu }
"""


@pytest.fixture
def profile(lab):
    lab.progress = False
    return lab.profile(HEAT)


def test_instruction_times_add_up_to_the_execution_time(profile):
    # The execute stage's own metric (the same perf_counter clock) holds the machine's run plus its set-up.
    assert profile.execute_s > 0
    assert profile.total_s == pytest.approx(profile.execute_s, rel=0.10)
    assert profile.total_s <= profile.machine_s <= profile.execute_s


def test_counts_follow_the_loop_and_work_comes_from_the_specs(profile):
    by_opcode = {}
    for s in profile.stats.values():
        by_opcode.setdefault(s.instruction.opcode, []).append(s)
    (fused,) = by_opcode["FUSED"]
    assert fused.count == 60
    assert [s.count for s in by_opcode["ENDLOOP"]] == [60]
    # Δ, * and + per point and per call, from the specs themselves.
    per_point = sum(spec_of(k).bytes for k in ("Δ", "*", "+"))
    assert fused.bytes == pytest.approx(60 * 128 * 128 * per_point)
    assert fused.flops == pytest.approx(60 * 128 * 128 * sum(spec_of(k).flops for k in ("Δ", "*", "+")))
    assert all(s.bytes == 0 for s in by_opcode["LOAD"] + by_opcode["BIND"])


def test_table_and_run(profile):
    assert profile.run is not None and profile.run.values["u"].shape == (128, 128)
    text = profile.table()
    first = text.splitlines()[3]
    slowest = max(profile.stats.values(), key=lambda s: s.seconds)
    assert first.split()[0] == str(slowest.instruction.ip)
    assert "NumPy copy bandwidth" in text and copy_bandwidth() > 0
    rows = profile.rows()
    assert [r["total_ms"] for r in rows] == sorted((r["total_ms"] for r in rows), reverse=True)
