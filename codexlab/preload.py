"""Warm a new kernel while its user reads: `%load_ext codexlab` starts one background thread that imports
what every first `%%codex` cell needs (JAX and its CPU backend, SymPy, SQLAlchemy, Zarr, Oxigraph, the
runtime and the kernels' modules) and builds the CodexLang parser, so the first cell does not pay for
them when it comes later.

Only imports and the parser: nothing is computed, written or bound. A cell that comes sooner waits on
Python's import locks for what is still loading and pays no more than without the preload. Imports
follow the package layering (nothing below imports the runtime), so the thread and a cell never wait on
each other in a cycle. `CODEXLAB_PRELOAD=0` turns it off.
"""

from __future__ import annotations

import importlib
import os
import threading

__all__ = ["PRELOAD_MODULES", "start_preload"]

#: In the order a first cell needs them; each is imported once per process (a second `import` is free).
#: `dask.array` is what xarray loads the first time it wraps an array (to know dask's array type).
PRELOAD_MODULES = (
    "jax",
    "jax.numpy",
    "sympy",
    "sqlalchemy",
    "zarr",
    "pyoxigraph",
    "dask.array",
    "scipy.linalg",
    "sympy.codegen.ast",
    "sympy.combinatorics",
    "plotly.graph_objects",
    "plotly.colors",
    "narwhals",
    "codexlab.runtime",
    "codexlab.runtime.grid",
    "codexlab.runtime.governance",
    "codexlab.runtime.tracing",
    "codexlab.runtime.qfc",
    "codexlab.runtime.display",
    "codexlab.runtime.goals",
    "codexlab.runtime.live",
    "codexlab.photon.soundness",
    "codexlab.qwave.io",
    "codexlab.qwave.bridge",
    "codexlab.qwave.ongrid",
    "codexlab.qwave.states",
    "codexlab.qwave.pictures",
    "codexlab.qwave.precision",
    "codexlab.kg",
)

_started: threading.Thread | None = None
_lock = threading.Lock()


def start_preload() -> threading.Thread | None:
    """Start the preload thread once per process (None when `CODEXLAB_PRELOAD=0`)."""
    global _started
    if os.environ.get("CODEXLAB_PRELOAD", "1").strip() == "0":
        return None
    with _lock:
        if _started is None:
            _started = threading.Thread(target=_preload, name="codexlab-preload", daemon=True)
            _started.start()
        return _started


def _preload() -> None:
    """Import the modules, start JAX's backend and build the parser. A module that fails to import is
    skipped (an optional one may be absent; a cell that needs it raises the error where the user sees it)."""
    for name in PRELOAD_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - a warm-up that fails changes nothing
            continue
    try:
        import jax

        jax.devices()
        from .lang.parser import codexlang_parser

        codexlang_parser()
    except Exception:  # noqa: BLE001 - as above: the first cell reports what is wrong
        return
