"""Entangled pairs in Schmidt form Σₖ λₖ φₖᴬ ⊗ φₖᴮ: ⊗ of states, ↔, entropy and reduced densities.

A pair costs 2·r·N² memory; the N⁴ joint array exists only when `pair.joint()` is asked for and small.
Every pair is built by `schmidt_decompose`: QR of each side's span (weighted by √ΔA so the columns are
orthonormal in the ΔA inner product), the r×r coefficient matrix in those bases, and its SVD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..errors import CodexValueError, ResourceError, did_you_mean
from .grid import Grid
from .states import coerce, coerce_pair, normalized, wrap, zero_tol

__all__ = ["EntangledPair", "tensor", "entangle", "schmidt_decompose", "JOINT_MAX_POINTS"]

JOINT_MAX_POINTS = 1 << 22
_SIDES = ("A", "B")


def side_name(side: str) -> str:
    """`"A"` or `"B"` (either case), else a `CodexValueError` with the choices."""
    s = str(side).upper()
    if s not in _SIDES:
        raise CodexValueError(f'Pair member `{side}` is unknown{did_you_mean(s, _SIDES)}; use `"A"` or `"B"`.')
    return s


@dataclass(eq=False)
class EntangledPair:
    """A normalized two-member state Σₖ λₖ φₖᴬ ⊗ φₖᴮ with orthonormal φᴬ, φᴮ and λ sorted descending.

    `lam` has shape (r,), `phi_a` (r, *grid_a.shape), `phi_b` (r, *grid_b.shape); `eid` is the
    entanglement id the caller assigns (both members share it); `xarray` makes member outputs DataArrays.
    """

    lam: jax.Array
    phi_a: jax.Array
    phi_b: jax.Array
    grid_a: Grid
    grid_b: Grid
    eid: str | None = None
    xarray: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        r = int(self.lam.shape[0]) if self.lam.ndim == 1 else -1
        if (
            r < 1
            or tuple(self.phi_a.shape) != (r, *self.grid_a.shape)
            or tuple(self.phi_b.shape) != (r, *self.grid_b.shape)
        ):
            raise CodexValueError(
                f"A Schmidt form needs λ of shape (r,), φᴬ of shape (r, *{self.grid_a.shape}) and φᴮ of "
                f"shape (r, *{self.grid_b.shape}), got `{self.lam.shape}`, `{self.phi_a.shape}`, "
                f"`{self.phi_b.shape}`; build pairs with `tensor`, `entangle` or `schmidt_decompose`."
            )

    def __repr__(self) -> str:
        return (
            f"EntangledPair(rank={self.schmidt_rank}, entropy_bits={self.entropy_bits:.4f}, "
            f"A=`{self.grid_a.describe()}`, B=`{self.grid_b.describe()}`, eid={self.eid!r})"
        )

    @property
    def rank(self) -> int:
        """Number of stored Schmidt terms r."""
        return int(self.lam.shape[0])

    @property
    def tol(self) -> float:
        """λ at or below this count as zero for the rank: their weight λ² is at the dtype's rounding level."""
        return float(np.sqrt(zero_tol(self.phi_a.dtype)))

    @property
    def schmidt_rank(self) -> int:
        """Number of Schmidt coefficients λₖ above `tol`: 1 for a product state."""
        return int(np.count_nonzero(np.asarray(self.lam) > self.tol))

    @property
    def probabilities(self) -> np.ndarray:
        """pₖ = λₖ²/Σλ², the weights of the Schmidt terms."""
        lam2 = np.asarray(self.lam, dtype=np.float64) ** 2
        return lam2 / lam2.sum()

    @property
    def entropy_bits(self) -> float:
        """Entanglement entropy S = −Σ pₖ log₂ pₖ: 0 for a product, 1 for a ↔ b with ⟨a|b⟩ = 0."""
        p = self.probabilities
        p = p[p > 0]
        return max(0.0, float(-(p * np.log2(p)).sum()))

    @property
    def nbytes(self) -> int:
        """Memory held by the Schmidt form (2·r·N² values plus λ)."""
        return int(self.lam.nbytes + self.phi_a.nbytes + self.phi_b.nbytes)

    def grid(self, side: str) -> Grid:
        """The grid of member `side`."""
        return self.grid_a if side_name(side) == "A" else self.grid_b

    def _phi(self, side: str) -> jax.Array:
        return self.phi_a if side_name(side) == "A" else self.phi_b

    def reduced_density_diag(self, side: str) -> Any:
        """The marginal density Σₖ λₖ²|φₖ|² of member `side` (a DataArray when the pair came from some)."""
        weights = jnp.asarray(self.probabilities, dtype=jnp.float64)
        dens = jnp.tensordot(weights, jnp.abs(self._phi(side)) ** 2, axes=1)
        return wrap(dens, self.grid(side), self.xarray)

    def pure_state(self, side: str) -> Any:
        """Member `side` as a state when the pair is a product (Schmidt rank 1).

        Raises `CodexValueError` for an entangled pair, whose members have no state of their own.
        """
        if self.schmidt_rank != 1:
            raise CodexValueError(
                f"Member `{side_name(side)}` is entangled (Schmidt rank {self.schmidt_rank}, "
                f"{self.entropy_bits:.3g} bits) and has no state of its own; use "
                f'`pair.reduced_density_diag("{side_name(side)}")` or measure the other member first.'
            )
        return wrap(self._phi(side)[0], self.grid(side), self.xarray)

    def joint(self, max_points: int = JOINT_MAX_POINTS) -> jax.Array:
        """The joint array Σₖ λₖ φₖᴬ ⊗ φₖᴮ of shape (*shape_A, *shape_B), only for small pairs.

        Raises `ResourceError` when it would hold more than `max_points` values.
        """
        points = self.grid_a.size * self.grid_b.size
        if points > max_points:
            raise ResourceError(
                f"The joint state of this pair has {points} points "
                f"({self.grid_a.size} × {self.grid_b.size}), above `max_points={max_points}`; keep it in "
                "Schmidt form (`pair.lam`, `pair.phi_a`, `pair.phi_b`) or pass a larger `max_points=`."
            )
        lam = self.lam.astype(self.phi_a.dtype)
        flat = jnp.einsum("k,ka,kb->ab", lam, self.phi_a.reshape(self.rank, -1), self.phi_b.reshape(self.rank, -1))
        return flat.reshape(*self.grid_a.shape, *self.grid_b.shape)


@jax.jit
def _schmidt_core(
    a_terms: jax.Array, b_terms: jax.Array, coeffs: jax.Array, wa: jax.Array, wb: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """SVD of Σₖ cₖ aₖ ⊗ bₖ through QR bases of each side: returns S, φᴬ rows, φᴮ rows (unweighted)."""
    qa, ra = jnp.linalg.qr((a_terms * wa).T)
    qb, rb = jnp.linalg.qr((b_terms * wb).T)
    u, s, vh = jnp.linalg.svd((ra * coeffs[None, :]) @ rb.T)
    return s, (qa @ u).T / wa, (qb @ vh.T).T / wb


def schmidt_decompose(
    a_terms: Any,
    b_terms: Any,
    coeffs: Any,
    grid_a: Grid,
    grid_b: Grid,
    *,
    eid: str | None = None,
    xarray: bool = False,
) -> EntangledPair:
    """The normalized Schmidt form of Σₖ cₖ aₖ ⊗ bₖ, never forming the joint array.

    Parameters: `a_terms` (m, *grid_a.shape), `b_terms` (m, *grid_b.shape), `coeffs` (m,) (complex
    allowed). Terms need not be orthogonal or normalized; λ at the rounding level (≤ 1e-12 in fp64) are
    dropped, smaller ones are kept but do not count toward `schmidt_rank` when λ² is that small.
    Raises `CodexValueError` when the sum is the zero state.
    """
    a = jnp.asarray(a_terms)
    b = jnp.asarray(b_terms)
    dtype = jnp.result_type(a.dtype, b.dtype, jnp.complex64)
    m = int(a.shape[0])
    c = jnp.asarray(coeffs, dtype=dtype).reshape(m)
    wa = jnp.sqrt(jnp.asarray(grid_a.cell_volume, dtype=jnp.float64)).astype(dtype)
    wb = jnp.sqrt(jnp.asarray(grid_b.cell_volume, dtype=jnp.float64)).astype(dtype)
    s, phi_a, phi_b = _schmidt_core(a.reshape(m, -1).astype(dtype), b.reshape(m, -1).astype(dtype), c, wa, wb)
    s_host = np.asarray(s, dtype=np.float64)
    total = float(np.sqrt((s_host**2).sum()))
    if not np.isfinite(total):
        raise CodexValueError("The pair has NaN or infinite values, so it cannot be normalized; check its inputs.")
    if total == 0.0:
        raise CodexValueError("The pair is the zero state (all Schmidt coefficients vanish); it cannot be normalized.")
    lam = s_host / total
    keep = np.flatnonzero(lam > zero_tol(dtype))
    return EntangledPair(
        lam=jnp.asarray(lam[keep] / np.sqrt((lam[keep] ** 2).sum())),
        phi_a=phi_a[keep].reshape(len(keep), *grid_a.shape),
        phi_b=phi_b[keep].reshape(len(keep), *grid_b.shape),
        grid_a=grid_a,
        grid_b=grid_b,
        eid=eid,
        xarray=xarray,
    )


_ZERO = "`{role}` of `{op}` is the zero field (‖{role}‖ = 0), which cannot be normalized; give it nonzero values."


def tensor(a: Any, b: Any, *, grid: Grid | None = None, grid_b: Grid | None = None) -> EntangledPair:
    """a ⊗ b of states: the rank-1 pair (λ = [1]) of the normalized members, on their own grids.

    Parameters: `grid` for bare arrays (of `a`, and of `b` unless `grid_b` is given). Raises
    `CodexTypeError` for values that are not scalar fields, `CodexValueError` for a zero field.
    """
    x = coerce(a, grid, op="⊗", role="a")
    y = coerce(b, grid_b if grid_b is not None else grid, op="⊗", role="b")
    xa = normalized(x.values, x.grid, zero_message=_ZERO.format(role="a", op="⊗"))
    yb = normalized(y.values, y.grid, zero_message=_ZERO.format(role="b", op="⊗"))
    dtype = jnp.result_type(xa.dtype, yb.dtype)
    return EntangledPair(
        lam=jnp.ones(1, dtype=jnp.float64),
        phi_a=xa.astype(dtype)[None],
        phi_b=yb.astype(dtype)[None],
        grid_a=x.grid,
        grid_b=y.grid,
        xarray=x.xarray or y.xarray,
    )


def entangle(a: Any, b: Any, *, grid: Grid | None = None) -> EntangledPair:
    """a ↔ b = normalize((a⊗b + b⊗a)/√2) in Schmidt form: 1 bit when ⟨a|b⟩ = 0, 0 bits for a ↔ a.

    Parameters: two states on one grid (DataArrays, or arrays with `grid=`); they are normalized first.
    Returns an `EntangledPair` with `eid=None` (the caller assigns it). Raises `CodexTypeError` for values
    that are not scalar fields, `CodexValueError` for a zero field or different grids.
    """
    x, y, g = coerce_pair(a, b, grid, op="↔")
    xa = normalized(x.values, g, zero_message=_ZERO.format(role="a", op="↔"))
    yb = normalized(y.values, g, zero_message=_ZERO.format(role="b", op="↔"))
    coeffs = jnp.full(2, 1.0 / np.sqrt(2.0))
    return schmidt_decompose(jnp.stack([xa, yb]), jnp.stack([yb, xa]), coeffs, g, g, xarray=x.xarray or y.xarray)
