"""codexlab: CodexLang glyphs for fields and operators, exact and JAX evaluation, beams with lineage.

Heavy subpackages (jax, sympy, sqlalchemy) load on first use of the names that need them. Importing
codexlab registers the `.cx` DataArray accessor (`da.cx.lap()`, `da.cx.plot()`); its operators, and
with them jax, load the first time `.cx` is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import xarray as _xr

from ._version import __version__
from .errors import CodexError, CodexSyntaxError

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from .lang import parse
    from .runtime import Lab, Run

__all__ = ["CodexError", "CodexSyntaxError", "Lab", "Run", "parse", "load_ipython_extension", "__version__"]

_LAZY = {"Lab": ("runtime", "Lab"), "Run": ("runtime", "Run"), "parse": ("lang", "parse")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module `codexlab` has no attribute `{name}`")


def _cx_accessor(da: _xr.DataArray) -> Any:
    """The `.cx` accessor of `da` (xarray calls this once per DataArray, on first use of `.cx`)."""
    from .qwave.accessor import CodexAccessor

    return CodexAccessor(da)


_xr.register_dataarray_accessor("cx")(_cx_accessor)


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """`%load_ext codexlab`: register the `%%codex` cell magic and the `%codex` line magic."""
    from .magics import load_ipython_extension as _load

    _load(ipython)
