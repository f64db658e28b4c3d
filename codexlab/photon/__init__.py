"""codexlab.photon: the Photon IR, adapters from the Codex AST, rewriting with derivations, printing.

```python
from codexlab.photon import codex_to_photon_ast, rewrite
d = rewrite(codex_to_photon_ast(expr))   # Derivation: d.steps, d.result, print(d), d.to_latex()
```

`to_sympy` (exact evaluation) is loaded on first use, so importing this package does not import SymPy.
"""

from __future__ import annotations

from typing import Any

from codexlab.photon.adapter import codex_to_photon_ast, photon_to_codex_ast
from codexlab.photon.context import RewriteContext
from codexlab.photon.intents import Intent, extract_intents_from_glyphs
from codexlab.photon.ir import (
    BINARY_GLYPHS,
    LEAF_OPS,
    UNARY_GLYPHS,
    PAssign,
    PDefine,
    PDirective,
    PExpr,
    PhotonProgram,
    PLoop,
    PNode,
    PRecord,
    PStatement,
    name,
    node,
    num,
    walk,
)
from codexlab.photon.normalize import canonical_order
from codexlab.photon.pattern import var
from codexlab.photon.printing import to_latex, to_unicode
from codexlab.photon.rewrite import Ambiguity, Derivation, Step, rewrite
from codexlab.photon.rules import DEFAULT_RULES
from codexlab.photon.ruleset import Rule, RuleSet, RuleStats

__all__ = [
    "codex_to_photon_ast",
    "photon_to_codex_ast",
    "extract_intents_from_glyphs",
    "Intent",
    "rewrite",
    "Derivation",
    "Step",
    "Ambiguity",
    "Rule",
    "RuleSet",
    "RuleStats",
    "RewriteContext",
    "DEFAULT_RULES",
    "var",
    "canonical_order",
    "to_unicode",
    "to_latex",
    "to_sympy",
    "PNode",
    "node",
    "num",
    "name",
    "walk",
    "LEAF_OPS",
    "UNARY_GLYPHS",
    "BINARY_GLYPHS",
    "PDirective",
    "PDefine",
    "PAssign",
    "PExpr",
    "PLoop",
    "PRecord",
    "PStatement",
    "PhotonProgram",
]


def __getattr__(attr: str) -> Any:
    """Load the symbolic evaluator (and SymPy) on first use of `to_sympy`."""
    if attr == "to_sympy":
        from codexlab.photon.symbolic import to_sympy

        return to_sympy
    raise AttributeError(f"module `{__name__}` has no attribute `{attr}`")
