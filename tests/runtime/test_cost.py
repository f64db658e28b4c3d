"""The cost model: features, fitting, the four cost terms, predictions, persistence, calibration."""

from __future__ import annotations

import math
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from codexlab.contracts import validate_payload
from codexlab.errors import BackendError, CodexValueError, ContractError
from codexlab.qwave import kernels
from codexlab.qwave.grid import Grid
from codexlab.runtime._costfeatures import (
    ARITY,
    FLOPS_PER_POINT,
    _analysis_counts,
    grid_features,
    table_features,
)
from codexlab.runtime._costfit import LinearModel, fit_nonnegative, low_median
from codexlab.runtime._costprior import MachineProbe, PowerReading, configured_power
from codexlab.runtime.cost import (
    ETHICS_PRIOR,
    CodexCostEstimator,
    glyph_execution_payload,
    log_beam_prediction,
)
from codexlab.runtime.overload import OverloadController
from codexlab.runtime.scheduler import Decision, Scheduler
from codexlab.runtime.values import Value
from codexlab.store import open_store

PROBE = MachineProbe(
    device="cpu",
    ms_per_flop=1e-6,
    ms_per_byte=1e-7,
    dispatch_ms=0.01,
    sym_ms_per_op=0.1,
    sym_ms_per_op_point=1e-5,
    sym_overhead_ms=1.0,
    power=configured_power("cpu"),
    cpu_power=configured_power("cpu"),
)
GRID = Grid.from_spec([("x", -1.0, 1.0, 64), ("y", -1.0, 1.0, 64)])
X, Y = sympy.symbols("x y", real=True)


def estimator(**kw) -> CodexCostEstimator:
    return CodexCostEstimator(probe=PROBE, **kw)


def prior_ms(flops: float, nbytes: float) -> float:
    return PROBE.ms_per_flop * flops + PROBE.ms_per_byte * nbytes + PROBE.dispatch_ms


# ------------------------------------------------------------------------------------- contract 3


def test_the_plan_example_detail_sums_to_12_5_and_validates():
    detail = {"energy": 2, "ethics_risk": 0.1, "delay": 8, "opportunity_loss": 2.4}
    payload = glyph_execution_payload("Δ", "L", "codex", detail, timestamp=1.0)
    assert payload["payload"]["cost"] == 12.5
    assert payload["type"] == "glyph_execution"
    validate_payload("glyph_execution", payload)


def test_payload_from_an_estimate_carries_its_four_terms():
    est = estimator().estimate("Δ", "wave", size=4096)
    payload = glyph_execution_payload("Δ", {"shape": [64, 64]}, "photon", est)["payload"]
    assert payload["detail"] == est.detail()
    assert payload["cost"] == pytest.approx(est.cost, rel=1e-12)
    assert set(payload["detail"]) == {"energy", "ethics_risk", "delay", "opportunity_loss"}


def test_payload_with_a_negative_term_is_rejected():
    with pytest.raises(ContractError, match="energy"):
        glyph_execution_payload("Δ", "L", "codex", {"energy": -1, "ethics_risk": 0, "delay": 1, "opportunity_loss": 0})
    with pytest.raises(CodexValueError, match="must be an Estimate, a Decision or a mapping"):
        glyph_execution_payload("Δ", "L", "codex", 3.0)


# ----------------------------------------------------------------------------------------- features


def test_table_features_follow_the_documented_formula():
    flops, nbytes = table_features("Δ", 1000, "fp32", components=2)
    assert flops == FLOPS_PER_POINT["Δ"] * 1000 * 2
    assert nbytes == 2 * 4 * 1000 * 2  # (1 input + 1 output) × 4 bytes × points × components
    ins, outs = ARITY["+"]
    assert table_features("+", 10, "fp64") == (1.0 * 10, (ins + outs) * 8 * 10)
    assert table_features("unknown-op", 5, "float64") == (5.0, 16.0 * 5)


def test_xla_features_of_an_add_count_one_flop_and_three_arrays_per_point():
    n = 48
    s = jax.ShapeDtypeStruct((n, n), jnp.float64)
    est = estimator()
    flops, nbytes = est.features("+", kernel=jnp.add, example_args=(s, s))
    assert flops == n * n
    assert nbytes == 3 * 8 * n * n
    assert est.features("+", kernel=jnp.add, example_args=(s, s)) == (flops, nbytes)
    assert est.features("+", size=n * n) == table_features("+", n * n)
    with pytest.raises(CodexValueError, match="needs a `kernel` with `example_args` or a `size`"):
        est.features("+")


def test_cost_analysis_may_be_a_list_of_dicts():
    parts = [{"flops": 2.0, "bytes accessed": 8.0}, {"flops": 1.0, "transcendentals": 1.0}]
    assert _analysis_counts(parts) == (13.0, 8.0)  # a transcendental counts 10 FLOPs
    assert _analysis_counts({"utilization": 1.0}) is None
    assert _analysis_counts(None) is None


def test_grid_features_are_per_point_counts_times_points():
    big = Grid.from_spec([("x", -1.0, 1.0, 128), ("y", -1.0, 1.0, 128)])
    small = grid_features("Δ", GRID)
    large = grid_features("Δ", big)
    assert small[2] == large[2] == "xla"
    assert large[0] == pytest.approx(4 * small[0]) and large[1] == pytest.approx(4 * small[1])
    assert grid_features("□", GRID)[2] == "table"  # no `t` axis: the stencil does not apply


def test_an_unknown_precision_gets_a_did_you_mean():
    with pytest.raises(CodexValueError, match="did you mean `fp32`"):
        estimator().estimate("Δ", "wave", size=10, dtype="fp33")


# ------------------------------------------------------------------------------------------- fitting


@settings(max_examples=60, deadline=None)
@given(
    a=st.floats(0, 1e-3),
    b=st.floats(0, 1e-4),
    c=st.floats(1e-3, 10.0),
)
def test_nnls_recovers_non_negative_coefficients_exactly(a, b, c):
    rng = np.random.default_rng(0)
    f1 = rng.uniform(1e3, 1e6, 6)
    f2 = rng.uniform(1e3, 1e6, 6)
    rows = [(x1, x2, a * x1 + b * x2 + c) for x1, x2 in zip(f1, f2, strict=True)]
    model = fit_nonnegative(rows, LinearModel(1.0, 1.0, 1.0))
    for x1, x2, y in rows:
        assert model.predict(x1, x2) == pytest.approx(y, rel=1e-6)
    assert min(model.a, model.b, model.c) >= 0
    assert model.source == "fit" and model.sizes == 6


def test_nnls_keeps_coefficients_non_negative_and_ignores_a_compile_outlier():
    rows = [(1e3 * k, 0.0, 5.0 - 0.5 * k) for k in range(1, 6)]  # time falling with size: a must stay 0
    model = fit_nonnegative(rows, LinearModel(1e-6, 0.0, 0.1))
    y = np.array([r[2] for r in rows])
    assert model.a == 0 and model.b == 0
    assert model.c == pytest.approx(np.sum(1 / y) / np.sum(1 / y**2))  # the relative-error optimum
    runs = [(1e4, 0.0, 1.0), (1e4, 0.0, 1.1), (1e4, 0.0, 400.0), (2e4, 0.0, 2.0), (2e4, 0.0, 2.0)]
    fitted = fit_nonnegative(runs, LinearModel(1e-6, 0.0, 0.1))
    assert fitted.predict(1e4, 0.0) == pytest.approx(1.1)
    assert low_median([3.0, 1.0, 2.0, 400.0]) == 2.0


def test_a_single_size_scales_the_prior():
    prior = LinearModel(1e-6, 1e-7, 0.01)
    model = fit_nonnegative([(1e5, 1e6, 2.0)] * 3, prior)
    assert model.source == "scaled prior"
    assert model.predict(1e5, 1e6) == pytest.approx(2.0)
    assert model.a / prior.a == pytest.approx(model.c / prior.c)


# ------------------------------------------------------------------------------------ the four terms


def test_estimate_is_a_pure_function_of_its_inputs():
    est = estimator(xla=False)
    ctx = {"memory": 1 << 30, "tick": 7, "metadata": {"cell": "c1"}}
    first = est.estimate("Δ", "wave", ctx, grid=GRID)
    again = est.estimate("Δ", "wave", dict(ctx), grid=GRID)
    assert first == again
    flops, nbytes = table_features("Δ", GRID.size)
    assert first.delay == pytest.approx(prior_ms(flops, nbytes), rel=1e-12)
    assert first.tick == 7 and first.metadata == {"cell": "c1"} and first.memory_ok is True
    assert first.cost == pytest.approx(sum(first.detail().values()), rel=1e-15)


@settings(max_examples=100, deadline=None)
@given(
    size=st.integers(1, 1 << 22),
    tick=st.integers(0, 10_000),
    dtype=st.sampled_from(["fp64", "fp32", "float64", "bf16"]),
    path=st.sampled_from(["wave", "symbolic"]),
    queue=st.floats(0, 1e4),
)
def test_the_same_inputs_give_the_same_estimate(size, tick, dtype, path, queue):
    est = estimator(xla=False)
    ctx = {"tick": tick, "metadata": {"tag": "x"}, "queue_ms": queue}
    e1 = est.estimate("∇", path, ctx, size=size, dtype=dtype, expr=X**2 + Y)
    e2 = est.estimate("∇", path, ctx, size=size, dtype=dtype, expr=X**2 + Y)
    assert e1 == e2
    assert e1.opportunity_loss == queue
    assert math.isclose(e1.cost, e1.energy + e1.ethics_risk + e1.delay + e1.opportunity_loss, rel_tol=1e-12)


def test_energy_is_active_over_reference_power_times_delay():
    e = estimator().estimate("Δ", "wave", size=4096)
    assert e.energy == pytest.approx(0.5 * e.delay)  # configured: active 0.5 × reference
    assert "configured" in e.power_source
    hot = MachineProbe(**{**PROBE.__dict__, "power": PowerReading(30.0, 15.0, "measured: test")})
    assert CodexCostEstimator(probe=hot).estimate("Δ", "wave", size=4096).energy == pytest.approx(2 * e.delay)


def test_ethics_risk_is_the_beta_posterior_mean_times_delay():
    est = estimator()
    alpha, beta = ETHICS_PRIOR
    e = est.estimate("Δ", "wave", size=100, container="lab")
    assert e.veto_prob == pytest.approx(alpha / (alpha + beta))
    assert e.ethics_risk == pytest.approx(e.veto_prob * e.delay)
    for vetoed in [True] * 3 + [False] * 7:
        est.record_verdict("Δ", "lab", vetoed)
    assert est.veto_probability("Δ", "lab") == pytest.approx((alpha + 3) / (alpha + beta + 10))
    assert est.veto_probability("Δ", "other") == pytest.approx(alpha / (alpha + beta))
    counted = est.record_verdicts(
        [
            {"token": "∇", "container_id": "lab", "verdict": "veto", "stage": "wave"},
            {"token": "∇", "container_id": "lab", "verdict": "veto", "stage": "schedule"},
            {"token": "∇", "container_id": "lab", "verdict": None, "stage": "wave"},
            {"token": "∇", "container_id": "lab", "verdict": "warn", "stage": "wave"},
        ]
    )
    assert counted == 2
    assert est.veto_probability("∇", "lab") == pytest.approx((alpha + 1) / (alpha + beta + 2))
    uniform = estimator(ethics_prior=(1.0, 1.0))
    assert uniform.veto_probability("Δ", "lab") == 0.5
    with pytest.raises(CodexValueError, match="α0 > 0 and β0 > 0"):
        estimator(ethics_prior=(0.0, 1.0))


def test_context_keys_are_checked_and_memory_is_compared_to_the_footprint():
    est = estimator()
    with pytest.raises(CodexValueError, match="did you mean `memory`"):
        est.estimate("Δ", "wave", {"memroy": 10}, size=100)
    footprint = table_features("Δ", 100)[1]
    assert est.estimate("Δ", "wave", {"memory": footprint}, size=100).memory_ok is True
    assert est.estimate("Δ", "wave", {"memory": footprint - 1}, size=100).memory_ok is False
    assert est.estimate("Δ", "wave", size=100).memory_ok is None
    with pytest.raises(CodexValueError, match="`wave` or `symbolic`"):
        est.estimate("Δ", "sideways", size=100)


def test_the_symbolic_path_prices_ops_and_ops_times_points():
    expr = sympy.sin(X) * sympy.cos(Y) + X**2
    e = estimator().estimate("Δ", "symbolic", size=4096, expr=expr)
    ops = sympy.count_ops(expr) + 1
    assert (e.flops, e.bytes) == (ops, ops * 4096)
    expected = PROBE.sym_ms_per_op * ops + PROBE.sym_ms_per_op_point * ops * 4096 + PROBE.sym_overhead_ms
    assert e.delay == pytest.approx(expected)
    assert e.backend == "sympy:cpu"


# --------------------------------------------------------------------------------------- predictions


def test_predictions_are_logged_before_and_completed_after():
    est = estimator(xla=False)
    e = est.estimate("+", "symbolic", size=10, expr=X + 1)
    handle = est.log_beam_prediction("+", "symbolic", e, beam_context={"beam_id": "beam_x"})
    record = est.record_actual(handle, 2 * e.delay)
    assert record.error == pytest.approx(0.5)
    assert est.prediction_errors() == [pytest.approx(0.5)]
    assert est.predictions()[0].beam_context == {"beam_id": "beam_x"}
    with pytest.raises(CodexValueError, match="not a pending prediction"):
        est.record_actual(handle, 1.0)
    with pytest.raises(CodexValueError, match="finite number ≥ 0"):
        est.record_actual(est.log_beam_prediction("+", "symbolic", e, beam_context={}), math.nan)
    with pytest.raises(CodexValueError, match="log the estimate of the op that runs"):
        est.log_beam_prediction("Δ", "symbolic", e, beam_context={})


def test_the_first_wave_run_at_a_shape_is_a_warm_up_and_later_runs_calibrate():
    est = estimator(xla=False)
    e = est.estimate("Δ", "wave", size=4096)
    first = est.record_actual(est.log_beam_prediction("Δ", "wave", e, beam_context={}), 500.0)
    assert first.warmup
    assert est.prediction_errors() == [] and len(est.prediction_errors(include_warmup=True)) == 1
    for actual in (2.0, 2.2, 1.8):
        est.record_actual(est.log_beam_prediction("Δ", "wave", e, beam_context={}), actual)
    assert est.estimate("Δ", "wave", size=4096).delay == pytest.approx(2.0)  # 500 ms left out


def test_module_level_log_beam_prediction_uses_the_given_estimator():
    est = estimator()
    e = est.estimate("Δ", "wave", size=16)
    handle = log_beam_prediction("Δ", "wave", e, beam_context={"cell": "c"}, estimator=est)
    assert est.record_actual(handle, e.delay).error == 0.0


def test_pooled_models_stand_in_for_an_op_with_few_runs():
    est = estimator(xla=False)
    for size in (1000, 2000, 4000):
        for _ in range(2):
            flops, nbytes = table_features("+", size)
            est.observe("+", "jax:cpu", "float64", size, flops, nbytes, 1e-3 * size)
    assert est.model("+", "jax:cpu", "float32").source == "fit"  # pooled over dtypes
    assert est.model("-", "jax:cpu", "float64").source == "fit"  # pooled over the backend's ops
    assert est.estimate("-", "wave", size=3000).delay == pytest.approx(3.0)
    assert est.model("-", "sympy:cpu", "float64").source == "prior"


# -------------------------------------------------------------------------------------- persistence


def test_observations_are_rows_and_a_new_estimator_on_the_store_starts_calibrated(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'beams.db'}")
    store.ensure_tables()
    est = estimator(store=store, xla=False)
    for size in (1024, 4096, 16384):
        flops, nbytes = table_features("Δ", size)
        for k in range(3):
            est.observe("Δ", "jax:cpu", "fp64", size, flops, nbytes, 0.05 + 1e-4 * size + 0.01 * k, predicted_ms=0.1)
    assert est.flush() == 9
    rows = store.rows("cost_calibration", op="Δ")
    assert len(rows) == 9
    columns = {"op", "backend", "dtype", "size", "flops", "bytes", "predicted_ms", "actual_ms", "timestamp"}
    assert columns <= set(rows[0])
    assert rows[0]["backend"] == "jax:cpu" and rows[0]["dtype"] == "float64"
    fresh = estimator(store=store, xla=False)
    key = ("Δ", "jax:cpu", "float64")
    assert fresh.estimate("Δ", "wave", size=8192).delay == pytest.approx(
        est.estimate("Δ", "wave", size=8192).delay, rel=1e-12
    )
    assert fresh.model(*key).source == "fit"
    assert fresh.refit()[key] == pytest.approx(est.refit()[key])


# --------------------------------------------------------------------------------------- scheduler


def _field() -> Value:
    return Value("field", expr=sympy.exp(-(X**2 + Y**2)))


def test_the_decision_carries_the_four_terms_and_completes_its_prediction():
    sched = Scheduler(estimator=estimator())
    d = sched.decide(
        "Δ",
        [_field()],
        sym_available=True,
        wave_available=True,
        grid=GRID,
        expr=sympy.diff(sympy.exp(-(X**2 + Y**2)), X, 2),
    )
    result = d.as_result()
    assert set(result["detail"]) == {"energy", "ethics_risk", "delay", "opportunity_loss"}
    assert result["cost"] == pytest.approx(sum(result["detail"].values()))
    assert set(result["alternatives"]) == set(result["alternative_costs"]) == {"symbolic", "wave"}
    assert {"path", "backend", "reason", "predicted_ms", "prediction_id", "model", "power"} <= set(result)
    chosen = min(result["alternative_costs"], key=result["alternative_costs"].get)
    assert d.path == chosen
    sched.observe(d, d.predicted_ms)
    assert d.prediction_id is None
    assert len(sched.estimator.predictions()) == 1


def test_symbolic_cost_past_the_threshold_goes_wave():
    sched = Scheduler(cost_threshold=0.0, estimator=estimator())
    d = sched.decide("Δ", [_field()], sym_available=True, wave_available=True, grid=GRID, expr=X**2)
    assert d.path == "wave" and "COST_THRESHOLD" in d.reason


def test_numbers_only_work_on_one_point_and_vectors_on_every_component():
    est = estimator(xla=False)
    sched = Scheduler(estimator=est)
    d = sched.decide(
        "+", [Value("number", data=1), Value("number", data=2)], sym_available=False, wave_available=True, grid=GRID
    )
    assert d.estimate.size == 1
    v = sched.decide("+", [Value("vector"), Value("field")], sym_available=False, wave_available=True, grid=GRID)
    assert v.estimate.flops == table_features("+", GRID.size, components=2)[0]


def test_no_path_names_the_flag():
    with pytest.raises(BackendError, match="`QWAVE_EXEC_ON=1`"):
        Scheduler(estimator=estimator()).decide("load", [], sym_available=False, wave_available=False, grid=GRID)


def test_opportunity_loss_is_the_overload_controllers_queue_wait():
    now = [0.0]
    ctl = OverloadController(max_concurrency=1, latency_budget_ms=1000.0, clock=lambda: now[0])
    ctl.admit("busy", 40.0)
    now[0] = 0.010
    sched = Scheduler(estimator=estimator(), overload=ctl)
    d = sched.decide("Δ", [_field()], sym_available=False, wave_available=True, grid=GRID)
    assert d.detail["opportunity_loss"] == pytest.approx(30.0)
    manual = Decision("Δ", "wave", "jax", "test", 1.0, estimate=d.estimate)
    sched.observe(manual, 1.0)  # no prediction id: observed directly


# ------------------------------------------------------------------------------------- calibration


def _laplacian(n: int):
    grid = Grid.from_spec([("x", -1.0, 1.0, n), ("y", -1.0, 1.0, n)])
    axes = kernels.axis_specs(grid)
    fn = jax.jit(lambda u: kernels.lap(u, axes, "fd2", backend="jax"))
    x, y = grid.mesh()
    return fn, jnp.asarray(np.exp(-(x**2 + y**2) / 0.1))


def _median_ms(fn, u, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(u))
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def test_calibration_on_real_laplacians_beats_the_prior_on_a_held_out_size():
    est = CodexCostEstimator()  # the measured machine prior
    probe = est.probe
    assert all(math.isfinite(v) and v > 0 for v in (probe.ms_per_flop, probe.ms_per_byte, probe.dispatch_ms))
    assert probe.power.source.startswith(("configured", "measured"))
    train, held = (32, 64, 128, 256), 192
    runs = {n: _laplacian(n) for n in (*train, held)}
    feats = {n: est.features("Δ", kernel=fn, example_args=(u,)) for n, (fn, u) in runs.items()}
    for fn, u in runs.values():
        jax.block_until_ready(fn(u))
    before = est.estimate("Δ", "wave", size=held**2, features=feats[held]).delay
    held_ms = []
    for _ in range(5):  # rounds interleave the sizes, so a busy spell hits the fit and the held-out alike
        for n in (*train, held):
            ms = _median_ms(*runs[n])
            if n == held:
                held_ms.append(ms)
                continue
            e = est.estimate("Δ", "wave", size=n * n, features=feats[n])
            est.record_actual(est.log_beam_prediction("Δ", "wave", e, beam_context={"n": n}), ms)
    after = est.estimate("Δ", "wave", size=held**2, features=feats[held])
    actual = statistics.median(held_ms)
    assert after.model.startswith("fit")
    assert abs(after.delay - actual) / actual < abs(before - actual) / actual
