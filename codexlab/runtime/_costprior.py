"""The cost model's prior and power figures: this machine measured once per process and device.

Wave prior (`delay_ms = a·flops + b·bytes + c`), each probe timed as the fastest of 21 runs (other
work on the machine only adds time, so the fastest run is the stable measure): `c` is the run time
of a jitted 8-element add (dispatch overhead); `b` comes from a jitted reverse-copy of 2^18 float64
values (2 MiB, a 512² field; 0 FLOPs) as (time − c) / bytes; `a` from a jitted 16-step Horner chain on
the same values (32 FLOPs per value) as (time − c − b·bytes) / flops, floored at a tenth of the
kernel's time so a memory-bound machine still charges FLOPs. The probes' FLOPs and bytes come from
XLA's cost analysis, as for real kernels.
Symbolic prior (`delay_ms = a·ops + b·ops·points + c`): `exact_field` of fresh expressions of two
sizes on an 8×8 and a 256×256 grid, the fastest of 3 each (lambdify, evaluation and the field's
content hash, as the symbolic path runs them).

Power: with readable energy counters (RAPL `/sys/class/powercap/intel-rapl:N/energy_uj` for the CPU,
NVML's total energy for a GPU) the active power is measured over ≥ 0.25 s of the Horner kernel and the
reference power is the package's long-term limit (RAPL `constraint_0_power_limit_uw`) or the board's
enforced limit (NVML). Otherwise both are configured: `REFERENCE_POWER_W` and `CONFIGURED_ACTIVE_RATIO`.
Every estimate says which (`power_source`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BackendError, CodexValueError, did_you_mean

__all__ = [
    "CONFIGURED_ACTIVE_RATIO",
    "DEVICES",
    "REFERENCE_POWER_W",
    "MachineProbe",
    "PowerReading",
    "configured_power",
    "probe_machine",
]

#: Devices the cost model measures, with JAX's platform name for each.
DEVICES: dict[str, str] = {"cpu": "cpu", "gpu": "gpu"}
#: Reference power (W) per device when no counter gives one: cpu 15 W (a laptop- or small-VM-class
#: package, the first scheduler's figure), gpu 300 W (a PCIe data-centre board).
REFERENCE_POWER_W: dict[str, float] = {"cpu": 15.0, "gpu": 300.0}
#: Active power as a fraction of the reference when it is not measured: a CPU kernel keeps one or a
#: few cores and the uncore busy (≈ half the package); memory-bound GPU kernels draw ≈ 70 % of the board.
CONFIGURED_ACTIVE_RATIO: dict[str, float] = {"cpu": 0.5, "gpu": 0.7}
_RAPL = Path("/sys/class/powercap")
_BUSY_S = 0.25
_PROBE_VALUES = 1 << 18
_lock = threading.Lock()
Timed = tuple[float, float, float, Callable[[], Any]]
_probes: dict[str, MachineProbe] = {}


@dataclass(frozen=True)
class PowerReading:
    """Active and reference power of a device (W) and where they came from."""

    active_w: float
    reference_w: float
    source: str

    @property
    def ratio(self) -> float:
        """Active / reference: energy in ms-equivalent per ms of delay."""
        return self.active_w / self.reference_w


@dataclass(frozen=True)
class MachineProbe:
    """Measured speeds (ms per FLOP, per byte, per call; symbolic ms per op, per op·point, per call)
    and the power of the device and of the CPU (the symbolic path runs there)."""

    device: str
    ms_per_flop: float
    ms_per_byte: float
    dispatch_ms: float
    sym_ms_per_op: float
    sym_ms_per_op_point: float
    sym_overhead_ms: float
    power: PowerReading
    cpu_power: PowerReading

    def prior(self, backend: str) -> tuple[float, float, float]:
        """The prior coefficients (a, b, c) of the wave (`jax`) or symbolic (`sympy`) model."""
        if backend == "sympy":
            return (self.sym_ms_per_op, self.sym_ms_per_op_point, self.sym_overhead_ms)
        return (self.ms_per_flop, self.ms_per_byte, self.dispatch_ms)

    def power_for(self, backend: str) -> PowerReading:
        """The power that runs `backend`: SymPy on the CPU, JAX on the estimator's device."""
        return self.cpu_power if backend == "sympy" else self.power


def check_device(device: str) -> str:
    """`device` if the cost model knows it, else a `CodexValueError` listing the devices."""
    if device not in DEVICES:
        raise CodexValueError(
            f"The cost model has no device `{device}`{did_you_mean(device, DEVICES)}; use "
            + " or ".join(f"`{d}`" for d in DEVICES)
            + "."
        )
    return device


def configured_power(device: str, why: str = "no energy counters readable") -> PowerReading:
    """The configured power of `device`: `CONFIGURED_ACTIVE_RATIO` × `REFERENCE_POWER_W`."""
    ref = REFERENCE_POWER_W[check_device(device)]
    ratio = CONFIGURED_ACTIVE_RATIO[device]
    return PowerReading(ref * ratio, ref, f"configured: {device} active {ratio:g} × {ref:g} W reference ({why})")


def probe_machine(device: str = "cpu") -> MachineProbe:
    """This machine's `MachineProbe` for `device`, measured on first use and kept for the process."""
    check_device(device)
    with _lock:
        probe = _probes.get(device)
        if probe is None:
            probe = _measure(device)
            _probes[device] = probe
        return probe


def _measure(device: str) -> MachineProbe:
    a, b, c, busy = _wave_speeds(device)
    sa, sb, sc = _symbolic_speeds()
    cpu_meter = _rapl_meter()
    cpu_power = _measured_power("cpu", cpu_meter, busy if device == "cpu" else None)
    power = cpu_power if device == "cpu" else _measured_power(device, _nvml_meter(), busy)
    return MachineProbe(device, a, b, c, sa, sb, sc, power, cpu_power)


def _times_ms(fn: Callable[[], Any], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def _wave_speeds(device: str) -> tuple[float, float, float, Callable[[], Any]]:
    """(ms/FLOP, ms/byte, dispatch ms, a busy-work callable) of JAX on `device`."""
    import jax
    import jax.numpy as jnp

    from ._costfeatures import _analysis_counts

    try:
        dev = jax.devices(DEVICES[device])[0]
    except RuntimeError as err:
        raise BackendError(
            f'The cost model cannot measure `{device}`: JAX has no `{DEVICES[device]}` device here; use `device="cpu"`.'
        ) from err
    values = jax.device_put(jnp.linspace(0.5, 1.0, _PROBE_VALUES, dtype=jnp.float64), dev)
    tiny = jax.device_put(jnp.ones(8, dtype=jnp.float64), dev)

    def horner(v: Any) -> Any:
        y = v
        for _ in range(16):
            y = y * v + 0.5
        return y

    def timed(fn: Callable[[Any], Any], arg: Any, repeats: int) -> Timed:
        compiled = jax.jit(fn).lower(arg).compile()
        flops, nbytes = _analysis_counts(compiled.cost_analysis()) or (0.0, 0.0)

        def call() -> Any:
            return jax.block_until_ready(compiled(arg))

        call()
        return min(_times_ms(call, repeats)), flops, nbytes, call

    dispatch, _, _, _ = timed(lambda v: v + 1.0, tiny, 21)
    t_copy, _, copy_bytes, _ = timed(lambda v: v[::-1], values, 21)
    t_fma, fma_flops, fma_bytes, busy = timed(horner, values, 21)
    copy_bytes = copy_bytes or 16.0 * _PROBE_VALUES
    fma_flops = fma_flops or 32.0 * _PROBE_VALUES
    ms_per_byte = max(t_copy - dispatch, 1e-6) / copy_bytes
    compute = max(t_fma - dispatch - ms_per_byte * fma_bytes, 0.1 * max(t_fma - dispatch, 1e-6))
    return compute / fma_flops, ms_per_byte, max(dispatch, 1e-6), busy


def _symbolic_speeds() -> tuple[float, float, float]:
    """(ms per op, ms per op·point, ms per call) of `exact_field` on fresh expressions."""
    import sympy

    from ..photon.ongrid import exact_field
    from ..qwave.grid import Grid

    x, y = sympy.symbols("x y", real=True)
    small = Grid.from_spec([("x", -1.0, 1.0, 8), ("y", -1.0, 1.0, 8)])
    big = Grid.from_spec([("x", -1.0, 1.0, 256), ("y", -1.0, 1.0, 256)])
    # A salt from the clock makes the expressions (and so their cached compiled functions) new.
    salt = sympy.Rational(int(time.time_ns() % 1_000_003), 1_000_003)

    def expr(terms: int, k: int) -> Any:
        return sum(sympy.sin((i + salt + k) * x) * sympy.cos(y + i) for i in range(1, terms + 1))

    def run(terms: int, grid: Grid) -> tuple[float, int]:
        times = []
        for k in range(3):
            e = expr(terms, k + 10 * terms + 100 * grid.size)
            start = time.perf_counter()
            exact_field(e, grid)
            times.append((time.perf_counter() - start) * 1e3)
        return min(times), int(sympy.count_ops(expr(terms, 0))) + 1

    t1, k1 = run(1, small)
    t2, k2 = run(8, small)
    t3, _ = run(8, big)
    per_op = max(t2 - t1, 1e-6) / (k2 - k1)
    per_op_point = max(t3 - t2, 1e-6) / (k2 * (big.size - small.size))
    overhead = max(t1 - per_op * k1 - per_op_point * k1 * small.size, 1e-6)
    return per_op, per_op_point, overhead


Meter = tuple[Callable[[], float], float, str]


def _rapl_meter() -> Meter | None:
    """(joules so far, reference W, label) from the RAPL package counters, or None if unreadable."""
    zones = sorted(p for p in _RAPL.glob("intel-rapl:*") if p.name.count(":") == 1)
    try:
        ranges = [int((z / "max_energy_range_uj").read_text()) for z in zones]
        limits = [int((z / "constraint_0_power_limit_uw").read_text()) / 1e6 for z in zones]
        last = [int((z / "energy_uj").read_text()) for z in zones]
    except (OSError, ValueError):
        return None
    if not zones or sum(limits) <= 0:
        return None
    total = [0.0]

    def joules() -> float:
        for i, z in enumerate(zones):
            now = int((z / "energy_uj").read_text())
            total[0] += ((now - last[i]) % ranges[i]) / 1e6
            last[i] = now
        return total[0]

    return joules, sum(limits), f"RAPL ({len(zones)} package(s)) vs the package limit"


def _nvml_meter() -> Meter | None:
    """(joules so far, reference W, label) from NVML's total energy of GPU 0, or None if unavailable."""
    try:
        import pynvml  # type: ignore[import-not-found]

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        limit = pynvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1e3
        pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    except Exception:  # noqa: BLE001  (no NVML, no GPU or no energy counter: configured power)
        return None

    def joules() -> float:
        return pynvml.nvmlDeviceGetTotalEnergyConsumption(handle) / 1e3

    return joules, limit, "NVML total energy vs the enforced power limit"


def _measured_power(device: str, meter: Meter | None, busy: Callable[[], Any] | None) -> PowerReading:
    """Active power over ≥ `_BUSY_S` of busy work read from `meter`; configured when there is none."""
    if meter is None or busy is None:
        return configured_power(device)
    joules, reference, label = meter
    start_j, start = joules(), time.perf_counter()
    calls = 0
    while calls < 3 or time.perf_counter() - start < _BUSY_S:
        busy()
        calls += 1
    spent, elapsed = joules() - start_j, time.perf_counter() - start
    if spent <= 0 or elapsed <= 0 or reference <= 0:
        return configured_power(device, "the energy counter did not advance")
    active = spent / elapsed
    return PowerReading(
        active,
        reference,
        f"measured: {device} {active:.3g} W over {elapsed:.2f} s, {label} {reference:.3g} W",
    )
