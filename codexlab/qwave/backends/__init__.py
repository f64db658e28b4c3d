"""Kernel backends: one registry of implementations per operation, chosen per op/size/device by measurement.

Every op has the JAX implementation (`"jax"`, all devices). Optional backends (e.g. `"numba"` on the
CPU) register themselves when their package imports and say which inputs they support. For inputs of
at least `MEASURE_MIN_POINTS` points with several candidates, the first call times each candidate on
the actual input (one warm-up, then the median of `MEASURE_REPEATS` runs) and keeps the fastest for
that (op, device, dtype, shape, axes, method); smaller inputs use JAX. `backend=` forces a choice.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from ...errors import BackendError, did_you_mean

__all__ = [
    "Backend",
    "register_backend",
    "backends_for",
    "dispatch",
    "select",
    "measurements",
    "MEASURE_MIN_POINTS",
    "MEASURE_REPEATS",
]

MEASURE_MIN_POINTS = 1 << 16
MEASURE_REPEATS = 3
DEFAULT = "jax"
_OPTIONAL = {"numba": "codexlab.qwave.backends.numba_cpu"}


@dataclass(frozen=True)
class Backend:
    """One implementation of an op: `fn(u, axes, method, **kw)` on `devices`, for what `supports` accepts."""

    op: str
    name: str
    fn: Callable[..., Any]
    devices: tuple[str, ...]
    supports: Callable[..., bool]


_REGISTRY: dict[str, dict[str, Backend]] = {}
_CHOICE: dict[tuple[Any, ...], str] = {}
_MEASURED: dict[tuple[Any, ...], dict[str, float]] = {}
_loaded = False


def _always(*_args: Any, **_kw: Any) -> bool:
    return True


def register_backend(
    op: str,
    name: str,
    fn: Callable[..., Any],
    devices: tuple[str, ...] = ("cpu",),
    supports: Callable[..., bool] | None = None,
    *,
    override: bool = False,
) -> Backend:
    """Register `fn(u, axes, method, **kw)` as backend `name` of `op`; a duplicate needs `override=True`."""
    ops = _REGISTRY.setdefault(op, {})
    if name in ops and not override:
        raise BackendError(f"Backend `{name}` of `{op}` is already registered; pass `override=True` to replace it.")
    backend = Backend(op, name, fn, tuple(devices), supports or _always)
    ops[name] = backend
    for key in [k for k in _CHOICE if k[0] == op]:
        del _CHOICE[key]
    return backend


def _load_optional() -> None:
    """Import optional backend modules once; each registers itself when its package is present."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for package, module in _OPTIONAL.items():
        if importlib.util.find_spec(package) is not None:
            importlib.import_module(module)


def backends_for(op: str) -> dict[str, Backend]:
    """The registered backends of `op`, by name."""
    _load_optional()
    return dict(_REGISTRY.get(op, {}))


def _device() -> str:
    return jax.default_backend()


def _candidates(op: str, u: Any, axes: Any, method: str, kw: dict[str, Any]) -> list[Backend]:
    device = _device()
    return [b for b in backends_for(op).values() if device in b.devices and b.supports(u, axes, method, **kw)]


def _time(backend: Backend, u: Any, axes: Any, method: str, kw: dict[str, Any]) -> float:
    """Median seconds of one call after a warm-up call (which compiles)."""
    jax.block_until_ready(backend.fn(u, axes, method, **kw))
    times = []
    for _ in range(MEASURE_REPEATS):
        start = time.perf_counter()
        jax.block_until_ready(backend.fn(u, axes, method, **kw))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def select(op: str, u: Any, axes: Any, method: str, backend: str | None = None, **kw: Any) -> Backend:
    """The backend that runs `op` on this input: forced, the only candidate, JAX when small, or measured."""
    if backend is not None:
        known = backends_for(op)
        if backend not in known:
            raise BackendError(
                f"Backend `{backend}` is not registered for `{op}`{did_you_mean(backend, known)}; "
                f"use one of {', '.join(f'`{b}`' for b in known)}."
            )
        chosen = known[backend]
        if _device() not in chosen.devices or not chosen.supports(u, axes, method, **kw):
            raise BackendError(
                f"Backend `{backend}` of `{op}` does not support this input on `{_device()}` "
                f"(shape `{np.shape(u)}`, dtype `{np.asarray(u).dtype}`, method `{method}`); "
                "use `backend=None`."
            )
        return chosen
    small = int(np.prod(np.shape(u))) < MEASURE_MIN_POINTS
    if small and DEFAULT in _REGISTRY.get(op, {}):
        jax_backend = _REGISTRY[op][DEFAULT]
        if _device() in jax_backend.devices and jax_backend.supports(u, axes, method, **kw):
            return jax_backend
    cands = _candidates(op, u, axes, method, kw)
    default = next((b for b in cands if b.name == DEFAULT), cands[0] if cands else None)
    if default is None:
        raise BackendError(f"No backend of `{op}` runs on `{_device()}`; register one with `register_backend`.")
    if len(cands) == 1 or small:
        return default
    key = (op, _device(), str(u.dtype), tuple(np.shape(u)), axes, method, tuple(sorted(kw.items())))
    if key not in _CHOICE:
        timings = {b.name: _time(b, u, axes, method, kw) for b in cands}
        _MEASURED[key] = timings
        _CHOICE[key] = min(timings, key=lambda name: timings[name])
    return backends_for(op)[_CHOICE[key]]


def dispatch(op: str, u: Any, axes: Any, method: str, *, backend: str | None = None, **kw: Any) -> Any:
    """Run `op` on `u` with the selected backend."""
    return select(op, u, axes, method, backend, **kw).fn(u, axes, method, **kw)


def measurements() -> dict[tuple[Any, ...], dict[str, float]]:
    """Seconds per backend behind each measured choice, keyed by (op, device, dtype, shape, axes, ...)."""
    return dict(_MEASURED)
