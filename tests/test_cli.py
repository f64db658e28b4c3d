"""The `codexlab` command: run, flags, schemas, replay, verify."""

from __future__ import annotations

import json
import re
import sqlite3
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
    capsys.readouterr()
    assert main(["verify", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    intact = r"intact: 1 run, \d+ beams and 1 anchors checked with chain key `[0-9a-f]{16}` \(.*chain\.key\)"
    assert re.match(intact, out)
    with sqlite3.connect(home / "beams.db") as db:
        db.execute("UPDATE beam_events SET token = 'Δ' WHERE rowid = (SELECT MAX(rowid) FROM beam_events)")
    assert main(["verify", "--home", str(home)]) == 1
    assert "integrity broken: run `" in capsys.readouterr().out


def test_verify_finds_a_reapproved_veto_and_a_deleted_run(tmp_path, capsys):
    home = tmp_path / "home"
    veto = tmp_path / "veto.codex"
    veto.write_text("@grid x:-1..1:8\nf0 := x - x\nQ = log(f0)\n", encoding="utf-8")
    plain = tmp_path / "plain.codex"
    plain.write_text("a = 1 + 2\n", encoding="utf-8")
    for scroll in (veto, plain, plain):
        assert main(["run", str(scroll), "--home", str(home), "--json"]) == 0
    runs = [json.loads(chunk)["run_id"] for chunk in _json_chunks(capsys.readouterr().out)]
    with sqlite3.connect(home / "beams.db") as db:
        assert db.execute("SELECT count(*) FROM beam_events WHERE verdict = 'veto'").fetchone()[0] >= 1
        db.execute("UPDATE beam_events SET verdict = 'pass' WHERE verdict = 'veto'")
    assert main(["verify", "--home", str(home)]) == 1
    assert f"integrity broken: run `{runs[0]}`: beam" in capsys.readouterr().out
    assert main(["verify", "--home", str(home), "--run", runs[1]]) == 0
    capsys.readouterr()
    with sqlite3.connect(home / "beams.db") as db:  # the newest run, beams and anchor both
        db.execute("DELETE FROM beam_events WHERE sheet_run_id = ?", (runs[2],))
        db.execute("DELETE FROM run_anchors WHERE sheet_run_id = ?", (runs[2],))
    assert main(["verify", "--home", str(home), "--run", runs[1]]) == 1
    assert "the newest run(s) were deleted together with their anchors" in capsys.readouterr().out


def test_verify_of_an_unknown_run_is_an_error(scroll, tmp_path, capsys):
    home = tmp_path / "home"
    assert main(["run", str(scroll), "--home", str(home)]) == 0
    capsys.readouterr()
    assert main(["verify", "--home", str(home), "--run", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("StoreError: No run `nope` in the store at")


def test_any_printable_container_id_runs_whole(scroll, tmp_path, capsys):
    home = tmp_path / "home"
    assert main(["run", str(scroll), "--home", str(home), "--container", "my lab / ü:1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["container"] == "my lab / ü:1"
    assert main(["qfc", data["qfc_id"], "--home", str(home), "--json"]) == 0
    envelopes = json.loads(capsys.readouterr().out)
    assert {e["source"] for e in envelopes} == {"container::my lab / ü:1"}
    assert main(["verify", "--home", str(home)]) == 0
    capsys.readouterr()
    rows = main(["kg", "query", "--home", str(home), "SELECT DISTINCT ?c WHERE { ?a cx:container ?c }"])
    assert rows == 0 and "my lab / ü:1" in capsys.readouterr().out
    assert main(["run", str(scroll), "--home", str(home), "--container", "tab\there"]) == 2
    assert "holds the unprintable character '\\t'" in capsys.readouterr().err
    with sqlite3.connect(home / "beams.db") as db:  # the refused run left nothing behind
        assert db.execute("SELECT count(DISTINCT sheet_run_id) FROM beam_events").fetchone()[0] == 1


def _json_chunks(text):
    """The JSON documents `codexlab run --json` printed one after another."""
    decoder, position, out = json.JSONDecoder(), 0, []
    while position < len(text.rstrip()):
        start = text.index("{", position)
        value, position = decoder.raw_decode(text, start)
        out.append(json.dumps(value))
    return out


def test_missing_file_is_one_clear_line(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.codex")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not a file" in err[0]


def test_a_file_that_is_not_utf8_is_one_sentence_with_the_byte_offset(tmp_path, capsys):
    bad = tmp_path / "bad.codex"
    bad.write_bytes("a = 1\nb = ψ + ".encode() + b"\xff\n")
    offset = bad.read_bytes().index(b"\xff")
    assert main(["run", str(bad), "--home", str(tmp_path / "h")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("CodexValueError:") and len(err.splitlines()) == 1
    assert f"`{bad}`" in err and f"byte {offset}" in err and "(line 2, column" in err


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
    assert "repair accepted" in out and "rename" in out
    # kept by its traffic gain (∇, •, + fused move 64 bytes a point instead of 16: a static fact)
    assert re.search(r"fusion accepted ∇ → • → \+ → fuse_[0-9a-f]+", out)
    assert main(["run", str(spe), "--home", str(tmp_path / "h2"), "--flag", "NOPE"]) == 2
