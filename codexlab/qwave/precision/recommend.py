"""Recommend the cheapest format for an op whose error stays within a tolerance.

The error of each format is predicted as κ · ε(format), with κ for the op at the grid's spacing from a
`KappaTable`. For scaled formats (fp8, fp4, int8) the amax scale makes the error depend on the data's
spread more than on ε, so a measured error from the profiler, when one exists for (op, format),
replaces the prediction: measured beats predicted (a measurement at another spacing is carried over
by the op's power law). Without one, κ·ε treats the scaled value as if it used the full range; for
peaked data (a Gaussian: amax ≈ 5× its RMS) int8 then errs about 3–4× above the prediction, so
profile an op before trusting a scaled format for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ...errors import CodexValueError
from ..grid import Grid
from .formats import ALL_FORMATS, Format, formats_by_cost
from .kappa import (
    DEFAULT_KAPPA,
    KappaEstimate,
    KappaTable,
    as_grid,
    canonical_op,
    derivative_order,
    grid_spacing,
    measure_kappa,
    reference_inputs,
    reference_kernel,
    unknown_op_message,
)
from .profiler import PrecisionProfiler
from .references import builtin_kappa, builtin_ops

__all__ = ["Candidate", "Recommendation", "recommend_precision_for_opcode"]


@dataclass(frozen=True)
class Candidate:
    """One format's expected relative error and where it came from (`"predicted"` or `"measured"`)."""

    format: str
    rel_err: float
    source: str


@dataclass(frozen=True)
class Recommendation:
    """The chosen format for `op`, its expected error, κ, and a one-sentence reason.

    `format` is a name in `FORMATS`; `predicted_rel_err` the chosen format's expected relative error
    (κ·ε or measured, per `source`); `kappa` at spacing `h`; `candidates` every format tried,
    cheapest first.
    """

    op: str
    format: str
    predicted_rel_err: float
    kappa: float
    h: float
    tol: float
    source: str
    reason: str
    candidates: tuple[Candidate, ...]


def _kappa_for(op: str, grid: Grid, h: float, table: KappaTable) -> KappaEstimate:
    """κ of `op` at `h` from the table, else measured on reference Gaussians with the op's registered
    kernel, else with its built-in kernel (cached on disk across processes)."""
    est = table.lookup(op, h)
    if est is not None:
        return est
    ref = reference_kernel(op)
    if ref is None:
        kappa = builtin_kappa(op, grid, h, table)
        if kappa is None:
            raise CodexValueError(unknown_op_message(op, builtin_ops()))
        return KappaEstimate(kappa, h, "measured", h)
    kernel = ref.kernel

    def bound(*xs: object) -> object:
        return kernel(*xs, grid=grid)

    kappa = measure_kappa(op, bound, reference_inputs(grid, ref.arity), h, table=table)
    return KappaEstimate(kappa, h, "measured", h)


def _candidate(op: str, f: Format, kappa: float, h: float, profiler: PrecisionProfiler | None) -> Candidate:
    if f.scaled and profiler is not None:
        measured = profiler.measured_rel_err(op, f.name, h)
        if measured is not None:
            return Candidate(f.name, float(measured[0]), "measured")
    return Candidate(f.name, kappa * f.eps, "predicted")


def _sig(value: float) -> str:
    """Three significant digits without an exponent for moderate values: 2800, 687, 0.41."""
    return f"{float(f'{value:.3g}'):g}" if 1e-3 <= abs(value) < 1e6 else f"{value:.3g}"


def _reason(op: str, chosen: Candidate, est: KappaEstimate, tol: float, cheaper: list[Candidate], scaling: str) -> str:
    """`fp32: κ≈812 for `Δ` at h=0.0078 predicts 6.9e-05 ≤ tol 0.001; fp16 would give 0.79.`"""
    origin = "" if est.method == "measured" else f" (κ {est.method} from h={est.source_h:.2g})"
    if chosen.source == "predicted":
        head = f"{chosen.format}: κ≈{_sig(est.kappa)} for `{op}` at h={est.h:.2g}{origin} predicts"
    else:
        head = (
            f"{chosen.format}: with {scaling} scaling, `{op}` at h={est.h:.2g}{origin} (κ≈{_sig(est.kappa)}) measured"
        )
    head += f" {chosen.rel_err:.2g} ≤ tol {tol:g}"
    if not cheaper:
        return f"{head}; no format is cheaper."
    best = min(cheaper, key=lambda c: c.rel_err if math.isfinite(c.rel_err) else math.inf)
    note = "" if best.source == "predicted" else " (measured)"
    return f"{head}; {best.format} would give {best.rel_err:.2g}{note}."


def recommend_precision_for_opcode(
    op: str,
    tol: float = 0.05,
    grid: Grid | Sequence[int] | None = None,
    *,
    profiler: PrecisionProfiler | None = None,
    kappa: KappaTable | None = None,
    formats: Sequence[str] = ALL_FORMATS,
) -> Recommendation:
    """The cheapest format for `op` whose expected relative error (vs fp64) is ≤ `tol`.

    Parameters: `grid` is a Grid, a shape tuple (that many points per axis on [−1, 1], periodic,
    axes x, y, z, t) or None (the default 128 × 128 grid); its smallest spacing is h. κ comes from
    `kappa`, else `profiler.kappa`, else `DEFAULT_KAPPA`; when the op has no κ at any spacing it is
    measured on reference Gaussians with the kernel given to `register_reference_kernel`, else with the
    op's built-in kernel (its array rule, `references.builtin_kernel`; that κ is cached under the codexlab cache
    folder, so a later process reads it). Formats
    are tried cheapest first (bits, then native before emulated on CPU); the error is κ·ε, or the
    profiler's measured error for scaled formats. When none meets `tol`, fp64 is returned and the
    reason says so. Raises `CodexValueError` for a bad `tol`, or an op with no κ and no kernel.
    """
    if not (isinstance(tol, (int, float)) and math.isfinite(tol) and tol > 0):
        raise CodexValueError(f"The tolerance `tol={tol}` must be a positive finite number, e.g. `tol=1e-3`.")
    if not formats:
        names = ", ".join(f"`{f}`" for f in ALL_FORMATS)
        raise CodexValueError(f"The list of `formats` is empty; pass some of {names}.")
    key = canonical_op(op)
    g = as_grid(grid)
    h = grid_spacing(g)
    table = kappa if kappa is not None else profiler.kappa if profiler is not None else DEFAULT_KAPPA
    est = _kappa_for(key, g, h, table)
    ordered = formats_by_cost(formats)
    cands = [_candidate(key, f, est.kappa, h, profiler) for f in ordered]
    scaling = profiler.scaling if profiler is not None else "tensor"
    for i, c in enumerate(cands):
        if c.rel_err <= tol:
            cheaper = [x for x, f in zip(cands[:i], ordered[:i], strict=True) if f.bits < ordered[i].bits]
            return Recommendation(
                key,
                c.format,
                c.rel_err,
                est.kappa,
                h,
                float(tol),
                c.source,
                _reason(key, c, est, tol, cheaper, scaling),
                tuple(cands),
            )
    ref = next((c for c in cands if c.format == "fp64"), cands[-1])
    best = min(cands, key=lambda c: c.rel_err if math.isfinite(c.rel_err) else math.inf)
    fix = "a coarser grid or a looser tolerance" if derivative_order(key) else "a looser tolerance"
    reason = (
        f"{ref.format}: no format meets tol {tol:g} for `{key}` at h={h:.2g} (κ≈{_sig(est.kappa)}; the best, "
        f"{best.format}, gives {best.rel_err:.2g}); use {fix}."
    )
    return Recommendation(key, ref.format, ref.rel_err, est.kappa, h, float(tol), ref.source, reason, tuple(cands))
