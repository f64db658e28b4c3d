"""QWave: grids, fields (xarray), JAX kernels, wave states and measurement."""

import jax

from ..caches import enable_jax_compilation_cache

# fp64 is the reference precision of every comparison in codexlab.
jax.config.update("jax_enable_x64", True)
# Compiled kernels persist under the codexlab cache folder: a new process loads them instead of compiling.
enable_jax_compilation_cache()

from . import accessor as accessor  # noqa: E402  (the `.cx` accessor's class; `import codexlab` registers it)
