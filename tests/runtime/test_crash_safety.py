"""A process killed with SIGKILL mid-scroll leaves every committed cell whole and nothing partial."""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from codexlab import Lab
from codexlab.cli import main

WORKER = """
import sys
from codexlab import Lab
lab = Lab(home=sys.argv[1])
lab.run("@grid x:-1..1:64, y:-1..1:64\\nu := gaussian(x, y, σ=0.2)\\n", "crash")
for k in range(10_000):
    lab.run("v = Δu + ∇·∇u * 2\\nw = u ⊕ u\\n", "crash")
    print(k, flush=True)
"""


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_mid_run_leaves_committed_cells_intact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(home)], stdout=subprocess.PIPE, text=True, env={**os.environ}
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 240
    done = 0
    while done < 5 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        done = int(line.split()[0]) + 1
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert done >= 5, "the worker did not commit five cells in time"

    lab = Lab(home=home)
    rows = lab.store.rows("beams")
    per_run = collections.Counter(r["sheet_run_id"] for r in rows)
    first = rows[0]["sheet_run_id"]
    # Every committed repeat of the same cell has the same full set of beams: none is partial.
    sizes = collections.Counter(n for run, n in per_run.items() if run != first)
    assert len(per_run) >= done + 1
    assert len(sizes) == 1, f"cells of unequal size (a partial commit?): {sizes}"
    assert not any(r["stage"] == "error" for r in rows)
    assert lab.store.verify_chain() == []
    capsys.readouterr()
    assert main(["verify", "--home", str(home)]) == 0
