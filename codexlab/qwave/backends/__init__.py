"""Kernel backends: one registry of implementations per operation, chosen per op/size/device by a fixed rule.

Every op has the JAX implementation (`"jax"`, all devices). Optional backends (e.g. `"numba"` on the
CPU) register themselves when their package imports and say which inputs they support. Inputs of at
least `PREFER_MIN_POINTS` points go to the first optional backend (in registration order) that runs on
the device and supports them; smaller inputs, and inputs no optional backend takes, use JAX. The rule
never looks at timings: backends can round differently in the last bit, and the same call must give
the same values in every run and process. `backend=` forces a choice; `time_backends` measures the
candidates for a report.
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
    "time_backends",
    "PREFER_MIN_POINTS",
    "TIME_REPEATS",
]

PREFER_MIN_POINTS = 1 << 16
TIME_REPEATS = 3
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
    for _ in range(TIME_REPEATS):
        start = time.perf_counter()
        jax.block_until_ready(backend.fn(u, axes, method, **kw))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def select(op: str, u: Any, axes: Any, method: str, backend: str | None = None, **kw: Any) -> Backend:
    """The backend that runs `op` on this input: forced, else the fixed rule of the module docstring."""
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
    cands = _candidates(op, u, axes, method, kw)
    default = next((b for b in cands if b.name == DEFAULT), cands[0] if cands else None)
    if default is None:
        raise BackendError(f"No backend of `{op}` runs on `{_device()}`; register one with `register_backend`.")
    if int(np.prod(np.shape(u))) < PREFER_MIN_POINTS:
        return default
    return next((b for b in cands if b.name != DEFAULT), default)


def time_backends(op: str, u: Any, axes: Any, method: str, **kw: Any) -> dict[str, float]:
    """Median seconds per call of every backend that could run `op` on this input (a report: the choice
    never depends on it)."""
    return {b.name: _time(b, u, axes, method, kw) for b in _candidates(op, u, axes, method, kw)}


def dispatch(op: str, u: Any, axes: Any, method: str, *, backend: str | None = None, **kw: Any) -> Any:
    """Run `op` on `u` with the selected backend."""
    return select(op, u, axes, method, backend, **kw).fn(u, axes, method, **kw)
