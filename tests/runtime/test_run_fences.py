"""`Lab.run(run_id=)` and `Lab.fail_run`: a run failed from outside keeps exactly its one error beam, and
commits nothing when its thread returns late; a cancel set before the commit is honoured there."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from codexlab.errors import CodexCancelled, CodexTimeout, CodexValueError
from codexlab.runtime import Lab
from codexlab.runtime.metrics import MetricsBus

SCROLL = "@grid x:-1..1:16, y:-1..1:16\nψ := gaussian(x, y, σ=0.2)\nA = Δψ\nB = A * 2\n"


@pytest.fixture
def lab(tmp_path) -> Lab:
    lab = Lab(home=tmp_path / "home", bus=MetricsBus())
    lab.progress = False
    return lab


def _on_first_kernel(lab: Lab, action: Any) -> None:
    """Call `action()` from inside the run, when its first kernel has executed (the run's own thread)."""
    fired = threading.Event()

    def hook(event: dict[str, Any]) -> None:
        if event.get("name") == "kernel" and not fired.is_set():
            fired.set()
            action()

    lab.bus.subscribe(hook, {"execution_metrics"})


def test_a_run_failed_from_outside_commits_nothing_and_keeps_one_error_beam(lab: Lab) -> None:
    failed: list[Any] = []
    _on_first_kernel(lab, lambda: failed.append(lab.fail_run("r-outside", CodexTimeout("past its limit"))))
    with pytest.raises(CodexCancelled, match="failed from outside"):
        lab.run(SCROLL, "c", run_id="r-outside")  # the run goes on to its end, then its commit is refused
    (beam,) = failed
    assert beam is not None and beam.stage == "error" and beam.result["error"] == "CodexTimeout"
    stored = lab.store.beams_for_run("r-outside")
    assert [(b.stage, b.result["error"]) for b in stored] == [("error", "CodexTimeout")]
    assert "A" not in lab.memory("c").bindings  # the container is as before the run
    assert lab.fences.running() == []


def test_failing_a_finished_or_unknown_run_does_nothing(lab: Lab) -> None:
    run = lab.run(SCROLL, "c", run_id="r-done")
    assert run.run_id == "r-done"
    assert lab.fail_run("r-done", CodexTimeout("late")) is None
    assert lab.fail_run("nope", CodexTimeout("late")) is None
    assert "error" not in {b.stage for b in lab.store.beams_for_run("r-done")}


def test_a_cancel_set_during_the_last_instruction_stops_the_commit(lab: Lab) -> None:
    cancel = threading.Event()
    _on_first_kernel(lab, cancel.set)
    with pytest.raises(CodexCancelled):
        lab.run("@grid x:-1..1:16, y:-1..1:16\nψ := gaussian(x, y, σ=0.2)\nA = Δψ\n", "c", cancel=cancel, run_id="r-c")
    assert [b.stage for b in lab.store.beams_for_run("r-c")] == ["error"]


def test_run_ids_must_be_new_and_plain(lab: Lab) -> None:
    lab.run("a = 1\n", run_id="r-1")
    with pytest.raises(CodexValueError, match="already holds a run `r-1`"):
        lab.run("a = 2\n", run_id="r-1")
    with pytest.raises(CodexValueError, match="is not 1-64 letters"):
        lab.run("a = 2\n", run_id="no spaces")
