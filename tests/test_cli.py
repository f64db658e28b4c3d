"""The `codexlab` command: run, flags, schemas, replay, verify."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from codexlab.cli import main

REPO = Path(__file__).resolve().parents[1]
SCROLL = "@grid x:-1..1:32, y:-1..1:32\n@seed 5\nψ := gaussian(x, y, σ=0.2)\nL = ∇·∇ψ\nm = ⧖ψ\n"


@pytest.fixture
def scroll(tmp_path):
    path = tmp_path / "s.codex"
    path.write_text(SCROLL, encoding="utf-8")
    return path


def test_run_prints_statements_photon_ir_and_ids(scroll, tmp_path, capsys):
    assert main(["run", str(scroll), "--home", str(tmp_path / "home")]) == 0
    out = capsys.readouterr().out
    assert "L = ∇·∇ψ" in out and "Photon IR" in out
    assert "derivation of L" in out and "Δψ" in out
    assert "GHX replay id:" in out
    ghx = out.split("GHX replay id:")[1].split()[0]
    assert main(["replay", ghx, "--home", str(tmp_path / "home"), "-n", "3"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3


def test_run_json_lists_values_derivations_and_beams(scroll, tmp_path, capsys):
    assert main(["run", str(scroll), "--json", "--home", str(tmp_path / "home")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["values"]["L"]["kind"] == "field" and data["values"]["L"]["shape"] == [32, 32]
    assert data["values"]["m"]["kind"] == "measurement" and len(data["values"]["m"]["outcome"]) == 2
    assert any(s["rule"] == "div_grad" for s in data["derivations"]["L"])
    assert data["beams"] and data["ghx_id"]


def test_flags_shows_value_and_source(capsys, monkeypatch):
    monkeypatch.setenv("QKD_ON", "yes")
    assert main(["flags"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("QKD_ON"))
    assert "environment" in line and "true" in line.lower()


def test_schemas_export_matches_the_committed_files(tmp_path, capsys):
    assert main(["schemas", "--dest", str(tmp_path)]) == 0
    for exported in tmp_path.glob("*.json"):
        committed = REPO / "data" / "schemas" / exported.name
        assert committed.read_text() == exported.read_text(), f"{exported.name} is stale; run `codexlab schemas`"


def test_verify_reports_an_intact_chain_then_a_broken_one(scroll, tmp_path, capsys):
    home = tmp_path / "home"
    assert main(["run", str(scroll), "--home", str(home)]) == 0
    assert main(["verify", "--home", str(home)]) == 0
    import sqlite3

    with sqlite3.connect(home / "beams.db") as db:
        db.execute("UPDATE beam_events SET token = 'Δ' WHERE rowid = (SELECT MAX(rowid) FROM beam_events)")
    capsys.readouterr()
    assert main(["verify", "--home", str(home)]) == 1
    assert "broken" in capsys.readouterr().out


def test_missing_file_is_one_clear_line(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.codex")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a file" in err[0]


def test_console_script_is_installed(tmp_path):
    exe = Path(sys.executable).with_name("codexlab")
    proc = subprocess.run([str(exe), "flags"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "QWAVE_EXEC_ON" in proc.stdout


def test_cells_with_auto_fuse_print_accepted_repairs_and_a_fusion(tmp_path, capsys):
    home = tmp_path / "home"
    spe = REPO / "data" / "scrolls" / "spe.codex"
    assert main(["run", str(spe), "--home", str(home), "--quiet", "--flag", "SPE_AUTO_FUSE=1"]) == 0
    out = capsys.readouterr().out
    assert "6 cells" in out and "mutations of container spe:" in out
    assert "repair accepted" in out and "define_name" in out
    # kept or dropped by its measured speedup (a timing; see test_fusion_runtime for the rule itself)
    assert re.search(r"fusion (accepted|rejected) ∇ → • → \+ → fuse_[0-9a-f]+", out)
    assert main(["run", str(spe), "--home", str(tmp_path / "h2"), "--flag", "NOPE"]) == 2
