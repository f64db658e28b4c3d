"""Axis and Grid: spacing and coordinates per bc, constructors, round trips and error messages."""

from __future__ import annotations

import numpy as np
import pytest

from codexlab.errors import CodexValueError
from codexlab.qwave.grid import Axis, Grid


def test_periodic_axis_excludes_the_upper_endpoint() -> None:
    a = Axis("x", 0.0, 1.0, 4)
    assert a.spacing == 0.25
    np.testing.assert_allclose(a.coords, [0.0, 0.25, 0.5, 0.75])


@pytest.mark.parametrize("bc", ["dirichlet", "neumann"])
def test_bounded_axes_include_both_endpoints(bc: str) -> None:
    a = Axis("y", -1.0, 1.0, 5, bc)
    assert a.spacing == 0.5
    np.testing.assert_allclose(a.coords, np.linspace(-1.0, 1.0, 5))


def test_grid_properties() -> None:
    g = Grid.from_spec([("x", 0, 2, 4), ("y", 0, 1, 3), ("t", 0, 1, 5)], {"y": "dirichlet"})
    assert g.names == ("x", "y", "t")
    assert g.shape == (4, 3, 5) and g.ndim == 3 and g.size == 60
    assert g.spacing == (0.5, 0.5, 0.2)
    assert g.cell_volume == pytest.approx(0.05)
    assert [a.name for a in g.space_axes] == ["x", "y"] and g.has_time
    assert g.bcs() == {"x": "periodic", "y": "dirichlet", "t": "periodic"}
    assert g.to_attrs() == {"bc": "x:periodic,y:dirichlet,t:periodic"}
    X, Y, T = g.mesh()
    assert X.shape == (4, 3, 5)
    np.testing.assert_allclose(Y[0, :, 0], [0.0, 0.5, 1.0])


def test_default_grid_and_describe() -> None:
    g = Grid.default()
    assert g.shape == (128, 128) and g.describe() == "x:-1..1:128, y:-1..1:128"
    mixed = Grid.from_spec([("x", -1, 1, 8), ("y", 0, 1, 9)], {"x": "dirichlet"})
    assert mixed.describe() == "x:-1..1:8, y:0..1:9, bc_x=dirichlet, bc_y=periodic"
    same = Grid.from_spec([("x", -1, 1, 8)], "neumann")
    assert same.describe() == "x:-1..1:8, bc=neumann"


@pytest.mark.parametrize("bc", ["periodic", "dirichlet", "neumann"])
def test_from_coords_round_trip(bc: str) -> None:
    g = Grid.from_spec([("x", -1.5, 2.0, 12), ("z", 0.0, 3.0, 7)], bc)
    assert Grid.from_coords(g.coords(), bc) == g


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("w", 0, 1, 8, "periodic"), r"Axis `w` is not a coordinate"),
        (("x", 0, 1, 8, "dirichlett"), r"did you mean `dirichlet`"),
        (("x", 0, 1, 2, "periodic"), r"at least 3 points"),
        (("x", 1, 0, 8, "periodic"), r"hi > lo"),
    ],
)
def test_axis_errors(args: tuple, match: str) -> None:
    with pytest.raises(CodexValueError, match=match):
        Axis(*args)


def test_grid_errors() -> None:
    with pytest.raises(CodexValueError, match="at least one axis"):
        Grid(())
    with pytest.raises(CodexValueError, match="must be distinct"):
        Grid((Axis("x", 0, 1, 4), Axis("x", 0, 1, 4)))
    with pytest.raises(CodexValueError, match=r"no axis `yy`.*did you mean `y`"):
        Grid.default().axis("yy")
    with pytest.raises(CodexValueError, match="not uniformly spaced"):
        Grid.from_coords({"x": [0.0, 0.1, 0.3, 0.4]})


def test_size_is_exact_past_int64() -> None:
    axes = [Axis(name, 0.0, 1.0, 65536) for name in ("x", "y", "z", "t")]
    assert Grid(tuple(axes)).size == 2**64  # an int64 product wraps this to 0


@pytest.mark.parametrize(("hi", "n"), [(1e-320, 16), (1e-160, 3)])
def test_a_spacing_too_small_to_divide_by_is_refused(hi: float, n: int) -> None:
    with pytest.raises(CodexValueError, match="spacing"):
        Axis("x", 0.0, hi, n)
    assert Axis("x", 0.0, 1e-100, n).spacing > 0  # small but divisible: accepted
    h = hi / n
    assert h * h < np.finfo(np.float64).tiny or not np.isfinite(1 / (h * h))  # the reference: h² underflows
