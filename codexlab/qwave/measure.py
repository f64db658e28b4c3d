"""⧖: Gaussian-pointer measurement of a state or of one member of an entangled pair.

The Kraus operator is K_{r₀} = G_σ(r − r₀) with ∫G_σ² = 1 (so G_σ² is a normal density of width σ) and
σ = max(2h, resolution), h the largest spacing: the outcome r₀ is drawn from p(r₀) = (|ψ|² ∗ G_σ²)(r₀)
at the grid points, and the post-state is normalize(K_{r₀}ψ), never a one-cell delta. Distances wrap on
periodic axes (so the convolution is an FFT of length n) and do not on the others (a zero-padded FFT
of length 2n, i.e. the linear convolution). The same kernel gives p and K, so p(r₀)ΔA = ‖K_{r₀}ψ‖²ΔA.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import CodexValueError, did_you_mean
from .grid import Axis, Grid
from .pairs import EntangledPair, schmidt_decompose, side_name
from .prng import as_key, key_words
from .states import coerce, normalized, wrap

__all__ = ["Measurement", "MODES", "pointer_sigma", "pointer_density", "collapse", "measure_pair"]

MODES: tuple[str, ...] = ("pointer", "projective")


@dataclass(frozen=True, eq=False)
class Measurement:
    """The record of one ⧖: outcome, its probability, the key, the post-state(s), mode and σ.

    `outcome` holds coordinates in axis order (`axes`), `index` the grid indices; `probability` is the
    pointer density at the outcome times ΔA; `key` the PRNG key's uint32 words. For a pair member,
    `post` and `partner` are pure states when the pair is left a product and reduced densities
    (Σₖ λₖ²|φₖ|²) otherwise, and `member` says which one was measured.
    """

    outcome: tuple[float, ...]
    probability: float
    key: list[int]
    post: Any
    partner: Any = None
    mode: str = "pointer"
    sigma: float = 0.0
    index: tuple[int, ...] = ()
    axes: tuple[str, ...] = ()
    member: str | None = None

    @property
    def key_hex(self) -> str:
        """The PRNG key as one hex string."""
        return "".join(f"{w:08x}" for w in self.key)

    def __repr__(self) -> str:
        where = ", ".join(f"{a}={v:.4g}" for a, v in zip(self.axes, self.outcome, strict=True))
        who = f", member={self.member!r}" if self.member else ""
        return (
            f"Measurement({where}, probability={self.probability:.4g}, mode={self.mode!r}, "
            f"sigma={self.sigma:.4g}{who}, key={self.key_hex})"
        )


def pointer_sigma(grid: Grid, *, sigma: float | None = None, resolution: float | None = None) -> float:
    """The pointer width: `sigma` when given (≥ 2h), else max(2h, resolution), h the largest spacing.

    Raises `CodexValueError` for a non-positive width or an explicit `sigma` below 2h (a pointer that
    narrow would collapse onto one cell).
    """
    floor = 2.0 * max(grid.spacing)
    if sigma is not None:
        s = float(sigma)
        if not np.isfinite(s) or s < floor * (1 - 1e-12):
            raise CodexValueError(
                f"Pointer width `sigma={sigma}` is below two grid spacings (2h = {floor:.4g}), which would "
                "collapse onto one cell; pass a wider `sigma=`, a `resolution=`, or refine the grid."
            )
        return s
    if resolution is None:
        return floor
    res = float(resolution)
    if not np.isfinite(res) or res <= 0:
        raise CodexValueError(f"`resolution={resolution}` must be a positive length; write e.g. `resolution=0.05`.")
    return max(floor, res)


def _mode(mode: str) -> str:
    """Validate the measurement mode."""
    if mode not in MODES:
        raise CodexValueError(
            f'Measurement mode `{mode}` is unknown{did_you_mean(str(mode), MODES)}; use `"pointer"` or `"projective"`.'
        )
    return mode


def _axis_kernel(axis: Axis, sigma: float) -> tuple[int, np.ndarray]:
    """FFT length and FFT of the 1-D G_σ² kernel indexed by offset (wrapped on periodic axes)."""
    n, h = axis.n, axis.spacing
    length = n if axis.periodic else 2 * n
    m = np.arange(length)
    offsets = np.where(m > length // 2, m - length, m) if axis.periodic else np.where(m >= n, m - length, m)
    kernel = np.exp(-((offsets * h) ** 2) / (2.0 * sigma**2)) / np.sqrt(2.0 * np.pi * sigma**2)
    if not axis.periodic:
        kernel[n] = 0.0
    return length, np.fft.rfft(kernel)


@lru_cache(maxsize=64)
def _kernels(grid: Grid, sigma: float) -> tuple[tuple[int, ...], tuple[jax.Array, ...]]:
    """Per-axis FFT lengths and kernel FFTs of G_σ² on `grid` (cached per grid and width)."""
    pairs = [_axis_kernel(a, sigma) for a in grid.axes]
    return tuple(p[0] for p in pairs), tuple(jnp.asarray(p[1]) for p in pairs)


@lru_cache(maxsize=64)
def _axes_info(grid: Grid) -> tuple[tuple[jax.Array, ...], tuple[float | None, ...]]:
    """Per-axis coordinates (on the device) and periods (None on non-periodic axes)."""
    coords = tuple(jnp.asarray(a.coords) for a in grid.axes)
    periods = tuple(a.n * a.spacing if a.periodic else None for a in grid.axes)
    return coords, periods


def _smooth(dens: jax.Array, kffts: tuple[jax.Array, ...], lengths: tuple[int, ...]) -> jax.Array:
    """dens ∗ G_σ² (per axis: circular FFT on periodic axes, zero-padded FFT on the others)."""
    out = dens
    for ax, (length, kf) in enumerate(zip(lengths, kffts, strict=True)):
        n = out.shape[ax]
        shape = [1] * out.ndim
        shape[ax] = kf.shape[0]
        spec = jnp.fft.rfft(out, n=length, axis=ax) * kf.reshape(shape)
        out = jax.lax.slice_in_dim(jnp.fft.irfft(spec, n=length, axis=ax), 0, n, axis=ax)
    return out


@partial(jax.jit, static_argnames=("lengths",))
def _mass(dens: jax.Array, kffts: tuple[jax.Array, ...], lengths: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
    """Outcome probabilities per grid point, (dens ∗ G_σ²) clipped at 0 and normalized, and their raw sum."""
    smooth = jnp.maximum(_smooth(dens.astype(jnp.float64), kffts, lengths), 0.0)
    total = jnp.sum(smooth)
    return smooth / total, total


def _kraus(
    coords: tuple[jax.Array, ...],
    periods: tuple[float | None, ...],
    index: tuple[jax.Array, ...],
    sigma: jax.Array,
) -> jax.Array:
    """K_{r₀}(r) = Π G_σ(xᵢ − x₀ᵢ) with ∫G_σ² = 1, distances wrapped on periodic axes."""
    out = jnp.ones((), dtype=jnp.float64)
    for ax, (c, period) in enumerate(zip(coords, periods, strict=True)):
        d = c - c[index[ax]]
        if period is not None:
            d = d - period * jnp.round(d / period)
        g = (2.0 * jnp.pi * sigma**2) ** -0.25 * jnp.exp(-(d**2) / (4.0 * sigma**2))
        shape = [1] * len(coords)
        shape[ax] = c.shape[0]
        out = out * g.reshape(shape)
    return out


@partial(jax.jit, static_argnames=("lengths", "periods"))
def _pointer_draw(
    key: jax.Array,
    dens: jax.Array,
    kffts: tuple[jax.Array, ...],
    coords: tuple[jax.Array, ...],
    sigma: jax.Array,
    lengths: tuple[int, ...],
    periods: tuple[float | None, ...],
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """One fused draw: inverse-CDF sample of r₀ from dens ∗ G_σ², its probability, the raw total, K_{r₀}."""
    mass, total = _mass(dens, kffts, lengths)
    cdf = jnp.cumsum(mass.ravel())
    u = jax.random.uniform(key, dtype=jnp.float64) * cdf[-1]
    flat = jnp.minimum(jnp.searchsorted(cdf, u, side="right"), cdf.shape[0] - 1)
    index = jnp.unravel_index(flat, dens.shape)
    return flat, mass.ravel()[flat], total, _kraus(coords, periods, index, sigma)


_ZERO_STATE = "`⧖ψ` needs a state, but `ψ` is the zero field (‖ψ‖ = 0); give it nonzero values."


def _draw(
    key: jax.Array, dens: jax.Array, grid: Grid, sigma: float
) -> tuple[tuple[int, ...], tuple[float, ...], float, jax.Array]:
    """Draw r₀ from (dens ∗ G_σ²): grid index, coordinates, probability (density × ΔA) and K_{r₀}."""
    lengths, kffts = _kernels(grid, float(sigma))
    coords, periods = _axes_info(grid)
    flat, prob, total, kraus = _pointer_draw(
        key, dens, kffts, coords, jnp.asarray(sigma, dtype=jnp.float64), lengths, periods
    )
    t = float(total)
    if not np.isfinite(t):
        raise CodexValueError("`⧖ψ` got NaN or infinite values in `ψ`; check the state before measuring.")
    if not t > 0.0:
        raise CodexValueError(_ZERO_STATE)
    index = tuple(int(i) for i in np.unravel_index(int(flat), grid.shape))
    outcome = tuple(float(a.coords[i]) for a, i in zip(grid.axes, index, strict=True))
    return index, outcome, float(prob), kraus


def pointer_density(
    psi: Any, *, sigma: float | None = None, resolution: float | None = None, grid: Grid | None = None
) -> Any:
    """The outcome density p(r₀) = (|ψ|² ∗ G_σ²)(r₀) at the grid points, normalized so Σ p·ΔA = 1."""
    op = coerce(psi, grid, op="⧖", role="ψ")
    s = pointer_sigma(op.grid, sigma=sigma, resolution=resolution)
    lengths, kffts = _kernels(op.grid, s)
    mass, total = _mass(jnp.abs(op.values) ** 2, kffts, lengths)
    if not float(total) > 0.0:
        raise CodexValueError(_ZERO_STATE)
    return wrap(mass / op.grid.cell_volume, op.grid, op.xarray)


_ZERO_POST = (
    "The post-measurement state is zero (the pointer at r₀ misses the state) and cannot be normalized; "
    "widen the pointer with `resolution=`."
)


def collapse(
    psi: Any,
    key: Any,
    *,
    sigma: float | None = None,
    resolution: float | None = None,
    mode: str = "pointer",
    grid: Grid | None = None,
) -> Measurement:
    """⧖ψ: draw r₀ from |ψ|² ∗ G_σ² and return the record with the post-state.

    Parameters: `psi` a state (DataArray, or array with `grid=`); `key` a PRNG key from `derive_key`;
    `sigma` an explicit pointer width (≥ 2h) or `resolution` (σ = max(2h, resolution)); `mode`
    `"pointer"` (post = normalize(K_{r₀}ψ)) or `"projective"` (post = normalized Gaussian of width σ at
    r₀). Raises `CodexTypeError` for a value that is not a scalar field, `CodexValueError` for a zero
    state, a bad mode or a too narrow `sigma`.
    """
    _mode(mode)
    op = coerce(psi, grid, op="⧖", role="ψ")
    g = op.grid
    s = pointer_sigma(g, sigma=sigma, resolution=resolution)
    k = as_key(key)
    index, outcome, prob, kraus = _draw(k, jnp.abs(op.values) ** 2, g, s)
    kraus = kraus.astype(op.values.dtype)
    post = normalized(kraus if mode == "projective" else kraus * op.values, g, zero_message=_ZERO_POST)
    return Measurement(
        outcome=outcome,
        probability=prob,
        key=key_words(k),
        post=wrap(post, g, op.xarray),
        mode=mode,
        sigma=s,
        index=index,
        axes=g.names,
    )


def _projected_pair(pair: EntangledPair, side: str, gauss: jax.Array) -> EntangledPair:
    """(|g⟩⟨g| ⊗ 1)Ψ normalized: the measured member reset to `gauss`, the other conditioned on it."""
    measured, other = (pair.phi_a, pair.phi_b) if side == "A" else (pair.phi_b, pair.phi_a)
    grid_m = pair.grid(side)
    r = pair.rank
    overlaps = jnp.conj(gauss).ravel() @ measured.reshape(r, -1).T * grid_m.cell_volume
    weights = pair.lam.astype(other.dtype) * overlaps.astype(other.dtype)
    partner = normalized(
        jnp.tensordot(weights, other, axes=1),
        pair.grid("B" if side == "A" else "A"),
        zero_message=(
            "The Gaussian at r₀ is orthogonal to every Schmidt term of the measured member, so the partner "
            'has no conditioned state; measure with `mode="pointer"`.'
        ),
    )
    dtype = jnp.result_type(gauss.dtype, partner.dtype)
    a, b = (gauss, partner) if side == "A" else (partner, gauss)
    return EntangledPair(
        lam=jnp.ones(1, dtype=jnp.float64),
        phi_a=a.astype(dtype)[None],
        phi_b=b.astype(dtype)[None],
        grid_a=pair.grid_a,
        grid_b=pair.grid_b,
        eid=pair.eid,
        xarray=pair.xarray,
    )


def _member_view(pair: EntangledPair, side: str) -> Any:
    """A member's pure state when the pair is a product, else its reduced density."""
    return pair.pure_state(side) if pair.schmidt_rank == 1 else pair.reduced_density_diag(side)


def measure_pair(
    pair: EntangledPair,
    member: str,
    key: Any,
    *,
    sigma: float | None = None,
    resolution: float | None = None,
    mode: str = "pointer",
) -> tuple[Measurement, EntangledPair]:
    """⧖ on one member of an entangled pair: the record and the conditioned pair (same eid).

    The outcome is drawn from p(r₀) = Σₖ λₖ²(|φₖ|² ∗ G_σ²)(r₀) of `member` ("A" or "B"); in pointer mode
    the pair becomes normalize(Σₖ λₖ (K_{r₀}φₖ) ⊗ φₖ′) re-orthogonalized (QR + SVD), so its
    `entropy_bits` tell how much entanglement is left; in projective mode the measured member is reset
    to the Gaussian g at r₀ and the partner becomes Σₖ λₖ⟨g|φₖ⟩φₖ′, normalized. Raises
    `CodexValueError` for an unknown member or mode or a too narrow `sigma`.
    """
    side = side_name(member)
    _mode(mode)
    g = pair.grid(side)
    s = pointer_sigma(g, sigma=sigma, resolution=resolution)
    k = as_key(key)
    measured = pair.phi_a if side == "A" else pair.phi_b
    weights = jnp.asarray(pair.probabilities, dtype=jnp.float64)
    index, outcome, prob, kraus = _draw(k, jnp.tensordot(weights, jnp.abs(measured) ** 2, axes=1), g, s)
    kraus = kraus.astype(measured.dtype)
    if mode == "projective":
        gauss = normalized(kraus, g, zero_message=_ZERO_POST)
        after = _projected_pair(pair, side, gauss)
    else:
        a_terms = kraus * pair.phi_a if side == "A" else pair.phi_a
        b_terms = kraus * pair.phi_b if side == "B" else pair.phi_b
        after = schmidt_decompose(
            a_terms, b_terms, pair.lam, pair.grid_a, pair.grid_b, eid=pair.eid, xarray=pair.xarray
        )
    other = "B" if side == "A" else "A"
    record = Measurement(
        outcome=outcome,
        probability=prob,
        key=key_words(k),
        post=_member_view(after, side),
        partner=_member_view(after, other),
        mode=mode,
        sigma=s,
        index=index,
        axes=g.names,
        member=side,
    )
    return record, after
