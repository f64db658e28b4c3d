"""Per-opcode precision profile: count, mean time, mean absolute and relative error per (op, format).

Errors are measured against fp64 on the same inputs: absolute = mean |a − b| over the elements,
relative = ‖a − b‖ / max(‖b‖, tiny) (relative L2). Times are of the kernel call alone, in that format
(for the emulated formats, the fp32 kernel on dequantized inputs; quantization not included).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import CodexValueError
from ..grid import Grid
from .formats import ALL_FORMATS, FORMATS, _as_inputs, _check_scaling, _run_timed, get_format
from .kappa import KAPPA_FLOOR, KappaTable, _h_key, canonical_op, derivative_order, grid_spacing, rel_l2

__all__ = ["ProfileRecord", "PrecisionProfiler"]


@dataclass(frozen=True)
class ProfileRecord:
    """One profiled run of `op` in `format`: kernel time and errors against fp64."""

    op: str
    format: str
    ms: float
    abs_err: float
    rel_err: float
    h: float | None = None
    shape: tuple[int, ...] = ()
    scaling: str = "tensor"


@dataclass
class _Acc:
    """Running sums for one key."""

    count: int = 0
    ms: float = 0.0
    abs_err: float = 0.0
    rel_err: float = 0.0
    nonfinite: int = 0

    def add(self, ms: float, abs_err: float, rel_err: float) -> None:
        self.count += 1
        self.ms += ms
        self.abs_err += abs_err
        self.rel_err += rel_err
        self.nonfinite += int(not (math.isfinite(abs_err) and math.isfinite(rel_err)))

    def means(self) -> dict[str, float | int]:
        n = max(self.count, 1)
        return {
            "count": self.count,
            "mean_ms": self.ms / n,
            "mean_abs_err": self.abs_err / n,
            "mean_rel_err": self.rel_err / n,
            "nonfinite": self.nonfinite,
        }


def _json_number(value: float | int) -> float | int | None:
    """A JSON-safe number: None for NaN and infinities (an overflow in that format)."""
    if isinstance(value, int):
        return value
    return value if math.isfinite(value) else None


class PrecisionProfiler:
    """Accumulates per-(op, format) timings and errors against fp64; also fills a `KappaTable`.

    `profile` runs a kernel in each format; `record` adds a measurement made elsewhere (the runtime).
    One profiler uses one `scaling` for the scaled formats (`"tensor"` or `"block32"`): compare the two
    with two profilers.
    Accumulators are kept per (op, format) for the QFC payload and per (op, format, h) so that a
    measured error can be used at the spacing it was measured at.
    """

    def __init__(self, kappa: KappaTable | None = None, *, scaling: str = "tensor") -> None:
        _check_scaling(scaling)
        self.kappa = KappaTable() if kappa is None else kappa
        self.scaling = scaling
        self._acc: dict[tuple[str, str], _Acc] = {}
        self._acc_h: dict[tuple[str, str, float | None], _Acc] = {}

    def record(
        self,
        op: str,
        fmt: str,
        *,
        ms: float,
        abs_err: float,
        rel_err: float,
        h: float | None = None,
        shape: tuple[int, ...] = (),
    ) -> ProfileRecord:
        """Add one measurement of `op` in `fmt` (errors against fp64, `h` the grid spacing if known)."""
        name = get_format(fmt).name
        key = canonical_op(op)
        hk = None if h is None else _h_key(h)
        self._acc.setdefault((key, name), _Acc()).add(ms, abs_err, rel_err)
        self._acc_h.setdefault((key, name, hk), _Acc()).add(ms, abs_err, rel_err)
        return ProfileRecord(key, name, float(ms), float(abs_err), float(rel_err), hk, tuple(shape), self.scaling)

    def profile(
        self,
        op: str,
        kernel: Callable[..., Any],
        inputs: Any,
        formats: Sequence[str] = ALL_FORMATS,
        grid: Grid | Sequence[int] | None = None,
        *,
        warmup: bool = True,
    ) -> list[ProfileRecord]:
        """Run `kernel(*inputs)` in fp64 and in each of `formats`; record and return one record each.

        `grid` (a Grid, or a shape tuple meaning [−1, 1] periodic axes) gives the spacing h; with it,
        an fp32 run also stores κ = rel_err / ε(fp32) in `self.kappa`. Without it, measured errors
        carry no h and only transfer to pointwise ops. `warmup` runs each format once untimed first
        (compilation). Raises `CodexValueError` for an unknown format.
        """
        fmts = [get_format(f) for f in formats]
        scaling = self.scaling
        args = _as_inputs(inputs)
        h = None if grid is None else grid_spacing(grid)
        if warmup:
            _run_timed(kernel, args, FORMATS["fp64"], scaling)
        ref, ref_ms = _run_timed(kernel, args, FORMATS["fp64"], scaling)
        records = []
        for f in fmts:
            if f.name == "fp64":
                out, ms = ref, ref_ms
            else:
                if warmup:
                    _run_timed(kernel, args, f, scaling)
                out, ms = _run_timed(kernel, args, f, scaling)
            abs_err = float(np.mean(np.abs(out - ref))) if ref.size else 0.0
            rel_err = rel_l2(out, ref)
            records.append(
                self.record(op, f.name, ms=ms, abs_err=abs_err, rel_err=rel_err, h=h, shape=tuple(ref.shape))
            )
            if f.name == "fp32" and h is not None and math.isfinite(rel_err):
                self.kappa.add(op, h, max(rel_err / f.eps, KAPPA_FLOOR))
        return records

    def stats(self, op: str, fmt: str) -> dict[str, float | int] | None:
        """`{count, mean_ms, mean_abs_err, mean_rel_err, nonfinite}` for (op, format), or None."""
        acc = self._acc.get((canonical_op(op), get_format(fmt).name))
        return None if acc is None else acc.means()

    def measured_rel_err(self, op: str, fmt: str, h: float | None = None) -> tuple[float, float | None] | None:
        """Mean measured relative error of `op` in `fmt` at spacing `h`, and the h it was measured at.

        Uses measurements at `h` itself; else, for an op of known derivative order m, the nearest
        measured spacing h₀ scaled by (h₀/h)^m (pointwise ops: any spacing). None when nothing fits.
        """
        key, name = canonical_op(op), get_format(fmt).name
        entries = {hk: acc for (o, f, hk), acc in self._acc_h.items() if o == key and f == name}
        if not entries:
            return None
        order = derivative_order(key)
        hk = None if h is None else _h_key(h)
        if hk in entries:
            return entries[hk].means()["mean_rel_err"], hk
        if order == 0:
            total = sum(a.rel_err for a in entries.values())
            return total / sum(a.count for a in entries.values()), None
        if order is None or hk is None:
            return None
        spaced = [x for x in entries if x is not None]
        if not spaced:
            return None
        near = min(spaced, key=lambda x: abs(math.log(x / hk)))
        return entries[near].means()["mean_rel_err"] * (near / hk) ** order, near

    @property
    def ops(self) -> tuple[str, ...]:
        """Profiled ops, in first-seen order."""
        return tuple(dict.fromkeys(op for op, _ in self._acc))

    def _rows(self) -> list[dict[str, Any]]:
        order = {name: i for i, name in enumerate(ALL_FORMATS)}
        keys = sorted(self._acc, key=lambda k: (self.ops.index(k[0]), order[k[1]]))
        return [{"op": op, "format": f, "bits": FORMATS[f].bits, **self._acc[(op, f)].means()} for op, f in keys]

    def table(self, *, as_dicts: bool = False) -> Any:
        """The profile as a polars DataFrame (or a list of dicts): one row per (op, format)."""
        rows = self._rows()
        if as_dicts:
            return rows
        import polars as pl

        schema = {
            "op": pl.Utf8,
            "format": pl.Utf8,
            "bits": pl.Int64,
            "count": pl.Int64,
            "mean_ms": pl.Float64,
            "mean_abs_err": pl.Float64,
            "mean_rel_err": pl.Float64,
            "nonfinite": pl.Int64,
        }
        return pl.DataFrame(rows, schema=schema)

    def as_payload(self, container_id: str | None = None) -> dict[str, Any]:
        """The QFC `qpu_precision_profile` payload body: plain, JSON-safe dicts.

        `{kind, container_id, ops: {op: {format: {count, mean_ms, mean_abs_err, mean_rel_err,
        nonfinite}}}, kappa: {op: [{h, kappa}]}}`; a mean that overflowed (NaN/inf) is None.
        """
        if container_id is not None and not str(container_id).strip():
            raise CodexValueError("The `container_id` of a precision payload must not be blank.")
        ops: dict[str, dict[str, dict[str, float | int | None]]] = {}
        for row in self._rows():
            stats = {k: _json_number(row[k]) for k in ("count", "mean_ms", "mean_abs_err", "mean_rel_err", "nonfinite")}
            ops.setdefault(row["op"], {})[row["format"]] = stats
        return {
            "kind": "qpu_precision_profile",
            "container_id": container_id,
            "ops": ops,
            "kappa": self.kappa.as_dict(),
        }
