"""The operation specs: one `OpSpec` per glyph and builtin, from which every other table derives.

```python
from codexlab.ops import spec_of
spec_of("Δ").order, spec_of("Δ").linear, spec_of("•").commutative_for(("tensor", "vector"))
```
This package sits below `lang`, `photon`, `qwave` and `runtime`: it imports none of them (their
implementations register into the specs and load on first lookup).
"""

from __future__ import annotations

from .spec import (
    FIELD_KINDS,
    GLOBAL,
    IMPLEMENTATIONS,
    KINDS,
    SCALAR_KINDS,
    SPECS,
    Keyword,
    Kind,
    KindEnv,
    KindMismatch,
    OpSpec,
    OpTable,
    derived_tables,
    find_spec,
    implements,
    iter_specs,
    register_op,
    spec_of,
    stencil_radius,
)

__all__ = [
    "FIELD_KINDS",
    "GLOBAL",
    "IMPLEMENTATIONS",
    "KINDS",
    "SCALAR_KINDS",
    "SPECS",
    "Keyword",
    "Kind",
    "KindEnv",
    "KindMismatch",
    "OpSpec",
    "OpTable",
    "derived_tables",
    "find_spec",
    "implements",
    "iter_specs",
    "register_op",
    "spec_of",
    "stencil_radius",
]
