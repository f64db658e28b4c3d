"""Runtime values: what a name is bound to in a container, with its exact form and its beam."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast, get_args

import numpy as np
import sympy
import xarray as xr

__all__ = ["Value", "Kind", "as_kind", "kind_of_data", "kind_of_expr", "Vetoed"]

Kind = Literal["field", "vector", "tensor", "number", "pair", "measurement", "bool", "string", "function"]

_COORDS = frozenset(sympy.symbols("x y z t", real=True))


@dataclass(frozen=True)
class Vetoed:
    """A name whose beam SoulLaw vetoed: it is not bound; this says which law, why, and which beam."""

    name: str
    law: str
    reason: str
    beam_id: str


@dataclass
class Value:
    """A runtime value: its kind, exact SymPy form (if any), numeric data (if made) and producing beam.

    `data` is an xarray.DataArray for fields, a Python number, an `EntangledPair`, a `Measurement`,
    a bool or a str. A symbolic value's data is made on demand (`materialize`) by putting its exact
    expression on the grid.
    """

    kind: Kind
    expr: Any = None
    data: Any = None
    beam_id: str | None = None
    path: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def analytic(self) -> bool:
        """Whether the value has an exact symbolic form."""
        return self.expr is not None

    def with_beam(self, beam_id: str) -> Value:
        """A copy attributed to another beam."""
        return replace(self, beam_id=beam_id)


def as_kind(kind: str) -> Kind:
    """`kind` as a value kind; an analysis kind no value can have (`data`, an unknown one) is an error."""
    if kind not in get_args(Kind):
        raise TypeError(f"codexlab has no value kind `{kind}`.")
    return cast(Kind, kind)


def kind_of_data(data: Any) -> Kind:
    """The kind of a concrete value."""
    if isinstance(data, xr.DataArray):
        if "component2" in data.dims:
            return "tensor"
        return "vector" if "component" in data.dims else "field"
    if isinstance(data, (bool, np.bool_)):
        return "bool"
    if isinstance(data, (int, float, complex, np.number)):
        return "number"
    if isinstance(data, str):
        return "string"
    name = type(data).__name__
    if name == "EntangledPair":
        return "pair"
    if name == "Measurement":
        return "measurement"
    if isinstance(data, np.ndarray) and data.ndim == 0:
        return "number"
    raise TypeError(f"codexlab has no kind for values of type `{name}`.")


def kind_of_expr(expr: Any) -> Kind:
    """The kind of an exact value: a Matrix is a vector or tensor, coordinates make a field."""
    if isinstance(expr, sympy.MatrixBase):
        return "tensor" if expr.shape[1] > 1 else "vector"
    if isinstance(expr, sympy.logic.boolalg.Boolean) or isinstance(expr, sympy.core.relational.Relational):
        return "bool"
    if getattr(expr, "free_symbols", set()) & _COORDS:
        return "field"
    return "number"
