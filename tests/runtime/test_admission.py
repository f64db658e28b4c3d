"""Overload back-off in `Lab.run`: each cell gets a `schedule` beam with the controller's decision."""

from __future__ import annotations

import itertools
import threading
import time

from codexlab import Lab
from codexlab.runtime.metrics import MetricsBus

SLOW = (
    "@grid x:-1..1:64, y:-1..1:64\nu := gaussian(x, y, σ=0.2)\n⟲ until ‖u - v‖ < 1e-30 max 40 { v = u; u = relax(u) }\n"
)


def _admission(run):
    return next(b for b in run.beams if b.stage == "schedule" and b.token == "cell").result


def test_without_the_back_off_a_cell_has_no_admission_beam(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home")
    run = lab.run("@grid x:-1..1:16, y:-1..1:16\na := gaussian(x, y, σ=0.2)\nL = Δa\n")
    assert lab.overload is None and not [b for b in run.beams if b.token == "cell"]


def test_an_idle_lab_admits_cells_ok(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home", max_concurrency=2)
    first = _admission(lab.run("@grid x:-1..1:16, y:-1..1:16\na := gaussian(x, y, σ=0.2)\n"))
    assert first["state"] == "ok" and first["runs_now"] and first["predicted_ms"] == 0.0
    assert "within the budget" in first["reason"]


def test_a_cell_is_deferred_while_another_holds_the_only_slot(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home", max_concurrency=1, latency_budget_ms=1.0, bus=MetricsBus())
    lab.progress = False
    # This test is about deferral: with κ known for every op, a cell past budget + 50 % would be collapsed.
    lab.overload.collapse_margin = 1e9
    # Work ahead is predicted minus elapsed time: a clock that ticks 1 µs per reading keeps it near the
    # prediction however loaded the machine is, and still measures a wait.
    ticks = itertools.count()
    lab.overload.clock = lambda: next(ticks) * 1e-6
    lab.run(SLOW, "warm")
    runs: dict[str, object] = {}

    def hold(event: dict[str, object]) -> None:
        """Keep the slow cell inside its first kernel (its own thread) until the quick one is queued."""
        if event.get("run_id") == "slow-run" and event.get("name") == "kernel":
            deadline = time.monotonic() + 120
            while not lab.overload.status()["queue_length"] and time.monotonic() < deadline:
                time.sleep(0.001)

    lab.bus.subscribe(hold, {"execution_metrics"})

    def slow() -> None:
        runs["slow"] = lab.run(SLOW, "a", run_id="slow-run")

    worker = threading.Thread(target=slow)
    worker.start()
    while not lab.overload.status()["running"]:
        time.sleep(0.001)
    quick = lab.run("@grid x:-1..1:16, y:-1..1:16\nb := gaussian(x, y, σ=0.2)\n", "b")
    worker.join(timeout=120)
    decided = _admission(quick)
    assert decided["state"] == "deferred" and decided["wait_ms"] > 0
    assert "started after" in decided["reason"] and "budget" in decided["reason"]
    assert _admission(runs["slow"])["predicted_ms"] > 1.0  # 40 × the relax step's predicted time
    assert lab.overload.status()["running"] == 0 and lab.overload.status()["queue_length"] == 0
