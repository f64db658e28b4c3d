"""QWave: grids, fields (xarray), JAX kernels, wave states and measurement."""

import jax

# fp64 is the reference precision of every comparison in codexlab.
jax.config.update("jax_enable_x64", True)

from . import accessor as accessor  # noqa: E402  (registers the `.cx` DataArray accessor)
