"""Repairs: a missing name is renamed (never defined), predicted qscores are ranked, every patch parses."""

from __future__ import annotations

from codexlab.lang import parse
from codexlab.lang.scrolls import ScrollLibrary
from codexlab.patterns import repair_from_drift
from codexlab.sqi.drift import DriftComponent, DriftReport, Gap


def _library(tmp_path) -> ScrollLibrary:
    (tmp_path / "shapes.codex").write_text(
        "@grid x:-1..1:32, y:-1..1:32\nσ0 := 0.1\ngauss := gaussian(x, y, σ=σ0)\nwind := [-y, x]\n",
        encoding="utf-8",
    )
    return ScrollLibrary([tmp_path], user_dir=tmp_path / "user")


def test_a_library_definition_of_an_undefined_name_is_only_a_proposal(tmp_path) -> None:
    scroll = "@grid x:-1..1:64, y:-1..1:64\nf := gaussian(x, y, σ=0.2)\nL = Δgaus + f\n"
    report = DriftReport(gaps=(Gap.missing_dependency(["gaus"]),))
    cands = repair_from_drift(report, scroll, _library(tmp_path), memory_names=["f"])
    assert cands
    top = cands[0]
    assert top.kind == "propose_definition" and top.proposal and "not applied" in top.description
    statements = parse(top.patched_scroll).statements
    defined = [s.name for s in statements if hasattr(s, "name") and s.__class__.__name__ == "Definition"]
    assert "gaus" in defined and "σ0" in defined
    assert defined.index("gaus") < [getattr(s, "name", None) for s in statements].index("L")


def test_an_earlier_name_is_a_rename_of_every_use(tmp_path) -> None:
    scroll = "@grid x:-1..1:64, y:-1..1:64\nL = Δpsi1 + psi1*2\n"
    report = DriftReport(gaps=(Gap.missing_dependency(["psi1"]),))
    cands = repair_from_drift(report, scroll, _library(tmp_path), memory_names=["psi0"])
    (rename,) = [c for c in cands if c.kind == "rename"]
    assert not rename.proposal and "`psi0`" in rename.description
    assert "psi1" not in rename.patched_scroll and rename.patched_scroll.count("psi0") == 2
    statements = parse(rename.patched_scroll).statements
    assert not [s for s in statements if s.__class__.__name__ == "Definition"]  # nothing new is defined


def test_discretization_candidates_are_ranked_and_parse(tmp_path) -> None:
    scroll = "@grid x:-1..1:64, y:-1..1:64\n@precision fp32\nf := gaussian(x, y, σ=0.2)\nL = Δf\n"
    report = DriftReport(components=(DriftComponent("discretization", 0.05), DriftComponent("precision", 0.01)))
    cands = repair_from_drift(report, scroll, _library(tmp_path))
    kinds = {c.kind for c in cands}
    assert {"fd_order", "finer_grid", "spectral", "precision", "exact"} <= kinds
    scores = [c.predicted_qscore for c in cands]
    assert scores == sorted(scores, reverse=True)
    for c in cands:
        parse(c.patched_scroll)
    by = {c.kind: c for c in cands}
    assert "@method fd4" in by["fd_order"].patched_scroll
    assert "x:-1..1:128" in by["finer_grid"].patched_scroll
    assert abs(by["finer_grid"].predicted_drift - 0.05 / 4) < 1e-12
    assert "@precision fp64" in by["precision"].patched_scroll
    assert "@method exact" in by["exact"].patched_scroll and not any(c.proposal for c in cands)
    assert by["fd_order"].predicted_qscore > by["finer_grid"].predicted_qscore


def test_no_spectral_on_a_dirichlet_grid(tmp_path) -> None:
    scroll = "@grid x:-1..1:64, y:-1..1:64, bc=dirichlet\nf := gaussian(x, y, σ=0.2)\nL = Δf\n"
    report = DriftReport(components=(DriftComponent("discretization", 0.05),))
    kinds = {c.kind for c in repair_from_drift(report, scroll, _library(tmp_path))}
    assert "spectral" not in kinds and "fd_order" in kinds


def test_a_cell_without_directives_is_repaired_on_the_containers_settings(tmp_path) -> None:
    from codexlab.patterns import CellSettings
    from codexlab.qwave.grid import Grid

    grid = Grid.from_spec([("x", 0.0, 2.0, 40), ("y", 0.0, 1.0, 20)], {"x": "periodic", "y": "dirichlet"})
    report = DriftReport(components=(DriftComponent("discretization", 0.05),))
    fd2 = CellSettings.of(grid, method="fd2", precision="fp32")
    by = {c.kind: c for c in repair_from_drift(report, "L = Δf\n", _library(tmp_path), settings=fd2)}
    h = max(2 / 40, 1 / 19)  # periodic x: L/n; dirichlet y: L/(n − 1)
    assert abs(by["fd_order"].predicted_drift - 0.05 * h**2) < 1e-15
    assert "finer_grid" not in by  # a cell on its container's grid cannot change it alone
    assert "spectral" not in by  # y is not periodic
    assert "@precision fp64" in by["precision"].patched_scroll  # the container computes in fp32
    fd4 = CellSettings.of(grid, method="fd4", precision="fp64")
    kinds = {c.kind for c in repair_from_drift(report, "L = Δf\n", _library(tmp_path), settings=fd4)}
    assert "fd_order" not in kinds and "precision" not in kinds and "exact" in kinds
    own = "@grid x:0..2:40, y:0..1:20, bc_y=dirichlet\nf := x\nL = Δf\n"
    finer = {c.kind: c for c in repair_from_drift(report, own, _library(tmp_path), settings=fd2)}["finer_grid"]
    assert "x:0..2:80" in finer.patched_scroll and "y:0..1:40" in finer.patched_scroll
