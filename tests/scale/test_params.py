"""Sweep parameters: free names from the parsed scroll, checked grids, point scrolls and run ids."""

from __future__ import annotations

import pytest

from codexlab.errors import CodexNameError, CodexSyntaxError, CodexTypeError, CodexValueError
from codexlab.lang import parse
from codexlab.scale import free_names
from codexlab.scale.params import check_params, point_run_id, point_scroll, sweep_points

from .conftest import HEAT


def test_free_names_are_read_but_never_bound() -> None:
    assert free_names(HEAT) == ("s", "dt")
    scroll = """@grid x:-1..1:32, y:-1..1:32
a := k * x
b = a + c
⟲ N { a = a + h*Δa }
⟲ until ‖q - q′‖ < tol max 20 { q′ = q; q = 0.5*q + a }
⟦ Goal | small : ‖b‖ < limit ⟧
⟦ Plan | later : ⟲ 5 { z2 = never_read } ⟧
a -> shown
"""
    # in first-read order; coordinates, `i`, names bound anywhere (even after use: q, q′) and plans excluded
    assert free_names(scroll) == ("k", "c", "N", "h", "tol", "limit")
    assert free_names("ψ = sin(ω*t) * exp(i*x)") == ("ω",)
    assert free_names(parse("y2 = 3")) == ()


def test_parameters_must_be_free_names_of_the_scroll() -> None:
    tree = parse(HEAT)
    with pytest.raises(CodexNameError, match=r"`sigma` is not a free name of the scroll \(the scroll never reads it\)"):
        check_params(tree, {"sigma": [0.1]})
    with pytest.raises(CodexNameError, match=r"`u0` is not a free name.*bound on line 3.*free names are `s`, `dt`"):
        check_params(tree, {"u0": [1.0]})
    with pytest.raises(CodexNameError, match=r"`d` is not a free name .*\(did you mean `dt`\?\)"):
        check_params(tree, {"d": [1.0]})
    with pytest.raises(CodexTypeError, match=r"`s` has the value `'0.1'`, which is not a real number"):
        check_params(tree, {"s": ["0.1"]})
    with pytest.raises(CodexValueError, match=r"`s` repeats a value"):
        check_params(tree, {"s": [0.1, 0.1]})
    with pytest.raises(CodexValueError, match=r"`dt` has a value that is not finite"):
        check_params(tree, {"dt": [float("nan")]})
    with pytest.raises(CodexValueError, match=r"`s` has no values"):
        check_params(tree, {"s": []})
    with pytest.raises(CodexValueError, match=r"at least one parameter; the scroll's free names are `s`, `dt`"):
        check_params(tree, {})


def test_a_sweep_over_an_unknown_name_fails_before_running_anything(lab) -> None:
    with pytest.raises(CodexNameError, match=r"`sigma` is not a free name.*free names are `s`, `dt`"):
        lab.sweep(HEAT, {"sigma": [0.1, 0.2], "dt": [1e-4]})
    with pytest.raises(CodexSyntaxError):
        lab.sweep("u = (", {"s": [1.0]})
    assert lab.store.rows("beams") == []


def test_a_scroll_binding_a_bookkeeping_name_is_refused(lab) -> None:
    with pytest.raises(CodexNameError, match=r"The scroll binds `qscore`, a name the sweep's Dataset uses"):
        lab.sweep("qscore = 2 * s", {"s": [1.0]})


def test_points_define_their_parameters_after_the_directives() -> None:
    tree = parse(HEAT)
    text = point_scroll(tree, {"s": 0.25, "dt": -1e-05})
    lines = text.splitlines()
    assert lines[0].startswith("@grid") and lines[1:3] == ["s := 0.25", "dt := -1e-05"]
    assert parse(text).statements[3:] == tree.statements[1:]  # the scroll itself, unchanged


def test_run_ids_are_a_function_of_the_sweep_and_the_point() -> None:
    grid = check_params(parse(HEAT), {"s": [0.1, 0.2], "dt": [1e-4, 2e-4, 3e-4]})
    points = sweep_points("study", grid)
    assert [p.index for p in points][:4] == [(0, 0), (0, 1), (0, 2), (1, 0)]
    assert points[4].values == {"s": 0.2, "dt": 2e-4}
    again = sweep_points("study", grid)
    assert [p.run_id for p in points] == [p.run_id for p in again]
    assert len({p.run_id for p in points}) == 6
    assert point_run_id("other", points[0].values) != points[0].run_id
