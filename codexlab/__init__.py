"""codexlab: CodexLang glyphs for fields and operators, exact and JAX evaluation, beams with lineage.

Heavy subpackages (jax, sympy, sqlalchemy) load on first use of the names that need them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import CodexError, CodexSyntaxError

if TYPE_CHECKING:
    from .lang import parse
    from .runtime import Lab, Run

__version__ = "0.1.0"
__all__ = ["CodexError", "CodexSyntaxError", "Lab", "Run", "parse", "load_ipython_extension", "__version__"]

_LAZY = {"Lab": ("runtime", "Lab"), "Run": ("runtime", "Run"), "parse": ("lang", "parse")}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module `codexlab` has no attribute `{name}`")


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext codexlab`: register the `%%codex` cell magic and the `%codex` line magic."""
    from .magics import load_ipython_extension as _load

    _load(ipython)
