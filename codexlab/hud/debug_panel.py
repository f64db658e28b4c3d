"""`DebugPanel`: a small ipywidgets panel over a `Debugger` — step / line / continue / abort buttons, the
program listing with the current instruction, the register table and a heatmap of the selected register
(`qwave.figures.field_figure`, the HUD's Plotly figure). `%codex debug` shows one."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import numpy as np
import xarray as xr

from ..runtime.debugger import Debugger

__all__ = ["DebugPanel", "register_rows"]


def register_rows(registers: dict[str, xr.DataArray]) -> list[dict[str, Any]]:
    """One row per register: its name, shape, dtype, min, max and whether every value is finite."""
    rows = []
    for name, da in registers.items():
        values = np.asarray(da.values)
        numeric = np.issubdtype(values.dtype, np.number) and values.size > 0
        real = np.abs(values) if np.iscomplexobj(values) else values
        rows.append(
            {
                "register": name,
                "shape": tuple(values.shape),
                "dtype": str(values.dtype),
                "min": float(np.nanmin(real)) if numeric else None,
                "max": float(np.nanmax(real)) if numeric else None,
                "finite": bool(np.isfinite(values).all()) if numeric else True,
            }
        )
    return rows


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:.4g}"


class DebugPanel:
    """The panel's widgets and their callbacks (the Python side; `widget` is what a notebook shows)."""

    def __init__(self, debugger: Debugger) -> None:
        self.debugger = debugger
        self.buttons = {
            name: widgets.Button(description=label, layout=widgets.Layout(width="90px"))
            for name, label in (("step", "step"), ("line", "next line"), ("cont", "continue"), ("abort", "abort"))
        }
        self.buttons["step"].on_click(lambda _: self._do(debugger.step))
        self.buttons["line"].on_click(lambda _: self._do(debugger.next_line))
        self.buttons["cont"].on_click(lambda _: self._do(debugger.cont))
        self.buttons["abort"].on_click(lambda _: self._do(debugger.abort))
        self.status = widgets.HTML()
        self.listing = widgets.HTML()
        self.table = widgets.HTML()
        self.select = widgets.Dropdown(description="register", options=[], layout=widgets.Layout(width="220px"))
        self.select.observe(lambda _: self._draw(), names="value")
        self.plot = widgets.Output()
        #: The figure of the selected register (None when it has nothing to draw).
        self.figure: Any = None
        self.widget = widgets.VBox(
            [
                widgets.HBox(list(self.buttons.values())),
                self.status,
                widgets.HBox([self.listing, widgets.VBox([self.table, self.select])]),
                self.plot,
            ]
        )
        self._refresh()

    def _do(self, command: Any) -> None:
        command()
        self._refresh()

    def _refresh(self) -> None:
        d = self.debugger
        stop = d.stop
        if stop is None:
            text = "not started: press step"
        elif d.finished:
            text = f"finished: {stop.detail}"
        else:
            where = f"line {d.line}, instruction {d.current.ip if d.current else '?'}, iteration {d.iteration}"
            text = f"{stop.reason} at {where}" + (f" — {stop.detail}" if stop.detail else "")
        self.status.value = f"<b>{html.escape(text)}</b>"
        for name in ("step", "line", "cont", "abort"):
            self.buttons[name].disabled = d.finished
        self.listing.value = (
            f"<pre style='font-size:11px;max-height:260px;overflow:auto'>{html.escape(d.listing())}</pre>"
        )
        registers = d.registers
        rows = register_rows(registers)
        cells = "".join(
            f"<tr><td>{r['register']}</td><td>{r['shape']}</td><td>{r['dtype']}</td><td>{_num(r['min'])}</td>"
            f"<td>{_num(r['max'])}</td><td>{'yes' if r['finite'] else 'NO'}</td></tr>"
            for r in rows
        )
        head = "<tr><th>reg</th><th>shape</th><th>dtype</th><th>min</th><th>max</th><th>finite</th></tr>"
        self.table.value = f"<table style='font-size:11px'>{head}{cells}</table>"
        fields = [name for name, da in registers.items() if da.ndim >= 1]
        keep = self.select.value if self.select.value in fields else (fields[-1] if fields else None)
        self.select.options = fields
        self.select.value = keep
        self._draw()

    def _draw(self) -> None:
        from ..qwave.figures import field_figure

        registers = self.debugger.registers
        name = self.select.value
        self.figure = field_figure(registers[name], name) if name in registers else None
        self.plot.clear_output()
        if self.figure is not None:
            from IPython.display import display

            with self.plot:
                display(self.figure)
