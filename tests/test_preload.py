"""`%load_ext codexlab` warms the kernel in the background: imports only, no deadlock with a cell that
comes at once, and off with `CODEXLAB_PRELOAD=0`. Each case runs in a fresh interpreter."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_SHELL = textwrap.dedent(
    """
    import sys, threading
    from IPython.core.interactiveshell import InteractiveShell
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "codexlab")
    threads = [t for t in threading.enumerate() if t.name == "codexlab-preload"]
    """
)


def _python(code: str, tmp_path: Path, **env: str) -> str:
    environ = {**os.environ, "CODEXLAB_HOME": str(tmp_path / "home"), "CODEXLAB_CACHE_DIR": str(tmp_path / "c"), **env}
    out = subprocess.run(
        [sys.executable, "-c", _SHELL + textwrap.dedent(code)], env=environ, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_load_ext_imports_the_runtime_in_the_background(tmp_path: Path) -> None:
    out = _python(
        """
        assert len(threads) == 1
        threads[0].join(timeout=240)
        print(not threads[0].is_alive(), all(m in sys.modules for m in ("jax", "sympy", "codexlab.runtime")))
        """,
        tmp_path,
    )
    assert out.split() == ["True", "True"]


def test_a_cell_right_after_load_ext_runs_while_the_preload_is_importing(tmp_path: Path) -> None:
    out = _python(
        """
        result = shell.run_cell("%%codex --no-hud\\nu := x^2 + y^2\\nL = Δu\\n")
        assert result.error_in_exec is None, result.error_in_exec
        print(float(shell.user_ns["L"].values.mean()))
        """,
        tmp_path,
    )
    assert float(out.split()[-1]) == pytest.approx(4.0, abs=1e-9)


def test_preload_off(tmp_path: Path) -> None:
    out = _python("print(len(threads), 'jax' in sys.modules)", tmp_path, CODEXLAB_PRELOAD="0")
    assert out.split() == ["0", "False"]
