"""A sheet run in parallel gives what running its cells one by one with `Lab.run` gives: the same values
bit for bit, the same beams (modulo ids and timestamps) and the same lineage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from codexlab.contracts import BeamEvent
from codexlab.qpu import parse_sheet

from .conftest import DIAMOND, new_lab

NAMES = ("f", "g", "L", "G", "M", "m", "h")


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, xr.DataArray):
        return (
            isinstance(b, xr.DataArray)
            and a.dims == b.dims
            and a.dtype == b.dtype
            and np.array_equal(a.values, b.values)
            and all(np.array_equal(a.coords[d].values, b.coords[d].values) for d in a.dims)
        )
    return type(a) is type(b) and a == b


def _shape(beams_by_cell: dict[str, list[BeamEvent]]) -> dict[str, list[tuple[Any, ...]]]:
    """Per cell, each beam as (stage, token, name, checksum, path, verdict, parents as (cell, index))."""
    where = {b.beam_id: (cell, k) for cell, beams in beams_by_cell.items() for k, b in enumerate(beams)}
    return {
        cell: [
            (
                b.stage,
                b.token,
                b.result.get("name"),
                b.result.get("checksum"),
                b.result.get("path"),
                b.verdict,
                tuple(where[p] for p in b.parents),
            )
            for b in beams
        ]
        for cell, beams in beams_by_cell.items()
    }


def _lineage(lab: Any, beam: BeamEvent, where: dict[str, tuple[str, int]]) -> set[tuple[str, int]]:
    return {where[i] for i in lab.lineage(beam.beam_id, ids_only=True)}


def test_parallel_equals_sequential_runs(tmp_path: Path) -> None:
    sheet = parse_sheet(DIAMOND)
    plain = new_lab(tmp_path / "plain")
    runs = {c.id: plain.run(c.code, container="box", cell_id=c.id) for c in sheet.cells}
    reference = {c: r.beams for c, r in runs.items()}
    ref_values = {n: v for r in runs.values() for n, v in r.values.items() if n != "_"}

    for jobs in (1, 2):
        lab = new_lab(tmp_path / f"jobs{jobs}")
        result = lab.run_sheet(sheet, jobs=jobs, container="box", cache=False)
        assert result.ran == sheet.ids and result.reused == []
        assert set(result.values) == set(NAMES) == set(ref_values)
        for name in NAMES:
            assert _same_value(result.values[name], ref_values[name]), (jobs, name)
            stored = lab.memory("box").bindings[name].value.data
            assert _same_value(stored, plain.memory("box").bindings[name].value.data), (jobs, name)
        got = {c: o.beams for c, o in result.cells.items()}
        assert _shape(got) == _shape(reference)
        where_ref = {b.beam_id: (c, k) for c, bs in reference.items() for k, b in enumerate(bs)}
        where_got = {b.beam_id: (c, k) for c, bs in got.items() for k, b in enumerate(bs)}
        last_ref, last_got = reference["mix"][-1], got["mix"][-1]
        assert _lineage(lab, last_got, where_got) == _lineage(plain, last_ref, where_ref)
        assert lab.memory("box").grid == plain.memory("box").grid
        assert lab.memory("box").seed == plain.memory("box").seed == 11


def test_independent_cells_of_one_container_merge_without_touching_each_other(lab: Any) -> None:
    lab.run("@grid x:-1..1:48, y:-1..1:48\nbase := x + y\n", container="box")
    sheet = {f"c{k}": f"v{k} = base * {k}" for k in range(6)}
    result = lab.run_sheet(sheet, jobs=3, container="box")
    x = np.linspace(-1, 1, 48, endpoint=False)
    X, Y = np.meshgrid(x, x, indexing="ij")
    for k in range(6):  # analytic: each v_k is the exact field k(x + y), evaluated on the grid
        np.testing.assert_allclose(lab.memory("box").bindings[f"v{k}"].value.data.values, k * (X + Y), atol=1e-14)
        assert result.cells[f"c{k}"].reads == ("base",)
    assert lab.container("box").names == sorted(["base", *(f"v{k}" for k in range(6))])


def test_directives_are_positional(lab: Any) -> None:
    text = (
        "# %% coarse\n@grid x:-1..1:32, y:-1..1:32\na := gaussian(x, y, σ=0.2)\nA = Δa\n"
        "# %% fine\n@grid x:-1..1:48, y:-1..1:48\nb := gaussian(x, y, σ=0.2)\nB = Δb\n"
        "# %% after\nC = Δb * 2\n"
    )
    result = lab.run_sheet(text, jobs=2)
    assert result.values["A"].shape == (32, 32)
    assert result.values["B"].shape == (48, 48) and result.values["C"].shape == (48, 48)
    assert lab.memory().grid.shape == (48, 48)


def test_a_notebooks_codex_cells_run_as_a_sheet(lab: Any, tmp_path: Path) -> None:
    import json

    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# a study"},
        {"cell_type": "code", "id": "setup", "metadata": {}, "outputs": [], "source": "import numpy as np"},
        {
            "cell_type": "code",
            "id": "make",
            "metadata": {},
            "outputs": [],
            "source": "%%codex -c nb --seed 5\n@grid x:-1..1:16, y:-1..1:16\nr := random(seed=2)\n",
        },
        {"cell_type": "code", "id": "use", "metadata": {}, "outputs": [], "source": "%%codex -c nb\nR = Δr\n"},
    ]
    path = tmp_path / "study.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}), "utf-8")
    result = lab.run_sheet(path, jobs=2)
    assert result.container_id == "nb" and result.ran == ["make", "use"]
    assert lab.memory("nb").seed == 5
    plain = new_lab(tmp_path / "plain")
    plain.run("@seed 5\n@grid x:-1..1:16, y:-1..1:16\nr := random(seed=2)\n", container="nb")
    reference = plain.run("R = Δr", container="nb").values["R"]
    assert _same_value(result.values["R"], reference)
