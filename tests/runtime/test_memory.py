"""Carrier memory: directives applied to a container (`@grid`, `@method`, …)."""

from __future__ import annotations

import pytest

from codexlab.errors import CodexValueError
from codexlab.lang import ast
from codexlab.runtime.memory import METHODS, CarrierMemory, grid_from_directive


def test_grid_from_directive() -> None:
    d = ast.Directive(
        "grid",
        (
            ast.AxisSpec("x", -1, 1, 16),
            ast.AxisSpec("y", 0, 2, 8),
            ast.Option("bc", "neumann"),
            ast.Option("bc_y", "dirichlet"),
        ),
    )
    g = grid_from_directive(d)
    assert g.bcs() == {"x": "neumann", "y": "dirichlet"} and g.shape == (16, 8)


def test_grid_from_directive_rejects_unknown_option() -> None:
    d = ast.Directive("grid", (ast.AxisSpec("x", -1, 1, 16), ast.Option("bx", "neumann")), line=3)
    with pytest.raises(CodexValueError, match=r"no option `bx`.*did you mean `bc_x`.*line 3"):
        grid_from_directive(d)


def test_method_directive_takes_the_plan_methods_and_refuses_others() -> None:
    memory = CarrierMemory("m")
    assert memory.method == "auto"
    for m in METHODS:
        memory.apply_directive(ast.Directive("method", (ast.Word(m),)))
        assert memory.method == m
    with pytest.raises(CodexValueError, match=r"`@method fd3` is unknown \(did you mean `fd[24]`\?\); use `auto`"):
        memory.apply_directive(ast.Directive("method", (ast.Word("fd3"),)))
