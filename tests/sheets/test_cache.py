"""Recompute only what changed: unchanged cells are reused with `cached` beams linked to the beams they
reuse; an edited cell and its dependants run again, nothing else. Counted from the store's beams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from codexlab.qpu import parse_sheet, sheet_cache
from codexlab.runtime import Lab

from .conftest import DIAMOND, new_lab

#: A cell of directives only (`grid`) makes no beam when it runs (a reuse still leaves its `cached` beam).
RAN = set(parse_sheet(DIAMOND).ids) - {"grid"}


def _counted(lab: Lab, text: str, **kwargs: Any) -> tuple[Any, set[str], set[str]]:
    """Run a sheet; (result, cells that made new non-cached beams, cells that made new cached beams),
    read from the store rather than from the result's own labels."""
    before = {r["beam_id"] for r in lab.store.rows("beams")}
    result = lab.run_sheet(text, **kwargs)
    new = [r for r in lab.store.rows("beams") if r["beam_id"] not in before]
    ran = {r["cell_id"] for r in new if r["stage"] != "cached"}
    reused = {r["cell_id"] for r in new if r["stage"] == "cached"}
    return result, ran, reused


def test_a_second_run_reuses_every_cell_with_identical_values(lab: Lab) -> None:
    first, ran, reused = _counted(lab, DIAMOND, jobs=2)
    assert ran == RAN and reused == set()
    second, ran, reused = _counted(lab, DIAMOND, jobs=2)
    assert ran == set() and reused == set(parse_sheet(DIAMOND).ids)
    assert second.reused == first.ran and second.ran == []
    for name, value in first.values.items():
        assert np.array_equal(np.asarray(second.values[name]), np.asarray(value)), name


def test_an_edit_reruns_exactly_the_edited_cell_and_its_dependants(lab: Lab) -> None:
    lab.run_sheet(DIAMOND, jobs=2)
    edited = DIAMOND.replace("L = Δf", "L = Δf * 2")
    result, ran, reused = _counted(lab, edited, jobs=2)
    assert ran == {"lap", "mix"}
    assert reused == {"grid", "f", "g", "grad", "loop"}
    assert set(result.ran) == ran and set(result.reused) == reused
    assert np.allclose(result.values["L"].values, 2 * lab.run_sheet(DIAMOND).values["L"].values)


def test_an_edit_upstream_reruns_its_whole_cone(lab: Lab) -> None:
    lab.run_sheet(DIAMOND, jobs=2)
    _, ran, reused = _counted(lab, DIAMOND.replace("σ=0.3", "σ=0.25"), jobs=2)
    assert ran == {"f", "lap", "grad", "mix"} and reused == {"grid", "g", "loop"}


def test_comments_and_spacing_are_not_edits(lab: Lab) -> None:
    lab.run_sheet(DIAMOND)
    _, ran, _ = _counted(lab, DIAMOND.replace("L = Δf", "# the Laplacian\nL   =   Δf"))
    assert ran == set()


def test_cached_beams_link_to_the_beams_they_reuse_so_lineage_stays_whole(lab: Lab) -> None:
    first = lab.run_sheet(DIAMOND)
    second = lab.run_sheet(DIAMOND)
    cached = {b.result["name"]: b for b in second.beams if b.stage == "cached" and "name" in b.result}
    assert set(cached) == {"f", "g", "L", "G", "M", "m", "h"}
    for name, beam in cached.items():
        original = lab.memory().bindings[name].value.beam_id
        assert original == beam.beam_id  # the container's value now points at the cached beam
        reused = beam.parents[0]
        assert lab.store.get_beam(reused) is not None
        assert beam.result["reused_run"] == lab.store.get_beam(reused).sheet_run_id
        assert beam.source == "qpu" and beam.token == "cache"
    m_first = first.cells["mix"].beams[-1]
    ancestors = set(lab.lineage(cached["m"].beam_id, ids_only=True))
    assert set(lab.lineage(m_first.beam_id, ids_only=True)) | {m_first.beam_id} <= ancestors
    assert m_first.beam_id in set(lab.kg.lineage_query(cached["m"].beam_id))  # the PROV-O graph agrees


def test_a_cell_after_a_reused_one_reads_through_the_cached_beam(lab: Lab) -> None:
    lab.run_sheet(DIAMOND)
    result = lab.run_sheet(DIAMOND.replace("M = L + G * g", "M = L + G * g * 2"))
    cached_ids = {b.result["name"]: b.beam_id for b in result.beams if b.stage == "cached" and "name" in b.result}
    parents = {p for b in result.cells["mix"].beams for p in b.parents}
    assert {cached_ids["L"], cached_ids["G"], cached_ids["g"]} <= parents


def test_the_cache_survives_a_new_lab_on_the_same_home(tmp_path: Path) -> None:
    new_lab(tmp_path / "home").run_sheet(DIAMOND)
    again = new_lab(tmp_path / "home")
    _, ran, reused = _counted(again, DIAMOND, jobs=2)
    assert ran == set() and len(reused) == 7
    assert len(sheet_cache(again)) >= 7


def test_a_changed_data_file_reruns_the_cell_that_loads_it(tmp_path: Path) -> None:
    import xarray as xr

    home = tmp_path / "home"
    data = home / "data"
    data.mkdir(parents=True)
    grid = np.linspace(-1, 1, 16, endpoint=False)
    field = xr.DataArray(np.ones((16, 16)), dims=("x", "y"), coords={"x": grid, "y": grid}, name="u")
    field.to_netcdf(data / "u.nc")
    lab = new_lab(home)
    text = f'# %% grid\n@grid x:-1..1:16, y:-1..1:16\n# %% load\nu := load("{data / "u.nc"}")\n# %% use\nv = u * 2\n'
    lab.run_sheet(text)
    _, ran, _ = _counted(lab, text)
    assert ran == set()
    (field * 3).to_netcdf(data / "u.nc")
    result, ran, _ = _counted(lab, text)
    assert ran == {"load", "use"}
    assert float(result.values["v"].max()) == 6.0


def test_a_changed_policy_reruns_the_cells(tmp_path: Path) -> None:
    lab = new_lab(tmp_path / "home")
    lab.run_sheet(DIAMOND)
    lab.configure(None, thresholds={"growth_limit": 1e9})
    _, ran, _ = _counted(lab, DIAMOND)
    assert ran == RAN


def test_a_damaged_cache_entry_is_a_miss_not_an_error(lab: Lab) -> None:
    lab.run_sheet(DIAMOND)
    for payload in (lab.home / "sheets" / "values").glob("*.pkl"):
        payload.write_bytes(b"not a pickle")
    _, ran, reused = _counted(lab, DIAMOND)
    assert ran == RAN and reused == set()


def test_vetoed_results_are_not_cached(lab: Lab) -> None:
    text = "# %% bad\n@grid x:-1..1:8\nf0 := x - x\nQ = log(f0)\n"
    first = lab.run_sheet(text)
    assert type(first.values["Q"]).__name__ == "Vetoed"
    _, ran, _ = _counted(lab, text)
    assert ran == {"bad"}


def test_no_cache_runs_everything_and_stores_nothing(lab: Lab) -> None:
    lab.run_sheet(DIAMOND, cache=False)
    assert len(sheet_cache(lab)) == 0
    _, ran, _ = _counted(lab, DIAMOND, cache=False)
    assert ran == RAN


@pytest.mark.parametrize("jobs", [0, -1, 1.5, True])
def test_jobs_must_be_a_positive_whole_number(lab: Lab, jobs: Any) -> None:
    from codexlab.errors import CodexValueError

    with pytest.raises(CodexValueError, match="`jobs` must be a whole number ≥ 1"):
        lab.run_sheet(DIAMOND, jobs=jobs)
