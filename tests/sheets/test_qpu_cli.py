"""`codexlab sheet run` and `python -m codexlab.qpu` (the plan's smoke run), the latter by subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from codexlab.cli import main

from .conftest import DIAMOND

REPO = Path(__file__).resolve().parents[2]


def _python(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CODEXLAB_HOME": str(home), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=home.parent, timeout=600, check=False
    )


@pytest.fixture
def sheet_file(tmp_path: Path) -> Path:
    path = tmp_path / "diamond.codex"
    path.write_text(DIAMOND, encoding="utf-8")
    return path


def test_python_m_qpu_runs_a_sheet_file_and_reuses_it_in_a_new_process(tmp_path: Path, sheet_file: Path) -> None:
    home = tmp_path / "home"
    first = _python("-m", "codexlab.qpu", str(sheet_file), "--jobs", "2", "--json", home=home)
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["ran"] == ["grid", "f", "g", "lap", "grad", "mix", "loop"] and doc["reused"] == []
    assert doc["values"]["m"]["kind"] == "number" and doc["metrics"]["jobs"] == 2
    second = _python("-m", "codexlab.qpu", str(sheet_file), "--json", home=home)
    again = json.loads(second.stdout)
    assert again["ran"] == [] and again["reused"] == doc["ran"]
    assert again["values"]["m"] == doc["values"]["m"]
    assert all(c["reused_run_id"] == doc["cells"][cid]["run_id"] for cid, c in again["cells"].items())


def test_python_m_qpu_without_a_file_runs_a_single_cell_and_a_small_sheet(tmp_path: Path) -> None:
    done = _python("-m", "codexlab.qpu", home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith("single cell:\nsheet sheet · 1 cells")
    assert "sheet (first run):" in out and "4 cells ran, 0 reused" in out
    assert "sheet (second run: every cell reused):" in out and "0 cells ran, 4 reused" in out
    assert "critical path: field → " in out


def test_codexlab_sheet_run_prints_what_ran_and_what_was_reused(
    tmp_path: Path, sheet_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(tmp_path / "home")
    assert main(["sheet", "run", str(sheet_file), "--home", home, "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "sheet diamond · 7 cells · container default_container · jobs 2" in out
    assert "[ran    ] mix" in out and "7 cells ran, 0 reused" in out
    assert main(["sheet", "run", str(sheet_file), "--home", home]) == 0
    out = capsys.readouterr().out
    assert "[cached ] mix" in out and "(reused run " in out and "0 cells ran, 7 reused" in out
    assert main(["sheet", "run", str(sheet_file), "--home", home, "--no-cache"]) == 0
    assert "7 cells ran, 0 reused" in capsys.readouterr().out


def test_codexlab_sheet_run_reports_a_cycle_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "cycle.codex"
    path.write_text("# %% p\na = b\n# %% q\nb = a\n", encoding="utf-8")
    assert main(["sheet", "run", str(path), "--home", str(tmp_path / "home")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("SheetError: Cells `p` (line 2) and `q` (line 4) depend on each other")
