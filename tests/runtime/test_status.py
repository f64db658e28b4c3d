"""`lab.status`: CLOSED, OPEN and DRIFTING from drift and gap weights, per container."""

from __future__ import annotations

import pytest

from codexlab.errors import CodexNameError

GRID = "@grid x:-1..1:64, y:-1..1:64\n"


def test_a_smooth_cell_closes_the_container(lab) -> None:
    lab.run(GRID + "@method fd2\nu := gaussian(x, y, σ=0.2)\nL = Δu\n", "smooth")
    report = lab.status("smooth")
    assert report.status == "CLOSED" and report.gap_weight == 0 and report.drift is not None
    assert report.drift <= 1e-2


def test_an_unknown_name_opens_it_and_three_gaps_make_it_drift(lab) -> None:
    lab.run(GRID + "u := gaussian(x, y, σ=0.2)\n", "c")
    with pytest.raises(CodexNameError):
        lab.run("L = Δv\n", "c", cell_id="bad1")
    report = lab.status("c")
    assert report.status == "OPEN"
    assert report.gaps[0]["kind"] == "missing_dependency" and "`v`" in report.gaps[0]["detail"]
    assert report.gap_weight == pytest.approx(1.25)
    with pytest.raises(CodexNameError):
        lab.run("M = Δw\n", "c", cell_id="bad2")
    with pytest.raises(CodexNameError):
        lab.run("N = Δq\n", "c", cell_id="bad3")
    report = lab.status("c")
    assert report.status == "DRIFTING" and report.gap_weight == pytest.approx(3 * 1.25)
    assert "DRIFTING" in str(report)


def test_rerunning_a_cell_replaces_its_gaps(lab) -> None:
    lab.run(GRID + "u := gaussian(x, y, σ=0.2)\n", "r")
    with pytest.raises(CodexNameError):
        lab.run("L = Δv\n", "r", cell_id="fixme")
    assert lab.status("r").status == "OPEN"
    lab.run("L = Δu\n", "r", cell_id="fixme")
    assert lab.status("r").status == "CLOSED"
