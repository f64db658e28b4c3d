"""Overload back-off: ok, deferred and collapsed cells against a latency budget, on a fake clock."""

from __future__ import annotations

import heapq
import threading
from functools import partial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codexlab.errors import CodexValueError
from codexlab.qwave.grid import Grid
from codexlab.qwave.precision import FORMATS, KappaTable, recommend_precision_for_opcode
from codexlab.runtime.overload import OverloadController, collapse_plan

GRID = Grid.from_spec([("x", -1.0, 1.0, 256), ("y", -2.0, 2.0, 256)], bc={"x": "periodic", "y": "periodic"})
KAPPA_256 = 800.0  # SEMANTICS.md: a 256² Laplacian has κ ≈ 800


class Clock:
    """A clock the test moves by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def advance_ms(self, ms: float) -> None:
        self.now += ms / 1e3


def controller(concurrency: int = 2, budget: float = 100.0) -> tuple[OverloadController, Clock]:
    clock = Clock()
    return OverloadController(concurrency, budget, clock=clock), clock


def predictor() -> partial:
    table = KappaTable()
    table.add("Δ", min(GRID.spacing), KAPPA_256)
    return partial(recommend_precision_for_opcode, kappa=table)


# ---------------------------------------------------------------------------------------- states


def test_within_the_budget_a_cell_runs_now():
    ctl, _ = controller()
    a = ctl.admit("c1", 80.0)
    assert (a.state, a.runs_now, a.wait_ms) == ("ok", True, 0.0)
    assert a.reason == "ok: 0 ms of predicted work ahead is within the budget of 200 ms (2 × 100 ms)."
    status = ctl.status()
    assert status["state"] == "ok" and status["running"] == 1 and status["queue_length"] == 0
    assert status["running_ms"] == 80.0 and status["capacity_ms"] == 200.0 and status["wait_ms"] == 0.0


def test_a_large_cell_on_an_idle_lab_runs_as_asked():
    ctl, _ = controller()
    assert ctl.admit("huge", 10_000.0).state == "ok"


def test_past_the_budget_a_cell_is_deferred_and_queued():
    ctl, _ = controller()
    ctl.admit("c1", 120.0)
    ctl.admit("c2", 90.0)
    d = ctl.admit("c3", 50.0)  # 210 ms ahead > 200, ≤ 300
    assert d.state == "deferred" and not d.runs_now
    assert d.reason.startswith("deferred: 210 ms of predicted work ahead passes the budget of 200 ms")
    assert "queued at position 1, predicted wait 90 ms" in d.reason
    assert d.wait_ms == pytest.approx(90.0)  # the shorter of the two running cells ends first
    status = ctl.status()
    assert (status["state"], status["queue_length"], status["queued_ms"]) == ("deferred", 1, 50.0)
    assert status["queued"] == ["c3"] and status["load_ms"] == pytest.approx(260.0)


def test_past_budget_plus_half_a_cell_is_collapsed_to_a_lower_precision():
    ctl, _ = controller()
    ctl.admit("big", 310.0)
    c = ctl.admit("c2", 40.0, grid=GRID, precision="fp64", tol=1e-3, predictor=predictor(), ops=("Δ",))
    assert c.state == "collapsed" and c.runs_now
    assert c.plan.precision == "fp32" and c.plan.grid == GRID
    eps32 = FORMATS["fp32"].eps
    assert f"{KAPPA_256 * eps32:.2g}" in c.plan.reason  # κ·ε of fp32 ≤ tol
    assert c.predicted_ms == pytest.approx(40.0 * 0.5)  # 4 instead of 8 bytes per value
    assert c.reason.startswith("collapsed: 310 ms of predicted work ahead passes budget + 50% (300 ms)")
    assert c.as_result()["collapse"]["precision"] == "fp32"
    assert ctl.status()["state"] == "collapsed"


def test_without_a_plan_a_collapse_is_a_deferral_that_says_why():
    ctl, _ = controller()
    ctl.admit("big", 400.0)
    d = ctl.admit("c2", 10.0)
    assert d.state == "deferred" and "without `grid`, `tol`, `predictor`" in d.reason
    never = ctl.admit("c3", 10.0, grid=GRID, tol=1e-30, predictor=predictor(), ops=("Δ",))
    assert never.state == "deferred" and "within tol 1e-30" in never.reason


# ---------------------------------------------------------------------------------------- collapse


def test_collapse_plans_follow_kappa_times_epsilon_and_never_change_the_grid():
    pred = predictor()
    eps32 = FORMATS["fp32"].eps
    same = collapse_plan(GRID, "fp64", 1e-3, pred, ops=("Δ",))
    assert (same.grid, same.precision, same.cost_factor) == (GRID, "fp32", 0.5)
    # fp32 misses 5e-5 at 256² (800·ε ≈ 9.5e-5): nothing cheaper keeps it (a coarser grid is never tried)
    assert KAPPA_256 * eps32 > 5e-5
    assert collapse_plan(GRID, "fp64", 5e-5, pred, ops=("Δ",)) is None
    assert collapse_plan(GRID, "fp32", 1e-30, pred, ops=("Δ",)) is None
    assert collapse_plan(GRID, "fp64", 1e-3, pred, ops=()) is None  # a cell with no field ops
    with pytest.raises(CodexValueError, match="positive finite number"):
        collapse_plan(GRID, "fp64", -1.0, pred, ops=("Δ",))


def test_an_op_the_precision_model_cannot_assess_blocks_the_collapse():
    ctl, _ = controller()
    ctl.admit("big", 400.0)
    d = ctl.admit("c", 10.0, grid=GRID, tol=1e-3, predictor=predictor(), ops=("Δ", "no-such-op"))
    assert d.state == "deferred" and "cannot assess" in d.reason


# ---------------------------------------------------------------------------------------- progress


def test_finish_starts_queued_cells_in_order_and_deferred_ones_when_the_load_fits():
    ctl, clock = controller(concurrency=1, budget=100.0)
    ctl.admit("a", 60.0)
    ok = ctl.admit("b", 50.0)  # 60 ahead ≤ 100: ok, but the slot is busy
    assert ok.state == "ok" and not ok.runs_now and ok.wait_ms == pytest.approx(60.0)
    late = ctl.admit("c", 40.0)  # 110 ahead > 100
    assert late.state == "deferred" and late.wait_ms == pytest.approx(110.0)
    clock.advance_ms(60.0)
    started = ctl.finish("a")
    assert [s.cell_id for s in started] == ["b"]
    assert started[0].wait_ms == pytest.approx(60.0) and "started after 60 ms" in started[0].reason
    assert ctl.status()["queued"] == ["c"]
    assert ctl.finish("b")[0].cell_id == "c"
    assert ctl.status()["queue_length"] == 0


def test_a_deferred_cell_starts_on_poll_once_running_work_has_shrunk():
    ctl, clock = controller(concurrency=2, budget=50.0)
    ctl.admit("long", 150.0)
    d = ctl.admit("d", 40.0)  # 150 ahead > 100: deferred although a slot is free
    assert d.state == "deferred" and not d.runs_now
    assert ctl.poll() == []
    clock.advance_ms(60.0)  # 90 ms remain, within the budget
    assert [a.cell_id for a in ctl.poll()] == ["d"]


def test_cancel_finish_and_duplicate_admissions_are_checked():
    ctl, _ = controller(concurrency=1)
    ctl.admit("a", 10.0)
    ctl.admit("b", 10.0)
    assert ctl.cancel("b") and not ctl.cancel("b")
    with pytest.raises(CodexValueError, match="already admitted"):
        ctl.admit("a", 1.0)
    with pytest.raises(CodexValueError, match="did you mean `a`"):
        ctl.finish("aa")
    with pytest.raises(CodexValueError, match="finite number ≥ 0"):
        ctl.admit("c", -1.0)
    with pytest.raises(CodexValueError, match="whole number ≥ 1"):
        OverloadController(0)
    with pytest.raises(CodexValueError, match="positive number of ms"):
        OverloadController(1, 0.0)


@settings(max_examples=150, deadline=None)
@given(
    running=st.lists(st.floats(1.0, 500.0), min_size=1, max_size=4),
    queued=st.lists(st.floats(0.0, 200.0), max_size=6),
    elapsed=st.floats(0.0, 600.0),
)
def test_predicted_wait_is_list_scheduling_of_the_queue(running, queued, elapsed):
    ctl, clock = controller(concurrency=len(running), budget=1e6)
    assert all(ctl.admit(f"r{i}", ms).runs_now for i, ms in enumerate(running))
    assert not any(ctl.admit(f"q{i}", ms).runs_now for i, ms in enumerate(queued))
    clock.advance_ms(elapsed)
    free = [max(ms - elapsed, 0.0) for ms in running]
    heapq.heapify(free)
    for ms in queued:
        heapq.heappush(free, heapq.heappop(free) + ms)
    assert ctl.predicted_wait_ms() == pytest.approx(free[0], abs=1e-9)


def test_concurrent_admissions_keep_the_invariants():
    ctl, _ = controller(concurrency=3, budget=40.0)
    barrier = threading.Barrier(8)
    seen: list[str] = []
    over: list[int] = []
    lock = threading.Lock()

    def worker(k: int) -> None:
        barrier.wait()
        for i in range(25):
            first = ctl.admit(f"w{k}_{i}", 10.0)
            pending = [first] if first.runs_now else []
            while pending:
                cell = pending.pop()
                running = ctl.status()["running"]
                with lock:
                    seen.append(cell.cell_id)
                    if running > 3:
                        over.append(running)
                pending.extend(ctl.finish(cell.cell_id))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert over == []
    assert sorted(seen) == sorted(f"w{k}_{i}" for k in range(8) for i in range(25))  # each ran once
    assert ctl.status()["running"] == 0 and ctl.status()["queue_length"] == 0
