"""A kept fusion glyph becomes one Lab's own op: a spec in `lab.ops` (never the process-wide registry, so
one Lab's glyph never appears in another), with its fused kernel, its exact form (the template), and a
Photon rule `template ⟶ glyph(inputs)` in the Lab's rule set, checked for soundness like every rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..ops import KindEnv, KindMismatch, OpSpec, OpTable
from ..photon.ir import PNode, node, walk
from ..photon.kinds import infer_kinds
from ..photon.pattern import var
from ..photon.ruleset import Rule, RuleSet
from ..qwave.host import HostContext

__all__ = ["register_fusion", "fusion_spec"]


def fusion_spec(glyph: Any) -> OpSpec:
    """The spec of a fusion glyph: its inputs' arity, the template's kind, a host kernel running the fused
    program, and an exact rule evaluating the template on the inputs' exact forms."""
    from ..photon.symbolic import to_sympy

    inputs = tuple(glyph.inputs)

    def kind(kinds: tuple[str, ...], env: KindEnv) -> str:
        given = dict(zip(inputs, kinds, strict=True))
        try:
            return infer_kinds(glyph.template, lambda n: given.get(n, "data"), env)[glyph.template.id]
        except Exception as err:  # noqa: BLE001 - a kind error of the template is the glyph's kind error
            raise KindMismatch(
                None, f"cannot take these operands ({err})", f"call it as `{glyph.name}({', '.join(inputs)})`"
            ) from err

    def host(args: list[Any], kw: Mapping[str, Any], ctx: HostContext) -> Any:
        return glyph.kernel(ctx.grid, method=ctx.method)(*args)

    def exact(*args: Any) -> Any:
        symbols = {str(s) for a in args for s in getattr(a, "free_symbols", ())}
        coords = tuple(c for c in ("x", "y", "z") if c in symbols) or ("x", "y")
        return to_sympy(glyph.template, dict(zip(inputs, args, strict=True)), coords=coords)

    doc = f"Fusion glyph `{glyph.name}` = {glyph.text} (support {glyph.support})."
    return OpSpec(
        glyph.name,
        glyph.name,
        (len(inputs), len(inputs)),
        kind,
        params=inputs,
        call_only=True,
        fusable=False,
        doc=doc,
        impl={"host": host, "symbolic": exact},
    )


def register_fusion(glyph: Any, table: OpTable, rules: RuleSet | None = None) -> Rule | None:
    """Make a fusion glyph usable in one Lab: its spec in `table` and — with `rules` — a rewrite rule
    `template ⟶ glyph(inputs)`, checked for soundness, so later cells that spell the chain out run the
    fused kernel. Returns the rule (or None)."""
    table.add(fusion_spec(glyph))
    if rules is None:
        return None
    metas = {name: var(name) for name in glyph.inputs}
    pattern = _with_metavariables(glyph.template, metas)
    replacement = node("call", *(metas[name] for name in glyph.inputs), value=glyph.name)
    rule = Rule(f"fuse:{glyph.name}", pattern, replacement, priority=5, doc=f"{glyph.text} ⟶ {glyph.name}(…)")
    rules.add(rule, override=True)
    rules.verify([rule.name])
    return rule


def _with_metavariables(template: PNode, metas: dict[str, PNode]) -> PNode:
    """The template with each input name replaced by its metavariable (children first, hash-consed)."""
    done: dict[str, PNode] = {}
    for n in walk(template):
        if n.op == "name" and n.value in metas:
            done[n.id] = metas[n.value]
        elif n.is_leaf:
            done[n.id] = n
        else:
            done[n.id] = n.with_children(tuple(done[c.id] for c in n.children))
    return done[template.id]
