"""QKD_ON: entangled beams carry BB84-keyed signatures that SoulLaw and `codexlab verify` check."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from codexlab import Lab
from codexlab.cli import main
from codexlab.runtime.integrity import QKD_FIELD, verify_entangled_signatures
from codexlab.sqi.qkd import QKDAbort

PAIR = """@grid x:-1..1:16, y:-1..1:16
@seed 11
a := gaussian(x, y, x0=-0.3, σ=0.15)
b := gaussian(x, y, x0=0.3, σ=0.15)
a ↔ b
M = ⧖a
"""


def test_entangled_beams_are_signed_and_pass_the_signature_law(tmp_path: Path) -> None:
    lab = Lab(home=tmp_path / "home", flags={"QKD_ON": True})
    run = lab.run(PAIR)
    signed = [b for b in run.beams if QKD_FIELD in b.result]
    assert signed and all(b.eid for b in signed)
    assert {b.beam_id for b in signed} == {b.beam_id for b in run.beams if b.eid}
    assert all(b.result[QKD_FIELD]["qber"] == 0.0 for b in signed)
    laws = [v for v in run.verdicts if v.law == "qkd_signature"]
    assert len(laws) == len(signed) and all(v.outcome == "pass" for v in laws)
    assert verify_entangled_signatures(lab.store.beams_for_run(run.run_id)) == []


def test_without_the_flag_nothing_is_signed(tmp_path: Path) -> None:
    run = Lab(home=tmp_path / "home").run(PAIR)
    assert not any(QKD_FIELD in b.result for b in run.beams)


def test_a_tampered_signed_beam_fails_verification(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    run = Lab(home=home, flags={"QKD_ON": True}).run(PAIR)
    assert main(["verify", "--home", str(home)]) == 0
    assert "QKD signatures verify" in capsys.readouterr().out
    target = next(b for b in run.beams if QKD_FIELD in b.result)
    tampered = target.evolve(result={**target.result, "probability": 0.5})
    problems = verify_entangled_signatures([tampered])
    assert len(problems) == 1 and target.beam_id in problems[0]
    assert verify_entangled_signatures([target.evolve(qscore=0.1)]) == []
    with sqlite3.connect(home / "beams.db") as db:
        row = db.execute("SELECT result FROM beam_events WHERE beam_id = ?", (target.beam_id,)).fetchone()
        result = json.loads(row[0])
        result[QKD_FIELD]["signature"] = "0" * 64
        db.execute("UPDATE beam_events SET result = ? WHERE beam_id = ?", (json.dumps(result), target.beam_id))
    assert main(["verify", "--home", str(home)]) == 1
    assert "QKD signature does not match" in capsys.readouterr().out


def test_an_eavesdropper_aborts_the_exchange_and_the_cell(tmp_path: Path) -> None:
    lab = Lab(home=tmp_path / "home", flags={"QKD_ON": True})
    lab.configure("spy", qkd_eavesdropper=True)
    with pytest.raises(QKDAbort, match="QBER"):
        lab.run(PAIR, "spy")
    stored = lab.store.rows("beams")
    assert [r["stage"] for r in stored] == ["error"]
