"""The VM's surfaces: `python -m codexlab.vcpu` (subprocess), `codexlab run --profile`, `%%codex --profile`
and the `%codex debug` panel's Python side (its buttons advance the debugger)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from IPython.core.interactiveshell import InteractiveShell

from codexlab.cli import main
from codexlab.hud.debug_panel import DebugPanel, register_rows
from codexlab.magics import CodexMagic

REPO = Path(__file__).resolve().parents[2]
SCROLL = "@grid x:0..1:16, y:0..1:16\nu = sin(2*x)\n⟲ 2 { u = u + 0.001*Δu }\nm = ‖u‖\n"


def test_python_m_vcpu_prints_program_and_profile(tmp_path: Path) -> None:
    path = tmp_path / "s.codex"
    path.write_text(SCROLL, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for args in ([str(path), "--home", str(tmp_path / "home")], []):
        done = subprocess.run(
            [sys.executable, "-m", "codexlab.vcpu", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "FUSED" in done.stdout and "ENDLOOP" in done.stdout
        assert "instructions executed in" in done.stdout and "NumPy copy bandwidth" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "codexlab.vcpu", str(tmp_path / "missing.codex")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert bad.returncode == 2 and "is not a file" in bad.stderr


def test_codexlab_run_profile_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "s.codex"
    path.write_text(SCROLL, encoding="utf-8")
    assert main(["run", str(path), "--profile", "--quiet", "--home", str(tmp_path / "home")]) == 0
    out = capsys.readouterr().out
    table = out[out.index("instructions executed in") :]
    # 2 iterations of the body: its fused group ran twice.
    assert any(line.split()[2:4] == ["FUSED", "2"] for line in table.splitlines()[3:])


@pytest.fixture(scope="module")
def ip(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteractiveShell]:
    shell = InteractiveShell.instance()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CODEXLAB_HOME", str(tmp_path_factory.mktemp("codexhome")))
        shell.register_magics(CodexMagic(shell))
        yield shell


def test_codex_cell_profile_prints_the_table(ip: InteractiveShell) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = ip.run_cell(f"%%codex --profile --no-hud\n{SCROLL}")
    assert result.error_in_exec is None
    assert "instructions executed in" in out.getvalue()
    magic = ip.magics_manager.registry["CodexMagic"]
    assert magic.last_profile.run is magic.last_run
    np.testing.assert_allclose(float(ip.user_ns["m"]), float(magic.last_run.values["m"]))


def test_debug_panel_buttons_advance_the_debugger(ip: InteractiveShell) -> None:
    ip.user_ns["heat"] = SCROLL
    widget = ip.run_line_magic("codex", "debug heat -b 4")
    panel = ip.magics_manager.registry["CodexMagic"].last_debug
    assert isinstance(panel, DebugPanel) and widget is panel.widget
    debugger = panel.debugger
    panel.buttons["step"].click()
    assert debugger.current.ip == 0 and debugger.current.opcode == "DIRECTIVE"
    panel.buttons["step"].click()
    panel.buttons["step"].click()
    assert debugger.current.ip == 2 and panel.listing.value.split("→")[1].splitlines()[0].split()[1:] == [
        "CONST",
        "r1",
        "←",
        "x",
    ]
    panel.buttons["cont"].click()
    assert debugger.stop.reason == "breakpoint" and debugger.line == 4
    # The selected register's heatmap is its values (transposed: rows of z run along y).
    panel.buttons["step"].click()
    name = panel.select.value
    heat = panel.figure.data[0]
    np.testing.assert_allclose(np.asarray(heat.z), debugger.registers[name].values.T)
    rows = {r["register"]: r for r in register_rows(debugger.registers)}
    assert rows[name]["max"] == pytest.approx(float(np.max(debugger.registers[name].values)))
    assert name in panel.table.value
    panel.buttons["cont"].click()
    assert debugger.finished and panel.buttons["step"].disabled
    assert "finished" in panel.status.value
