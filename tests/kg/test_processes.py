"""One writer per directory: a second process opens the knowledge graph read-only and follows the writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codexlab.errors import StoreError
from codexlab.kg import KnowledgeGraph

from .factory import chain, make_beam

REPO = Path(__file__).resolve().parents[2]

# Opens the graph, reports what it sees and what a write does; with `follow`, waits for a line on stdin
# (sent after the test wrote more beams) and reports again.
READER = textwrap.dedent(
    """
    import json, sys
    from codexlab.kg import KnowledgeGraph
    from codexlab.contracts import BeamEvent

    def report(kg):
        rows = kg.query("SELECT (COUNT(?a) AS ?n) WHERE { ?a a prov:Activity }")
        try:
            kg.write_beams([BeamEvent(beam_id="beam_x_wave_1", cell_id="x", sheet_run_id="r", stage="wave",
                                      token="t", timestamp="2025-01-01T00:00:00Z")])
            error = None
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        print(json.dumps({"read_only": kg.read_only, "locked_elsewhere": kg.locked_elsewhere,
                          "activities": rows[0]["n"], "write_error": error}), flush=True)

    kg = KnowledgeGraph(sys.argv[1])
    report(kg)
    if sys.argv[2] == "follow":
        sys.stdin.readline()
        report(kg)
    """
)


# Holds the writer's lock until it reads a line on stdin.
HOLDER = textwrap.dedent(
    """
    import sys
    from codexlab.kg import KnowledgeGraph

    kg = KnowledgeGraph(sys.argv[1])
    print("ready" if not kg.read_only else "read-only", flush=True)
    sys.stdin.readline()
    """
)


def _reader(path: Path, mode: str, script: str = READER) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", script, str(path), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


def _line(proc: subprocess.Popen[str]) -> dict:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        errors = proc.stderr.read() if proc.stderr else ""
        raise AssertionError(f"the reader process printed nothing: {errors}")
    return json.loads(line)


def test_second_process_falls_back_to_read_only(kg):
    kg.write_beams(chain(5))
    proc = _reader(kg.path, "once")
    try:
        seen = _line(proc)
    finally:
        proc.communicate(timeout=60)
    assert seen["read_only"] is True and seen["locked_elsewhere"] is True
    assert seen["activities"] == 5
    assert seen["write_error"].startswith("StoreError: The knowledge graph at ")
    assert "is open read-only in this process because another process holds its lock" in seen["write_error"]
    assert proc.returncode == 0


def test_read_only_process_follows_the_writer(kg):
    kg.write_beams(chain(3))
    proc = _reader(kg.path, "follow")
    try:
        first = _line(proc)
        kg.write_beams(chain(4, run="run_more") + [make_beam("cell_z", "wave")])
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        second = _line(proc)
    finally:
        proc.communicate(timeout=60)
    assert (first["activities"], second["activities"]) == (3, 8)
    assert second["read_only"] is True


def test_process_writes_once_the_lock_is_free(tmp_path):
    path = tmp_path / "kg"
    holder = KnowledgeGraph(path)
    holder.write_beams(chain(2))
    holder.close()
    proc = _reader(path, "once")
    seen = _line(proc)
    proc.communicate(timeout=60)
    assert seen == {"read_only": False, "locked_elsewhere": False, "activities": 2, "write_error": None}


def test_read_only_view_takes_the_lock_once_it_frees(tmp_path):
    path = tmp_path / "kg"
    KnowledgeGraph(path).close()
    holder = _reader(path, "hold", HOLDER)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        kg = KnowledgeGraph(path)
        assert kg.read_only and kg.locked_elsewhere
        with pytest.raises(StoreError, match=r"another process holds its lock; write from that process"):
            kg.write_beams(chain(2))
    finally:
        holder.communicate("done\n", timeout=60)
    try:
        assert kg.write_beams(chain(2)) > 0
        assert not kg.read_only and not kg.locked_elsewhere
    finally:
        kg.close()
