"""Write the reference fields under `data/fields/`: `python scripts/make_reference_fields.py`.

`ring.nc`: a 64 × 64 ring exp(−(r − 0.5)²/(2·0.1²)), r = √(x² + y²), on the periodic grid [−1, 1)²
(x_k = −1 + k/32), variable `ring`, attrs `units`, `bc` and a description of the formula.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import xarray as xr

RING_RADIUS = 0.5
RING_WIDTH = 0.1
N = 64


def ring() -> xr.DataArray:
    """The ring field on a 64 × 64 periodic grid over [−1, 1)²."""
    axis = -1.0 + (2.0 / N) * np.arange(N, dtype=np.float64)
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    r = np.hypot(xx, yy)
    values = np.exp(-((r - RING_RADIUS) ** 2) / (2 * RING_WIDTH**2))
    return xr.DataArray(
        values,
        dims=("x", "y"),
        coords={"x": axis, "y": axis},
        name="ring",
        attrs={
            "units": "1",
            "bc": "x:periodic,y:periodic",
            "description": f"exp(-(r - {RING_RADIUS})^2 / (2*{RING_WIDTH}^2)), r = sqrt(x^2 + y^2)",
        },
    )


def main() -> None:
    """Write every reference field into the output folder (default `<repo>/data/fields`)."""
    parser = argparse.ArgumentParser(description=__doc__)
    default = Path(__file__).resolve().parents[1] / "data" / "fields"
    parser.add_argument("--out", type=Path, default=default, help="output folder")
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    target = out / "ring.nc"
    ring().to_dataset().to_netcdf(target, engine="netcdf4")
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
