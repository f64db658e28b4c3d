"""The debugger: a hook of the one machine — stepping, breakpoints, stop on non-finite, the store."""

from __future__ import annotations

import numpy as np
import pytest

from codexlab.errors import CodexValueError

HEAT = """@grid x:0..1:16, y:0..1:16
u = exp(-((x-0.5)^2+(y-0.5)^2)/0.02)
⟲ 3 { u = u + 0.1*Δu }
v = u * 2
"""


def _steps(debugger):
    out = []
    while debugger.step().reason != "finished":
        out.append(debugger.current)
    return out


def test_stepping_a_loop_visits_every_iterations_instructions(lab):
    program = lab.compile(HEAT)
    loop = next(s.loop for s in program.statements if s.loop is not None)
    inside = {s.index for s in loop.body}
    body = [i.ip for i in program.instructions() if i.statement in inside or i.opcode == "ENDLOOP"]
    debugger = lab.debug(HEAT)
    seen = _steps(debugger)
    in_body = [ins.ip for ins in seen if ins.ip in body]
    # CONST 0.1, LOAD u, the fused group, BIND u, ENDLOOP: once per iteration, in order.
    assert [i.opcode for i in program.instructions() if i.ip in body] == ["CONST", "LOAD", "FUSED", "BIND", "ENDLOOP"]
    assert in_body == body * 3
    assert debugger.finished and debugger.run is not None
    # The same values as a plain run, whose loop runs fused in one lax loop (the debugger runs it op by op).
    plain = lab.run(HEAT)
    np.testing.assert_allclose(debugger.run.values["v"].values, plain.values["v"].values, rtol=1e-12)


def test_registers_are_dataarrays_and_iteration_counts(lab):
    binds = [i.ip for i in lab.compile(HEAT).instructions() if i.opcode == "BIND" and i.line == 3]
    debugger = lab.debug(HEAT, instructions=binds)
    stops = []
    while (stop := debugger.cont()).reason == "breakpoint":
        stops.append(stop.iteration)
        regs = debugger.registers
        assert debugger.current.opcode == "BIND" and debugger.line == 3
        # The statement's registers: 0.1, u, Δu, 0.1·Δu and the sum; the root is u + 0.1·Δu.
        assert float(regs["r0"]) == pytest.approx(0.1)
        u, lap, total = regs["r1"], regs["r2"], regs["r4"]
        assert u.dims == ("x", "y") and u.shape == (16, 16)
        np.testing.assert_allclose(total.values, u.values + 0.1 * lap.values, rtol=1e-12, atol=1e-12)
    assert stops == [0, 1, 2]
    assert debugger.finished


def test_line_breakpoint_and_next_line(lab):
    debugger = lab.debug(HEAT, breakpoints=[4])
    stop = debugger.cont()
    assert stop.reason == "breakpoint" and debugger.line == 4 and debugger.current.opcode == "LOAD"
    assert debugger.next_line().reason == "finished"
    debugger = lab.debug(HEAT)
    lines = []
    while debugger.next_line().reason == "line":
        lines.append((debugger.line, debugger.iteration))
    # The loop's line once when the loop starts, then again at each later iteration's first instruction.
    assert lines == [(1, 0), (2, 0), (3, 0), (3, 1), (3, 2), (4, 0)]


def test_stops_on_the_first_nonfinite_value_naming_its_instruction(lab):
    code = "a = 1.0\n⟲ 400 { a = a * 1e100 }\nb = a + 1"
    debugger = lab.debug(code)
    stop = debugger.cont()
    assert stop.reason == "nonfinite"
    ins = lab.compile(code).locate(stop.instruction.statement, ("op", "r2"))
    assert ins is not None and f"instruction {ins.ip}" in stop.detail and "*" in stop.detail
    # 1e100 overflows a double at its fourth power: iteration 3 makes the first Inf.
    assert stop.iteration == 3 == int(np.floor(np.log10(np.finfo(float).max) / 100))
    assert not np.isfinite(float(debugger.registers["r2"]))


def test_abandoned_run_keeps_only_its_error_beam_and_memory(lab):
    lab.run("@grid x:0..1:16, y:0..1:16\nw = 5")
    with lab.debug(HEAT + "w = 7\n", breakpoints=[4]) as debugger:
        assert debugger.cont().reason == "breakpoint"
        run_id = debugger.run_id
        with pytest.raises(CodexValueError, match="debugger"):
            lab.run("q = 1")
    assert debugger.finished and debugger.run is None
    assert [b.stage for b in lab.store.beams_for_run(run_id)] == ["error"]
    assert lab.memory().get("w").value.data == 5
    assert "u" not in lab.memory().bindings
    # The container is free again.
    assert lab.run("q = 1").values["q"] == 1
