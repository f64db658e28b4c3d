"""`Run`: what `Lab.run` returns — values, exact forms, derivations, beams and ids that resolve."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import xarray as xr

from ..contracts import BeamEvent
from ..errors import CodexNameError, CodexTypeError, did_you_mean

if TYPE_CHECKING:
    import plotly.graph_objects as go
    import sympy

    from ..contracts import SqiScore
    from ..photon.intents import Intent
    from ..photon.rewrite import Derivation
    from ..qwave.measure import Measurement
    from ..qwave.pairs import EntangledPair
    from ..sqi.soullaw import Verdict
    from .values import Vetoed

#: What a run can bind to a name: a field (DataArray), a number, a boolean, a string, an entangled pair,
#: a measurement — or the veto that kept a name from being bound.
RunValue: TypeAlias = "xr.DataArray | float | complex | bool | str | EntangledPair | Measurement | Vetoed"

__all__ = ["Run", "RunValue", "describe_value", "run_to_json", "value_to_json"]


def describe_value(value: Any) -> str:
    """A one-line description of a run value."""
    if isinstance(value, xr.DataArray):
        data = np.asarray(value.values)
        mag = np.abs(data)
        kind = (
            "tensor field" if "component2" in value.dims else "vector field" if "component" in value.dims else "field"
        )
        with np.errstate(all="ignore"):
            return f"{kind} {tuple(data.shape)} {data.dtype}, |·| in [{np.nanmin(mag):.4g}, {np.nanmax(mag):.4g}]"
    if type(value).__name__ == "EntangledPair":
        return f"entangled pair, Schmidt rank {value.schmidt_rank}, entropy {float(value.entropy_bits):.4f} bits"
    if type(value).__name__ == "Measurement":
        outcome = ", ".join(f"{float(c):.4f}" for c in value.outcome)
        return f"measurement at ({outcome}), probability {float(value.probability):.4g}"
    if type(value).__name__ == "Vetoed":
        return f"vetoed by `{value.law}`: {value.reason}"
    if isinstance(value, complex):
        return f"number {value.real:.6g}{value.imag:+.6g}i"
    if isinstance(value, float):
        return f"number {value:.6g}"
    return f"{type(value).__name__} {value!r}"


@dataclass
class Run:
    """The result of one `Lab.run`: values by name, exact forms, derivations, beams and ids."""

    run_id: str
    cell_id: str
    container_id: str
    values: dict[str, RunValue] = field(default_factory=dict)
    exprs: dict[str, sympy.Basic] = field(default_factory=dict)
    derivations: dict[str, Derivation] = field(default_factory=dict)
    beams: list[BeamEvent] = field(default_factory=list)
    eids: list[str] = field(default_factory=list)
    trace: list[dict[str, object]] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    intents: list[Intent] = field(default_factory=list)
    scores: list[SqiScore] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    mutations: list[str] = field(default_factory=list)
    qfc_id: str | None = None
    duration_ms: float = 0.0

    @property
    def ghx_id(self) -> str:
        """The run's replay id: `lab.replay(run.ghx_id)` returns its newest beams."""
        return self.run_id

    @property
    def beam_ids(self) -> list[str]:
        """Ids of the run's beams, in order."""
        return [b.beam_id for b in self.beams]

    def beams_of(self, name: str) -> list[BeamEvent]:
        """The beams whose result names `name` or that produced its value."""
        return [b for b in self.beams if b.result.get("name") == name]

    def summary(self) -> str:
        """A readable multi-line summary (what the CLI and plain IPython show)."""
        lines = [
            f"Run {self.run_id} · container {self.container_id} · {len(self.beams)} beams · {self.duration_ms:.1f} ms"
        ]
        for name, value in self.values.items():
            lines.append(f"  {name}: {describe_value(value)}")
        for name, d in self.derivations.items():
            lines.append(f"  derivation of {name}:")
            lines.extend(f"    {line}" for line in str(d).splitlines())
        if self.eids:
            lines.append(f"  eids: {', '.join(self.eids)}")
        lines.append(f"  GHX replay id: {self.ghx_id}")
        if self.qfc_id:
            lines.append(f"  QFC id: {self.qfc_id}")
        return "\n".join(lines)

    def plot(self, name: str) -> go.Figure:
        """The field bound to `name` as a Plotly figure: a heatmap per plane for 2-D (mid-plane of 3-D),
        a line for 1-D; complex fields as magnitude and phase, vectors per component."""
        fields = [n for n, v in self.values.items() if isinstance(v, xr.DataArray)]
        if name not in self.values:
            raise CodexNameError(
                f"This run bound no `{name}`{did_you_mean(name, fields)}; its fields are "
                + (", ".join(f"`{n}`" for n in fields) or "none")
                + "."
            )
        value = self.values[name]
        if not isinstance(value, xr.DataArray):
            raise CodexTypeError(
                f"`{name}` is a {type(value).__name__}, not a field, so it has no picture; plot one of "
                + (", ".join(f"`{n}`" for n in fields) or "the fields of another run")
                + "."
            )
        from ..qwave.figures import field_figure

        return field_figure(value, name)

    def __repr__(self) -> str:
        return f"<Run {self.run_id}: {len(self.values)} values, {len(self.beams)} beams>"

    def _repr_html_(self) -> str:
        """The Jupyter view: values, qscores, vetoes, derivations, beam counts by stage, ids."""
        from .display import run_html

        return run_html(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """The terminal IPython view: the same content as `_repr_html_`, as text."""
        from .display import run_text

        p.text(repr(self) if cycle else run_text(self))


def value_to_json(value: Any) -> dict[str, Any]:
    """A bound value as JSON: a field's summary, a measurement's record, a pair's rank and entropy."""
    from .summary import summarize_array

    if isinstance(value, xr.DataArray):
        return {"kind": "vector" if "component" in value.dims else "field", **summarize_array(value.values)}
    name = type(value).__name__
    if name == "Measurement":
        return {
            "kind": "measurement",
            "outcome": [float(c) for c in value.outcome],
            "probability": float(value.probability),
            "key": value.key if isinstance(value.key, (str, list)) else str(value.key),
            "mode": value.mode,
            "sigma": float(value.sigma),
        }
    if name == "EntangledPair":
        return {
            "kind": "pair",
            "schmidt_rank": int(value.schmidt_rank),
            "entropy_bits": float(value.entropy_bits),
        }
    if isinstance(value, complex):
        return {"kind": "number", "value": [value.real, value.imag]}
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return {"kind": "number", "value": float(value)}
    return {"kind": type(value).__name__, "value": str(value)}


def run_to_json(run: Any) -> dict[str, Any]:
    """The JSON form of a `Run` for `codexlab run --json`."""
    from ..photon.printing import to_unicode

    return {
        "run_id": run.run_id,
        "container": run.container_id,
        "values": {k: value_to_json(v) for k, v in run.values.items()},
        "derivations": {
            k: [{"rule": s.rule, "before": to_unicode(s.before), "after": to_unicode(s.after)} for s in d.steps]
            for k, d in run.derivations.items()
        },
        "beams": run.beam_ids,
        "eids": run.eids,
        "ghx_id": run.ghx_id,
        "qfc_id": run.qfc_id,
    }
