"""A failing cell stops the sheet with a `SheetError` that names it at its file line; the cells that
finished stay in the container and the cache, so a rerun after the fix reuses them."""

from __future__ import annotations

import pytest

from codexlab.errors import CodexNameError, SheetError
from codexlab.qpu import SheetRun
from codexlab.runtime import Lab

SHEET = """\
# %% grid
@grid x:-1..1:16, y:-1..1:16

# %% f
f := gaussian(x, y, σ=0.3)

# %% broken
B = f + nothing_here

# %% after
C = B * 2

# %% side
S = f * 3
"""


def test_a_failed_cell_is_named_at_its_file_line_and_its_dependants_do_not_run(lab: Lab) -> None:
    with pytest.raises(
        SheetError, match=r"Cell `broken` \(line 8\) failed at line 8: CodexNameError: `nothing_here` is not defined"
    ) as err:
        lab.run_sheet(SHEET, jobs=2)
    assert isinstance(err.value.__cause__, CodexNameError)
    assert "`after` did not run" in str(err.value)
    partial = err.value.sheet_run
    assert isinstance(partial, SheetRun)
    assert partial.cells["broken"].status == "failed" and partial.cells["after"].status == "not run"
    assert "f" in lab.container().names
    errors = [r for r in lab.store.rows("beams") if r["stage"] == "error"]
    assert [r["cell_id"] for r in errors] == ["broken"]


def test_after_the_fix_the_finished_cells_are_reused(lab: Lab) -> None:
    with pytest.raises(SheetError):
        lab.run_sheet(SHEET, jobs=1)
    fixed = lab.run_sheet(SHEET.replace("f + nothing_here", "f + 1"), jobs=1)
    assert {"grid", "f"} <= set(fixed.reused)
    assert {"broken", "after"} <= set(fixed.ran)


def test_a_sheet_runs_in_one_container(lab: Lab) -> None:
    with pytest.raises(SheetError, match=r"Cells `a` \(line 2\) and `b` \(line 5\) select different containers"):
        lab.run_sheet("# %% a\n@container one\nx0 := 1\n# %% b\n@container two\nx1 := 2\n")
    with pytest.raises(SheetError, match=r"selects container `one` but the sheet runs in `three`"):
        lab.run_sheet("# %% a\n@container one\nx0 := 1\n", container="three")
    result = lab.run_sheet("# %% a\n@container one\nx0 := 1\n# %% b\nx1 = x0 + 1\n")
    assert result.container_id == "one" and lab.container("one").names == ["x0", "x1"]


def test_an_error_with_a_line_is_shown_at_the_file_line(lab: Lab) -> None:
    from codexlab.errors import CodexValueError
    from codexlab.qpu import build_graph, parse_sheet
    from codexlab.qpu.result import SheetRun
    from codexlab.qpu.runner import _failure

    graph = build_graph(parse_sheet("# %% ok\nx0 := 1\n\n# %% bad\nx1 := 2\nx2 = x1\n"))
    partial = SheetRun("r", "sheet", "box", 1, {}, graph.order)
    err = _failure(graph, partial, "bad", CodexValueError("`x2` is wrong.", line=2, column=1))
    assert isinstance(err, SheetError) and err.line == 6
    assert str(err).startswith("Cell `bad` (line 5) failed at line 6: CodexValueError: `x2` is wrong;")
