"""Sweeps on local threads, committed by the client into the Lab's SQLite store."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from codexlab.runtime import Lab

from .conftest import HEAT, heat_point

S, DT = [0.15, 0.3], [1e-4, 2e-4]


def norm_beam(lab: Lab, run_id: str):
    """The `wave norm` beam of a run: it bound `m`."""
    (beam,) = [b for b in lab.store.beams_for_run(run_id) if b.stage == "wave" and b.token == "norm"]
    return beam


def lineage_shape(lab: Lab, beam_id: str) -> list[tuple[str, str, str | None]]:
    return [(b.stage, b.token, b.result.get("name")) for b in lab.lineage(beam_id)]


def test_a_threaded_sweep_equals_the_points_run_serially(lab: Lab, tmp_path) -> None:
    ds = lab.sweep(HEAT, {"s": S, "dt": DT}, threads=2)
    assert dict(ds.sizes) == {"s": 2, "dt": 2, "x": 48, "y": 48, "binding": 3}
    assert ds.u.dims == ("s", "dt", "x", "y") and ds.m.dims == ("s", "dt")
    for i, s in enumerate(S):
        for j, dt in enumerate(DT):
            serial_lab = Lab(home=tmp_path / f"serial_{i}{j}")
            serial = serial_lab.run(heat_point(s, dt))
            run_id = str(ds.run_id.values[i, j])
            np.testing.assert_array_equal(ds.u.values[i, j], serial.values["u"].values)
            np.testing.assert_array_equal(ds.u0.values[i, j], serial.values["u0"].values)
            assert ds.m.values[i, j] == serial.values["m"]
            stored = lab.store.beams_for_run(run_id)
            assert len(stored) == len(serial.beams) and lab.store.verify_chain(run_id) == []
            assert lineage_shape(lab, norm_beam(lab, run_id).beam_id) == lineage_shape(
                serial_lab, norm_beam(serial_lab, serial.run_id).beam_id
            )
    # the parameters are ingest beams every result descends from
    ancestors = lab.lineage(norm_beam(lab, str(ds.run_id.values[1, 0])).beam_id)
    ingested = {b.result.get("name"): b.result.get("value") for b in ancestors if b.stage == "ingest"}
    assert ingested.items() >= {"s": 0.3, "dt": 1e-4}.items()
    assert set(ds.verdict.values.ravel()) <= {"pass", "none"} and set(ds.point_verdict.values.ravel()) == {"pass"}


def test_each_point_resolves_to_its_run(lab: Lab) -> None:
    ds = lab.sweep(HEAT, {"s": [0.2], "dt": DT})
    run_id = str(ds.run_id.sel(s=0.2, dt=2e-4).item())
    replayed = lab.replay(run_id, n=100)
    assert {b.sheet_run_id for b in replayed} == {run_id}
    assert [u.kind for u in lab.qfc(f"qfc::{run_id}")][:2] == ["qpu_cell_update", "qpu_sheet_metrics"]
    ingest_u = next(b for b in replayed if b.result.get("name") == "u")
    np.testing.assert_array_equal(lab.vault.load(ingest_u.result["vault_ref"]).values, ds.u0.sel(s=0.2, dt=2e-4))
    assert len(lab.store.rows("sqi_scores")) > 0 and lab.kg.query("ASK { ?a ?b ?c }")


def test_the_dataset_round_trips_through_netcdf(lab: Lab, tmp_path) -> None:
    ds = lab.sweep(HEAT, {"s": S, "dt": [1e-4]})
    path = tmp_path / "sweep.nc"
    ds.to_netcdf(path)
    back = xr.load_dataset(path)
    assert back.identical(ds)


VETO = """@grid x:-1..1:16, y:-1..1:16
u := sin(x) * cos(y)
w = u / s
n = ‖u‖
"""


def test_vetoed_points_are_masked_not_dropped(lab: Lab) -> None:
    ds = lab.sweep(VETO, {"s": [0.0, 2.0]})
    assert ds.sizes["s"] == 2
    X, Y = np.meshgrid(ds.x.values, ds.y.values, indexing="ij")
    np.testing.assert_allclose(ds.w.sel(s=2.0).values, np.sin(X) * np.cos(Y) / 2, rtol=1e-12)
    assert ds.w.sel(s=0.0).isnull().all()  # u/0 is not finite: SoulLaw vetoed it
    assert ds.verdict.sel(s=0.0, binding="w").item() == "veto" and ds.point_verdict.values.tolist() == ["veto", "pass"]
    assert ds.n.sel(s=0.0).item() == ds.n.sel(s=2.0).item()  # what did not use the vetoed name still ran
    vetoed = [b for b in lab.store.beams_for_run(str(ds.run_id.sel(s=0.0).item())) if b.verdict == "veto"]
    assert len(vetoed) == 1


def test_a_failing_point_keeps_its_error_beam_and_the_others_run(lab: Lab) -> None:
    scroll = "@grid x:-1..1:16, y:-1..1:16\nu := sin(x)\n⟲ N { u = u + 0.001*Δu }\n"
    ds = lab.sweep(scroll, {"N": [-1, 2]})
    assert ds.point_verdict.values.tolist() == ["error", "pass"]
    assert ds.error.sel(N=-1).item().startswith("CodexValueError: A loop count must be a whole number")
    assert ds.u.sel(N=-1).isnull().all() and not ds.u.sel(N=2).isnull().any()
    failed = lab.store.beams_for_run(str(ds.run_id.sel(N=-1).item()))
    assert [b.stage for b in failed] == ["error"]


def test_a_sweep_id_run_again_commits_nothing_twice(lab: Lab) -> None:
    first = lab.sweep(HEAT, {"s": S, "dt": [1e-4]}, sweep_id="study_1")
    counts = {t: len(lab.store.rows(t)) for t in ("beams", "sqi_scores", "metrics", "lineage_edges")}
    again = lab.sweep(HEAT, {"s": S, "dt": [1e-4]}, sweep_id="study_1")
    assert {t: len(lab.store.rows(t)) for t in counts} == counts
    assert again.run_id.values.tolist() == first.run_id.values.tolist()
    np.testing.assert_array_equal(again.u.values, first.u.values)


def test_progress_reaches_the_bus_as_a_live_qfc_envelope(lab: Lab) -> None:
    seen: list[dict] = []
    unsubscribe = lab.bus.subscribe(seen.append, {"qfc_update"})
    try:
        ds = lab.sweep(HEAT, {"s": [0.2], "dt": DT}, sweep_id="watched")
    finally:
        unsubscribe()
    mine = [e["payload"] for e in seen if e["payload"].get("run_id") == "watched"]
    assert all(p["kind"] == "qpu_beam_timeline" and p["live"] for p in mine)
    progress = [p["progress"] for p in mine if p["progress"] is not None]
    assert progress[0] == {"label": "sweep s × dt", "done": 0, "total": 2}
    assert progress[-1]["done"] == 2 and mine[-1]["progress"] is None  # finished: the bar goes away
    assert ds.attrs["sweep_id"] == "watched"


def test_bad_options_are_refused(lab: Lab) -> None:
    from codexlab.errors import CodexValueError

    with pytest.raises(CodexValueError, match=r"`sweep_id='a b'` should be 1–64 letters, digits or `_`"):
        lab.sweep(HEAT, {"s": [0.1]}, sweep_id="a b")
    with pytest.raises(CodexValueError, match=r"`threads` should be a whole number >= 1, got `0`"):
        lab.sweep(HEAT, {"s": [0.1]}, threads=0)
