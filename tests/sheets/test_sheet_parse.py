"""Sheets from `.codex` percent-format text and from notebooks' `%%codex` cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codexlab.errors import CodexValueError
from codexlab.qpu import Cell, Sheet, as_sheet, load_sheet, parse_sheet


def test_percent_cells_take_their_ids_and_file_lines() -> None:
    text = "# header comment\n\n# %% first\na := 1\n\n# %%\nb = a + 1\n# %% [markdown]\n# prose\n# %% third\n\nc = b\n"
    sheet = parse_sheet(text, name="s")
    assert sheet.ids == ["first", "cell_2", "third"]
    assert [c.line for c in sheet.cells] == [4, 7, 12]
    assert sheet["third"].code == "c = b\n"
    assert sheet["first"].where == "`first` (line 4)"
    assert sheet["third"].file_line(1) == 12


def test_text_without_markers_is_one_cell_and_code_before_the_first_marker_is_a_cell() -> None:
    assert parse_sheet("a := 1\nb = a\n").ids == ["cell_1"]
    assert parse_sheet("a := 1\n# %% next\nb = a\n").ids == ["cell_1", "next"]


def test_jupytext_metadata_after_the_title_is_not_part_of_the_id() -> None:
    assert parse_sheet('# %% load tags=["x"]\na := 1\n').ids == ["load"]


def test_bad_and_repeated_ids_are_refused_with_their_lines() -> None:
    with pytest.raises(CodexValueError, match=r"`load the field` \(line 2\) is not a cell id.*# %% load_the_field"):
        parse_sheet("# %% load the field\na := 1\n")
    with pytest.raises(CodexValueError, match=r"Two cells are called `a` \(`a` \(line 2\) and `a` \(line 4\)\)"):
        parse_sheet("# %% a\nx0 := 1\n# %% a\nx1 := 2\n")
    with pytest.raises(CodexValueError, match="has no code cells"):
        parse_sheet("# only a comment\n")


def _notebook(path: Path, cells: list[dict[str, object]]) -> Path:
    doc = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_notebook_codex_cells_become_a_sheet_with_their_options(tmp_path: Path) -> None:
    nb = _notebook(
        tmp_path / "n.ipynb",
        [
            {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": "# title"},
            {"cell_type": "code", "id": "py1", "metadata": {}, "source": "import numpy", "outputs": []},
            {"cell_type": "code", "id": "c1", "metadata": {}, "source": ["%%codex -c box --seed 4\n", "a := 1\n"]},
            {
                "cell_type": "code",
                "metadata": {},
                "source": "%%codex --precision fp32 --precisions --profile\nb = a + 1\n",
            },
        ],
    )
    sheet = load_sheet(nb)
    assert sheet.ids == ["c1", "cell_4"]
    assert sheet["c1"].code == "@seed 4\na := 1\n" and sheet["c1"].container == "box"
    assert sheet["cell_4"].code.startswith("@precision fp32\n") and sheet["cell_4"].profile
    assert sheet["c1"].line is None and sheet["c1"].where == "`c1`"
    with pytest.raises(CodexValueError, match="unrecognized arguments: --bogus"):
        load_sheet(_notebook(tmp_path / "bad.ipynb", [{"cell_type": "code", "source": "%%codex --bogus\na := 1"}]))


def test_as_sheet_takes_paths_text_and_dicts(tmp_path: Path) -> None:
    file = tmp_path / "s.codex"
    file.write_text("# %% one\na := 1\n", encoding="utf-8")
    assert as_sheet(file).ids == ["one"] and as_sheet(file).name == "s"
    assert as_sheet(str(file)).path == file
    assert as_sheet("# %% one\na := 1\n").ids == ["one"]
    assert as_sheet({"x1": "a := 1", "x2": "b = a"}).cells == (Cell("x1", "a := 1"), Cell("x2", "b = a"))
    sheet = Sheet((Cell("only", "a := 1"),))
    assert as_sheet(sheet) is sheet
    with pytest.raises(CodexValueError, match="is not a file"):
        as_sheet(str(tmp_path / "missing.codex"))
    with pytest.raises(CodexValueError, match="not `int`"):
        as_sheet(3)  # type: ignore[arg-type]
