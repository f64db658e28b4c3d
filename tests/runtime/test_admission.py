"""Overload back-off in `Lab.run`: each cell gets a `schedule` beam with the controller's decision."""

from __future__ import annotations

import threading
import time

from codexlab import Lab

SLOW = (
    "@grid x:-1..1:64, y:-1..1:64\nu := gaussian(x, y, σ=0.2)\n⟲ until ‖u - v‖ < 1e-30 max 40 { v = u; u = relax(u) }\n"
)


def _admission(run):
    return next(b for b in run.beams if b.stage == "schedule" and b.token == "cell").result


def test_an_idle_lab_admits_cells_ok(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home")
    first = _admission(lab.run("@grid x:-1..1:16, y:-1..1:16\na := gaussian(x, y, σ=0.2)\n"))
    assert first["state"] == "ok" and first["runs_now"] and first["predicted_ms"] == 0.0
    assert "within the budget" in first["reason"]


def test_a_cell_is_deferred_while_another_holds_the_only_slot(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home", max_concurrency=1, latency_budget_ms=1.0)
    lab.progress = False
    lab.run(SLOW, "warm")  # learn the slow cell's duration, so its prediction fills the budget
    runs: dict[str, object] = {}

    def slow() -> None:
        runs["slow"] = lab.run(SLOW, "a")

    worker = threading.Thread(target=slow)
    worker.start()
    while not lab.overload.status()["running"]:
        time.sleep(0.001)
    quick = lab.run("@grid x:-1..1:16, y:-1..1:16\nb := gaussian(x, y, σ=0.2)\n", "b")
    worker.join(timeout=120)
    decided = _admission(quick)
    assert decided["state"] == "deferred" and decided["wait_ms"] > 0
    assert "started after" in decided["reason"] and "budget" in decided["reason"]
    assert _admission(runs["slow"])["predicted_ms"] > 0
    assert lab.overload.status()["running"] == 0 and lab.overload.status()["queue_length"] == 0
