"""The rule registry, constant folding, and numeric soundness checks (registration and live)."""

from __future__ import annotations

import math

import pytest

from codexlab.errors import CodexNameError, CodexTypeError, CodexValueError
from codexlab.photon import DEFAULT_RULES, Rule, RuleSet, RuleStats, name, node, num, rewrite, var
from codexlab.photon.rules import LINEAR_OPS, fold_numbers

f = var("f")
psi, phi = name("ψ"), name("φ")


def _fresh(**kwargs: object) -> RuleSet:
    return RuleSet("test", **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------- registry


def test_default_rule_names() -> None:
    names = set(DEFAULT_RULES.names())
    expected = {
        "div_grad", "curl_grad", "div_curl", "ddt_tfree", "partial_t_tfree", "dalembert_expand",
        "fold_add", "fold_sub", "fold_mul", "fold_div", "fold_pow", "fold_neg",
        "add_zero", "zero_add", "sub_zero", "zero_sub", "mul_one", "one_mul", "mul_zero", "zero_mul",
        "neg_neg",
    }  # fmt: skip
    for alias, _ in LINEAR_OPS.values():
        expected |= {f"{alias}_{form}" for form in ("add", "sub", "neg", "scale", "scale_right", "div")}
    expected |= {f"{a}_const" for a in ("grad", "lap", "dalembert", "partial_x", "partial_y", "partial_z")}
    assert names == expected


def test_duplicate_names_raise_unless_override() -> None:
    rules = _fresh()
    rules.add(Rule("r", node("∇", f), node("Δ", f)))
    with pytest.raises(CodexValueError, match="A rule named `r` is already registered in `test`; pass `override=True`"):
        rules.add(Rule("r", node("∇", f), f))
    rules.add(Rule("r", node("Δ", f), f), override=True)
    assert rules["r"].pattern is node("Δ", f)
    assert len(rules) == 1


def test_lookup_suggests_the_closest_name() -> None:
    with pytest.raises(CodexNameError, match=r"No rewrite rule named `div_grd` .*\(did you mean `div_grad`\?\)"):
        DEFAULT_RULES["div_grd"]
    assert "div_grad" in DEFAULT_RULES and "nope" not in DEFAULT_RULES


def test_decorator_registers_and_priority_orders() -> None:
    rules = _fresh()

    @rules.rule("low", node("∇", f))
    def low(b, ctx):  # type: ignore[no-untyped-def]
        """∇f ⟶ Δf."""
        return node("Δ", b["f"])

    @rules.rule("high", node("∇", f), priority=5)
    def high(b, ctx):  # type: ignore[no-untyped-def]
        return node("□", b["f"])

    assert rules.names() == ["high", "low"]
    assert rules["low"].doc == "∇f ⟶ Δf."
    assert callable(low) and callable(high)
    assert rewrite(node("∇", psi), rules, live_checks=False).result is node("□", psi)
    assert rules.without("high").names() == ["low"]
    with pytest.raises(CodexTypeError, match="takes a `Rule`"):
        rules.add("∇f → Δf")  # type: ignore[arg-type]


def test_a_template_replacement_must_use_bound_metavariables() -> None:
    with pytest.raises(CodexValueError, match=r"The replacement of rule `bad` uses `\?g`, which its pattern"):
        Rule("bad", node("∇", f), node("Δ", var("g")))
    assert str(DEFAULT_RULES["div_grad"]) == "div_grad: ∇·∇?f ⟶ Δ?f"


def test_bad_options_raise() -> None:
    with pytest.raises(CodexValueError, match=r"`live_check_rate` must lie in \[0, 1\]"):
        RuleSet(live_check_rate=2.0)
    with pytest.raises(CodexValueError, match="Unknown metavariable kind `vectr` \\(did you mean `vector`\\?\\)"):
        var("F", "vectr")


# ------------------------------------------------------------------------------------------ folding


@pytest.mark.parametrize(
    ("op", "x", "y", "expected"),
    [
        ("+", 2, 3, 5),
        ("/", 6, 3, 2),
        ("/", -6, 3, -2),
        ("/", 7, 2, None),  # not exact as an int
        ("/", 1, 0, None),
        ("/", 1.0, 0.0, None),
        ("^", 2, 10, 1024),
        ("^", 2, -1, None),
        ("^", -1, -3, -1),
        ("^", 10, 10**6, None),  # too large to build
        ("^", 10, 400, None),  # past the float range: left to the exact path (cmath.isfinite overflowed)
        ("*", 10**300, 10**100, None),
        ("^", 10, 250, 10**250),
        ("^", 1.5, 2, 2.25),
        ("^", -8.0, 1 / 3, None),  # complex from real operands
        ("^", 0.0, -1.0, None),
        ("*", 1e308, 10.0, None),  # inf
        ("-", 1e308, -1e308, None),
        ("+", 0.1, 0.2, 0.1 + 0.2),
        ("neg", 3, None, -3),
        ("*", 2j, 2, 4j),
    ],
)
def test_fold_numbers(op: str, x: object, y: object, expected: object) -> None:
    result = fold_numbers(op, x, y)
    assert result == expected
    assert type(result) is type(expected)


def test_folded_ints_stay_exact() -> None:
    big = node("*", num(10**20), num(10**20))
    assert rewrite(big).result is num(10**40)
    assert rewrite(node("/", num(7), num(2))).result is node("/", num(7), num(2))


# ---------------------------------------------------------------------------------------- soundness


def test_every_default_rule_passes_its_numeric_check() -> None:
    stats = DEFAULT_RULES.stats()
    assert set(stats) == set(DEFAULT_RULES.names())
    failed = {n: s for n, s in stats.items() if s.failures}
    unchecked = {n: s for n, s in stats.items() if s.passes == 0}
    assert failed == {}
    assert unchecked == {}


def test_an_unsound_rule_gets_failures_recorded() -> None:
    rules = _fresh()
    rules.add(Rule("grad_is_f", node("∇", f), f))
    rules.add(Rule("ddt_always_zero", node("d/dt", f), num(0)))
    rules.add(Rule("mixed_partials", node("∂x", node("∂y", f)), node("∂y", node("∂x", f))))
    with pytest.warns(RuntimeWarning) as caught:
        stats = rules.stats()
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2
    assert messages[0].startswith("Rewrite rule `ddt_always_zero` failed its numeric soundness check on 2 of")
    assert messages[1].startswith("Rewrite rule `grad_is_f` failed its numeric soundness check")
    assert stats["grad_is_f"].failures >= 1 and stats["grad_is_f"].passes == 0
    assert stats["ddt_always_zero"].failures >= 1
    assert stats["mixed_partials"] == RuleStats(passes=rules.check_samples)
    assert stats["grad_is_f"].success_prob < stats["mixed_partials"].success_prob


def test_checks_run_once_and_are_cached() -> None:
    rules = _fresh()
    rules.add(Rule("mixed_partials", node("∂x", node("∂y", f)), node("∂y", node("∂x", f))))
    first = rules.stats()
    assert rules.stats() == first
    assert rules.verify(force=True)["mixed_partials"] == first["mixed_partials"]


def test_live_checks_record_failures_and_leave_passes_out_of_the_posterior() -> None:
    rules = _fresh(live_check_rate=1.0)
    rules.add(Rule("grad_is_f", node("∇", f), f))
    rules.add(Rule("lap_twice", node("Δ", node("+", f, f)), node("*", num(2), node("Δ", f))))
    with pytest.warns(RuntimeWarning):
        before = rules.stats()
    bad = rewrite(node("∇", psi), rules)
    good = rewrite(node("Δ", node("+", phi, phi)), rules)
    after = rules.stats()
    assert after["grad_is_f"].failures == before["grad_is_f"].failures + 1
    # a passing live use changes nothing: scores must not depend on how many cells ran before
    assert after["lap_twice"] == before["lap_twice"]
    assert rules.check_live_use(bad.steps[0], force=True) is False
    assert rules.check_live_use(good.steps[0], force=True) is True


def test_live_check_sampling_follows_the_step_not_the_history() -> None:
    rules = _fresh(live_check_rate=0.5)
    rules.add(Rule("lap_twice", node("Δ", node("+", f, f)), node("*", num(2), node("Δ", f))))
    outcomes = []
    for k in range(40):
        field = name(f"g{k}")
        step = rewrite(node("Δ", node("+", field, field)), rules, live_checks=False).steps[0]
        first = rules.check_live_use(step)
        assert all(rules.check_live_use(step) == first for _ in range(3))  # same step, same decision
        outcomes.append(first)
    assert set(outcomes) == {True, None} and 8 <= outcomes.count(True) <= 32  # about half are sampled
    off = _fresh(live_check_rate=0.0)
    off.add(Rule("lap_twice", node("Δ", node("+", f, f)), node("*", num(2), node("Δ", f))))
    step = rewrite(node("Δ", node("+", phi, phi)), off, live_checks=False).steps[0]
    assert off.check_live_use(step) is None


def test_success_prob_is_the_product_of_beta_means() -> None:
    d = rewrite(node("Δ", node("+", node("*", num(2), psi), phi)), live_checks=False)
    stats = DEFAULT_RULES.stats()
    expected = math.prod((1 + stats[n].passes) / (2 + stats[n].passes + stats[n].failures) for n in d.rule_names)
    assert d.success_prob() == pytest.approx(expected)
    assert 0.0 < d.success_prob() < 1.0
