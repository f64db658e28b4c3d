"""Stale cells: a cell that read a name a later cell redefined is stale; `rerun_stale` runs the stale
cells again in the order they first ran; the HUD's panel data carries the stale list."""

from __future__ import annotations

import contextlib
import io

import numpy as np
from IPython.core.interactiveshell import InteractiveShell

from codexlab.hud.panels import panels_from_updates
from codexlab.magics import CodexMagic
from codexlab.runtime import Lab

GRID = "@grid x:-1..1:16, y:-1..1:16\n"


def test_redefining_a_name_marks_its_readers_stale_and_rerun_refreshes_them_in_order(lab: Lab) -> None:
    lab.run(GRID + "a := gaussian(x, y, σ=0.3)", container="nb")
    reader = lab.run("b = a * 2", container="nb")
    chained = lab.run("c = b + 1", container="nb")
    other = lab.run("d = a * 0 + 5", container="nb")
    assert lab.stale_cells("nb") == {}
    lab.run("a := gaussian(x, y, σ=0.2)", container="nb")
    assert lab.stale_cells("nb") == {reader.cell_id: ["a"], other.cell_id: ["a"]}
    runs = lab.rerun_stale("nb")
    # `b` changed when its cell re-ran, so `c`'s cell went stale too; cells re-run in their first-run order
    assert [r.cell_id for r in runs] == [reader.cell_id, chained.cell_id, other.cell_id]
    a = lab.memory("nb").bindings["a"].value.data.values
    assert np.array_equal(lab.memory("nb").bindings["b"].value.data.values, a * 2)
    assert np.array_equal(lab.memory("nb").bindings["c"].value.data.values, a * 2 + 1)
    assert lab.stale_cells("nb") == {}


def test_the_same_code_run_again_replaces_its_older_record(lab: Lab) -> None:
    lab.run(GRID + "a := gaussian(x, y, σ=0.3)", container="nb")
    lab.run("b = a * 2", container="nb")
    lab.run("b = a * 2", container="nb")
    lab.run("a := gaussian(x, y, σ=0.2)", container="nb")
    assert len(lab.stale_cells("nb")) == 1


def test_the_hud_marks_the_stale_cells_after_a_redefining_run(lab: Lab) -> None:
    from codexlab.hud import Hud

    lab.run(GRID + "a := gaussian(x, y, σ=0.3)", container="nb")
    reader = lab.run("b = a * 2", container="nb")
    hud = Hud(lab, "nb").follow()
    try:
        lab.run("a := gaussian(x, y, σ=0.2)", container="nb")  # followed live: the panel updates at once
        live = hud.panels["sheet"]
        assert live["stale"] == [reader.cell_id]
        row = next(r for r in live["container_cells"] if r["cell_id"] == reader.cell_id)
        assert row["status"] == "stale" and row["changed"] == ["a"] and row["reads"] == ["a"]
        refreshed = lab.rerun_stale("nb")[-1]
    finally:
        hud.unfollow()
    assert Hud(lab, "nb").update(refreshed).panels["sheet"]["stale"] == []
    assert panels_from_updates(lab.qfc(refreshed.qfc_id), "nb")["sheet"] == {}  # the run's payloads: no sheet


def test_sheet_cells_go_stale_when_a_notebook_cell_redefines_their_input(lab: Lab) -> None:
    lab.run_sheet("# %% make\n" + GRID + "a := gaussian(x, y, σ=0.3)\n# %% use\nb = a * 2\n", container="nb")
    lab.run("a := gaussian(x, y, σ=0.2)", container="nb")
    assert list(lab.stale_cells("nb")) == ["use"]
    (run,) = lab.rerun_stale("nb")
    assert run.cell_id == "use" and lab.stale_cells("nb") == {}


def test_codex_rerun_magic_reruns_and_binds(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CODEXLAB_HOME", str(tmp_path / "home"))
    shell = InteractiveShell.instance()
    shell.register_magics(CodexMagic(shell))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for cell in (GRID + "a := gaussian(x, y, σ=0.3)", "b = a * 2", "a := gaussian(x, y, σ=0.2)"):
            assert shell.run_cell(f"%%codex --no-hud\n{cell}").error_in_exec is None
        shell.run_line_magic("codex", "rerun")
        shell.run_line_magic("codex", "rerun")
    text = out.getvalue()
    assert "re-ran cell_" in text and "(it read `a`): b" in text
    assert "no stale cells in container `default_container`" in text
    assert np.array_equal(shell.user_ns["b"].values, shell.user_ns["a"].values * 2)


def test_a_lab_recreated_with_new_flags_keeps_the_stale_record(lab: Lab) -> None:
    lab.run(GRID + "a := gaussian(x, y, σ=0.3)", container="nb")
    reader = lab.run("b = a * 2", container="nb")
    lab.run("a := gaussian(x, y, σ=0.2)", container="nb")
    fresh = Lab(home=lab.home, flags={"QKD_ON": True})  # what `%codex flags` does
    fresh.adopt(lab)
    assert list(fresh.stale_cells("nb")) == [reader.cell_id]
