"""The rewrite engine: derivations of the SEMANTICS.md examples, guards, ordering, printing, the cap."""

from __future__ import annotations

import random

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from codexlab.errors import CodexConfigError, CodexTypeError, RewriteError
from codexlab.lang import ast as A
from codexlab.photon import (
    DEFAULT_RULES,
    Derivation,
    PNode,
    Rule,
    RuleSet,
    canonical_order,
    codex_to_photon_ast,
    name,
    node,
    num,
    rewrite,
    to_sympy,
    var,
)
from codexlab.photon.rewrite import CANONICAL_ORDER
from codexlab.photon.soundness import compare_values, random_scalar_field
from tests.strategies import exprs

psi, phi, F = name("ψ"), name("φ"), name("F")
x, t = name("x"), name("t")


def _rewrite(expr: PNode, **context: object) -> Derivation:
    return rewrite(expr, context=context or None, live_checks=False)


# ------------------------------------------------------------------------------ the examples of the spec


def test_div_grad_becomes_the_laplacian() -> None:
    d = _rewrite(node("∇·", node("∇", psi)))
    assert d.rule_names == ["div_grad"]
    assert d.result is node("Δ", psi)
    assert str(d) == "∇·∇ψ  ⟶[div_grad]  Δψ"


ZEROS = node("call", value="zeros")


def test_curl_grad_and_div_curl_vanish_to_a_zero_of_their_kind() -> None:
    d = _rewrite(node("∇×", node("∇", psi)), kinds={"ψ": "field"})
    assert (d.rule_names, d.result) == (["curl_grad"], ZEROS)  # 2-D: the scalar curl
    assert str(d) == "∇×∇ψ  ⟶[curl_grad]  zeros()"
    d3 = _rewrite(node("∇×", node("∇", psi)), kinds={"ψ": "field"}, dims=3)
    assert d3.result is node("vec", ZEROS, ZEROS, ZEROS)
    assert _rewrite(node("∇·", node("∇×", F)), kinds={"F": "vector"}, dims=3).result is ZEROS
    # ill-kinded: ∇ of a vector field is not rewritten away (the kind check reports it)
    assert _rewrite(node("∇×", node("∇", F)), kinds={"F": "vector"}, dims=3).rule_names == []


def test_laplacian_is_linear_over_sums_and_constant_factors() -> None:
    d = _rewrite(node("Δ", node("+", node("*", num(2), psi), phi)))
    assert d.rule_names == ["lap_add", "lap_scale"]
    assert d.result is canonical_order(node("+", node("*", num(2), node("Δ", psi)), node("Δ", phi)))
    assert d.to_unicode().splitlines() == [
        "Δ(2 * ψ + φ)  ⟶[lap_add]  Δ(2 * ψ) + Δφ",
        "Δ(2 * ψ) + Δφ  ⟶[lap_scale]  2 * Δψ + Δφ",
    ]


def test_a_name_is_a_constant_factor_only_when_the_context_says_so() -> None:
    scaled = node("Δ", node("*", name("k"), psi))
    assert _rewrite(scaled).rule_names == []
    assert _rewrite(scaled, constants={"k"}).result is node("*", name("k"), node("Δ", psi))
    # a coordinate is never constant, whatever the context says
    assert _rewrite(node("Δ", node("*", x, psi)), constants={"x"}).rule_names == []
    # arithmetic and elementary functions of numbers and `i` are constant
    factor = node("*", name("i"), node("call", num(2), value="sqrt"))
    assert _rewrite(node("∂x", node("*", factor, psi))).rule_names == ["partial_x_scale"]


def test_time_derivative_of_a_t_free_field_vanishes() -> None:
    d = _rewrite(node("d/dt", psi), t_free={"ψ"}, kinds={"ψ": "field"})
    assert (d.rule_names, d.result) == (["ddt_tfree"], ZEROS)
    assert _rewrite(node("d/dt", psi)).rule_names == []
    assert _rewrite(node("∂t", node("*", psi, t)), t_free={"ψ"}).rule_names == []
    assert _rewrite(node("∂t", node("call", x, value="sin"))).result is ZEROS
    assert _rewrite(node("d/dt", node("call", value="random"))).rule_names == []


def test_log_times_zero_is_not_folded() -> None:
    expr = node("*", node("call", psi, value="log"), num(0))
    assert _rewrite(expr).result is expr
    assert _rewrite(expr, finite={"ψ"}).result is expr
    assert _rewrite(node("*", psi, num(0))).result is node("*", psi, num(0))
    assert _rewrite(node("*", psi, num(0)), finite={"ψ"}, kinds={"ψ": "field"}).rule_names == ["mul_zero"]
    # a field times zero is the zero field, a number times zero the number 0
    assert _rewrite(node("*", num(0.0), x)).result is ZEROS
    assert _rewrite(node("*", psi, num(0)), finite={"ψ"}, kinds={"ψ": "number"}).result is num(0)


def test_identities() -> None:
    assert _rewrite(node("+", psi, num(0))).rule_names == ["add_zero"]
    assert _rewrite(node("+", num(0), psi)).result is psi
    assert _rewrite(node("*", psi, num(1))).rule_names == ["mul_one"]
    assert _rewrite(node("*", num(1.0), psi)).result is psi
    assert _rewrite(node("neg", node("neg", psi))).rule_names == ["neg_neg"]
    assert _rewrite(node("-", num(0), psi)).result is node("neg", psi)


def test_constant_folding() -> None:
    assert _rewrite(node("+", node("*", num(2), num(3)), num(4))).result is num(10)
    assert _rewrite(node("+", num(0.1), num(0.2))).result is num(0.1 + 0.2)
    overflow = node("*", num(1e308), num(10.0))
    assert _rewrite(overflow).result is overflow
    assert _rewrite(node("neg", num(3))).result is num(-3)


def test_dalembert_expands_only_when_it_helps() -> None:
    box = node("□", psi)
    assert _rewrite(box).rule_names == []
    d = _rewrite(box, t_free={"ψ"}, kinds={"ψ": "field"})
    assert d.rule_names == ["dalembert_expand", "partial_t_tfree", "zero_sub"]
    assert d.result is node("neg", node("Δ", psi))
    field = {"ψ": "field"}
    assert _rewrite(box, t_free={"ψ"}, c=2, kinds=field).result is node("neg", node("*", num(4), node("Δ", psi)))
    wave = node("-", node("∂t", node("∂t", psi)), node("Δ", psi))
    assert rewrite(box, DEFAULT_RULES.with_options(expand_dalembert=True), live_checks=False).result is wave
    assert _rewrite(box, expand_dalembert=True).result is wave
    assert _rewrite(box, c=name("c"), expand_dalembert=True).result is node(
        "-", node("∂t", node("∂t", psi)), node("*", node("^", name("c"), num(2)), node("Δ", psi))
    )


def test_codex_ast_input_is_accepted() -> None:
    tree = A.Unary("∇·", A.Unary("∇", A.Name("ψ")))
    assert rewrite(tree, live_checks=False).result is node("Δ", psi)


# -------------------------------------------------------------------------------- ordering, ambiguity


def test_canonical_order_makes_b_plus_a_the_same_node_as_a_plus_b() -> None:
    a, b = name("a"), name("b")
    ab, ba = _rewrite(node("+", a, b)), _rewrite(node("+", b, a))
    assert ab.result is ba.result and ab.result.id == ba.result.id
    assert ab.steps == [] and [s.rule for s in ba.steps] == [CANONICAL_ORDER]
    assert ba.rule_names == []
    # by default only sums are ordered; `*` never is; numbers sort last in sums
    assert canonical_order(node("•", b, a)) is node("•", b, a)
    assert canonical_order(node("*", b, a)) is node("*", b, a)
    assert canonical_order(node("+", num(1), a)) is node("+", a, num(1))
    # the rewrite orders operands only where the op's spec says they commute for their kinds
    vectors = {"a": "vector", "b": "vector"}
    assert _rewrite(node("•", b, a), kinds=vectors).result is node("•", a, b)
    assert _rewrite(node("⊕", node("+", b, a), psi), kinds={"a": "field", "b": "field", "ψ": "field"}).result is node(
        "⊕", node("+", a, b), psi
    )


def test_dot_of_a_tensor_and_a_vector_keeps_its_operand_order() -> None:
    v, A_ = name("v"), name("A")
    kinds = {"v": "vector", "A": "tensor"}
    assert _rewrite(node("•", v, A_), kinds=kinds).result is node("•", v, A_)
    assert _rewrite(node("•", A_, v), kinds=kinds).result is node("•", A_, v)


@settings(max_examples=150, deadline=None)
@given(exprs(strings_=False))
def test_canonical_order_is_idempotent_and_ignores_operand_order(tree: A.Expr) -> None:
    ir = codex_to_photon_ast(tree)
    once = canonical_order(ir)
    assert canonical_order(once) is once
    assert canonical_order(node("+", ir, psi)) is canonical_order(node("+", psi, ir))


def test_ambiguities_are_recorded_with_the_choice() -> None:
    d = _rewrite(node("d/dt", node("+", psi, phi)), t_free={"ψ", "φ"}, kinds={"ψ": "field", "φ": "field"})
    assert d.rule_names == ["ddt_tfree"]
    assert d.ambiguities == [((), ["ddt_tfree", "ddt_add"], "ddt_tfree")]
    path, rules, chosen = d.ambiguities[0]
    assert chosen == rules[0]


# ---------------------------------------------------------------------------------------- printing


def test_latex_of_a_derivation() -> None:
    d = _rewrite(node("Δ", node("+", node("*", num(2), psi), phi)))
    assert d.to_latex() == (
        "\\begin{align*}\n"
        "\\Delta \\left(2 \\, \\psi + \\varphi\\right) &\\xrightarrow{\\text{lap\\_add}} "
        "\\Delta \\left(2 \\, \\psi\\right) + \\Delta \\varphi \\\\\n"
        " &\\xrightarrow{\\text{lap\\_scale}} 2 \\, \\Delta \\psi + \\Delta \\varphi\n"
        "\\end{align*}"
    )
    assert d._repr_latex_() == d.to_latex()
    assert _rewrite(psi).to_latex() == "\\begin{align*}\n\\psi\n\\end{align*}"
    assert str(_rewrite(psi)) == "ψ  (no rule applies)"


# --------------------------------------------------------------------------------------------- the cap


def _swapping_rules() -> RuleSet:
    a, b = var("a"), var("b")
    rules = RuleSet("runaway", live_check_rate=0.0)
    rules.add(Rule("push_neg", node("neg", node("*", a, b)), node("*", node("neg", a), b)))
    rules.add(Rule("pull_neg", node("*", node("neg", a), b), node("neg", node("*", a, b))))
    return rules


def test_a_rule_set_that_undoes_itself_hits_the_cap() -> None:
    message = (
        r"rewriting `-\(ψ \* φ\)` did not reach a fixpoint after 1000 steps; the last rules applied were "
        r"`push_neg`, `pull_neg`, `push_neg`, `pull_neg`, `push_neg`, `pull_neg`; the expression returns to "
        r"the same form every 2 steps: a rule set that undoes itself, such as `push_neg` and `pull_neg`, "
        r"never stops — remove or guard one of them, or pass a larger `max_steps`"
    )
    with pytest.raises(RewriteError, match=message) as info:
        rewrite(node("neg", node("*", psi, phi)), _swapping_rules())
    assert len([s for s in info.value.steps if s.kind == "rule"]) == 1000  # type: ignore[attr-defined]


def test_a_growing_rule_hits_a_smaller_cap() -> None:
    rules = RuleSet("grow", live_check_rate=0.0)
    rules.add(Rule("grow", var("x", "any"), node("+", var("x", "any"), num(0))))
    with pytest.raises(RewriteError, match=r"after 50 steps; .* keeps changing without repeating .* such as `grow`"):
        rewrite(psi, rules, max_steps=50)


# ------------------------------------------------------------------------------------- whole-engine laws

_SCALAR_OPS = ("Δ", "∂x", "∂y", "∂t", "d/dt", "-")
_FIELDS = st.sampled_from([A.Name(n) for n in ("ψ", "φ", "x", "t")]) | st.builds(
    A.Number, st.integers(0, 3) | st.sampled_from([0.5, 1.0, 2.0])
)


def _scalar_exprs(max_leaves: int = 8) -> st.SearchStrategy[A.Expr]:
    return exprs(
        max_leaves=max_leaves,
        leaves=_FIELDS,
        unary_ops=_SCALAR_OPS,
        binary_ops=("+", "-", "*"),
        interfere=False,
        calls=False,
        vectors=False,
        norms=False,
        strings_=False,
    )


@settings(max_examples=150, deadline=None)
@given(exprs(strings_=False))
def test_derivations_chain_and_end_in_a_fixpoint(tree: A.Expr) -> None:
    d = _rewrite(codex_to_photon_ast(tree), t_free={"ψ"}, finite={"φ"})
    current = d.input
    for step in d.steps:
        assert step.before is current
        assert step.before.at(step.path) is step.local_before
        assert step.after is step.before.replace(step.path, step.local_after) or step.kind == "normalize"
        current = step.after
    assert current is d.result
    assert _rewrite(d.result, t_free={"ψ"}, finite={"φ"}).steps == []


@settings(max_examples=25, deadline=None)
@given(_scalar_exprs(), st.integers(0, 2**32 - 1))
def test_rewriting_preserves_the_value(tree: A.Expr, seed: int) -> None:
    """Independent of the rule checks: input and result agree on random fields at random points."""
    d = _rewrite(codex_to_photon_ast(tree), t_free={"ψ"})
    rng = random.Random(seed)
    env = {
        "ψ": random_scalar_field(rng, ("x", "y"), with_t=False),
        "φ": random_scalar_field(rng, ("x", "y")),
    }
    before = to_sympy(d.input, env, ("x", "y", "t"))
    after = to_sympy(d.result, env, ("x", "y", "t"))
    assert compare_values(before, after, rng) in (True, None)
    if not d.result.children:
        assert sympy.simplify(before - after) == 0


def test_bad_context_and_inputs_raise() -> None:
    with pytest.raises(
        CodexConfigError, match=r"Unknown rewrite context key `constant` \(did you mean `constants`\?\)"
    ):
        rewrite(psi, context={"constant": {"k"}})
    with pytest.raises(CodexTypeError, match="`constants` must be a collection of names, not the string `k`"):
        rewrite(psi, context={"constants": "k"})
    with pytest.raises(CodexTypeError, match="`rewrite` takes an expression"):
        rewrite(A.Scroll(()))
    with pytest.raises(CodexTypeError, match="`rules` must be a `RuleSet`"):
        rewrite(psi, rules=[])  # type: ignore[arg-type]
