"""Long Python-side loops show a tqdm progress bar unless the Lab's `progress` is off (CLI --quiet/--json)."""

from __future__ import annotations

from codexlab import Lab

LOOP = """@grid x:-1..1:16, y:-1..1:16
u := gaussian(x, y, σ=0.3)
⟲ until ‖u - v‖ < 1e-30 max 60 { v = u; u = relax(u) }
"""


def test_a_long_loop_shows_progress(tmp_path, capsys) -> None:
    lab = Lab(home=tmp_path / "home")
    lab.run(LOOP)
    assert "⟲ until (max 60)" in capsys.readouterr().err


def test_progress_off_prints_nothing(tmp_path, capsys) -> None:
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    lab.run(LOOP)
    assert "⟲" not in capsys.readouterr().err
