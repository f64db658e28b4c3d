"""Carrier memory: a container's live names and directives, kept across runs so cells build on each other."""

from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass, field
from typing import Any

from ..errors import CodexNameError, CodexValueError, did_you_mean
from ..lang import ast
from ..photon.ir import PNode
from ..qwave.grid import Grid
from ..qwave.prng import check_seed
from .values import Value, Vetoed

__all__ = ["Binding", "CarrierMemory", "PRECISIONS", "METHODS", "grid_from_directive"]

PRECISIONS = ("fp64", "fp32", "fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "fp4_e2m1", "int8", "auto")
#: `@method`: how ops on fields run (see `codex_scheduler`).
METHODS = ("auto", "exact", "fd2", "fd4", "spectral")

#: The largest `@wave` speed: c² stays a finite float.
_MAX_WAVE_SPEED = math.sqrt(sys.float_info.max)


def grid_from_directive(directive: ast.Directive) -> Grid:
    """A grid from a parsed `@grid` directive (`bc=` for all axes, `bc_x=` for one)."""
    specs = [a for a in directive.args if isinstance(a, ast.AxisSpec)]
    options = {a.key: a.value for a in directive.args if isinstance(a, ast.Option)}
    bc_all = str(options.pop("bc", "periodic"))
    bcs = {s.name: str(options.pop(f"bc_{s.name}", bc_all)) for s in specs}
    if options:
        key = next(iter(options))
        valid = ["bc"] + [f"bc_{s.name}" for s in specs]
        raise CodexValueError(
            f"`@grid` has no option `{key}`{did_you_mean(key, valid)}.",
            line=directive.line or None,
            column=directive.column or None,
        )
    return Grid.from_spec([(s.name, s.lo, s.hi, s.n) for s in specs], bcs)


@dataclass
class Binding:
    """A bound name: its value, the expression that defined it and whether it came from `:=`."""

    name: str
    value: Value
    node: PNode | None = None
    defined: bool = False
    input_hashes: tuple[str, ...] = ()


@dataclass
class CarrierMemory:
    """A container's state: bindings, the grid and the directives in force."""

    container_id: str
    bindings: dict[str, Binding] = field(default_factory=dict)
    grid: Grid = field(default_factory=Grid.default)
    precision: str = "fp64"
    seed: int = 0
    wave_c: float = 1.0
    #: `auto` (exact where analytic and small, else the grid with fd2), `exact`, `fd2`, `fd4`, `spectral`.
    method: str = "auto"
    #: name of a pair member → (name the pair is bound to, role "A" or "B")
    members: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: names SoulLaw vetoed: not bound, and statements that use them are not computed
    vetoed: dict[str, Vetoed] = field(default_factory=dict)
    #: beam id → norm of its value, for the growth law and SQI stability across cells
    norms: dict[str, float] = field(default_factory=dict)
    #: the container's config: policy thresholds and laws, `requires_consent`, `consent_granted`
    config: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    def snapshot(self) -> CarrierMemory:
        """A copy to roll back to (`restore`): the mutable maps are copied, the values inside are shared."""
        return dataclasses.replace(
            self,
            bindings=dict(self.bindings),
            members=dict(self.members),
            vetoed=dict(self.vetoed),
            norms=dict(self.norms),
            extras=dict(self.extras),
        )

    def restore(self, snapshot: CarrierMemory) -> None:
        """Put this memory back to a `snapshot` (a failed cell or a rejected repair leaves no trace)."""
        for f in dataclasses.fields(CarrierMemory):
            setattr(self, f.name, getattr(snapshot, f.name))

    def get(self, name: str) -> Binding:
        """The binding of `name`, or a `CodexNameError` with a did-you-mean."""
        try:
            return self.bindings[name]
        except KeyError:
            known = sorted(self.bindings)
            hint = did_you_mean(name, known)
            listing = f"; known names: {', '.join(f'`{k}`' for k in known)}" if known and not hint else ""
            raise CodexNameError(
                f"`{name}` is not defined{hint}{listing}; define it first with `{name} := …`."
            ) from None

    def bind(self, binding: Binding) -> None:
        """Bind (or rebind) a name; a rebound name stops being a pair member."""
        self.bindings[binding.name] = binding
        self.members.pop(binding.name, None)
        self.vetoed.pop(binding.name, None)

    def veto(self, record: Vetoed) -> None:
        """Mark a name vetoed: unbound, so nothing downstream can use a stale value."""
        self.bindings.pop(record.name, None)
        self.members.pop(record.name, None)
        self.vetoed[record.name] = record

    def apply_directive(self, d: ast.Directive) -> dict[str, Any]:
        """Apply `@grid`, `@precision`, `@seed`, `@container`, `@wave`, `@method`; return what changed."""
        words = [a.value for a in d.args if isinstance(a, ast.Word)]
        options = {a.key: a.value for a in d.args if isinstance(a, ast.Option)}
        where = {"line": d.line or None, "column": d.column or None}
        if d.name == "grid":
            self.grid = grid_from_directive(d)
            return {"grid": self.grid.describe()}
        if d.name == "precision":
            fmt = str(words[0]) if words else ""
            if fmt not in PRECISIONS:
                raise CodexValueError(
                    f"`@precision {fmt}` is not a format{did_you_mean(fmt, PRECISIONS)}; use one of "
                    f"{', '.join(f'`{p}`' for p in PRECISIONS)}.",
                    **where,
                )
            self.precision = fmt
            return {"precision": fmt}
        if d.name == "seed":
            if not words or not isinstance(words[0], int):
                raise CodexValueError("`@seed` needs an integer, e.g. `@seed 7`.", **where)
            try:
                check_seed(words[0])
            except CodexValueError as err:
                raise err.at(where["line"], where["column"]) from None
            self.seed = int(words[0])
            return {"seed": self.seed}
        if d.name == "container":
            if not words:
                raise CodexValueError("`@container` needs a name, e.g. `@container lab1`.", **where)
            return {"container": str(words[0])}
        if d.name == "wave":
            c = options.get("c", words[0] if words else None)
            if not isinstance(c, (int, float)) or c <= 0:
                raise CodexValueError("`@wave` needs a positive speed, e.g. `@wave c=2`.", **where)
            if not c <= _MAX_WAVE_SPEED:  # □ multiplies by c², which must stay a finite float
                raise CodexValueError(f"`@wave c={c}` is too large; use a speed up to {_MAX_WAVE_SPEED:.3g}.", **where)
            self.wave_c = float(c)
            return {"wave_c": self.wave_c}
        if d.name == "method":
            m = str(words[0]) if words else ""
            if m not in METHODS:
                raise CodexValueError(
                    f"`@method {m}` is unknown{did_you_mean(m, METHODS)}; use {', '.join(f'`{x}`' for x in METHODS)}.",
                    **where,
                )
            self.method = m
            return {"method": m}
        known = ["grid", "precision", "seed", "container", "wave", "method"]
        raise CodexValueError(
            f"`@{d.name}` is not a directive{did_you_mean(d.name, known)}; use one of "
            f"{', '.join(f'`@{k}`' for k in known)}.",
            **where,
        )
