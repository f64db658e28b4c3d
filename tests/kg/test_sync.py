"""The graph is a complete projection of the store: runs queued while it was locked are exported by the next
writer, `codexlab kg sync` and `codexlab kg rebuild` fill it from the store, and a corrupt graph is a clean
error that names the fix (never a failed cell)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from codexlab.cli import main
from codexlab.errors import StoreError
from codexlab.kg import KnowledgeGraph, kg_path
from codexlab.kg.vocab import run_iri
from codexlab.runtime import Lab
from codexlab.store import SQLStore

REPO = Path(__file__).resolve().parents[2]

# A second process on the home: runs cells (it takes the graph's lock first), waits, runs one more.
WRITER = textwrap.dedent(
    """
    import json, sys
    from codexlab.runtime import Lab

    lab = Lab(home=sys.argv[1])
    ids = [lab.run("a = 1 + 2").run_id for _ in range(3)]
    print(json.dumps({"ids": ids, "read_only": lab.kg.read_only}), flush=True)
    if sys.stdin.readline().strip() == "one more":
        ids.append(lab.run("b = 2 * 3").run_id)
    print(json.dumps({"ids": ids}), flush=True)
    """
)


def _start(home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
    )


def _read(proc: subprocess.Popen[str]) -> dict:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, proc.stderr.read() if proc.stderr else "the writer printed nothing"
    return json.loads(line)


def _say(proc: subprocess.Popen[str], text: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(text + "\n")
    proc.stdin.flush()


def _run_graphs(home: Path) -> set[str]:
    """The run graphs in the home's graph, seen from a fresh read-only view."""
    kg = KnowledgeGraph(kg_path(home), read_only=True)
    try:
        return {g for g in kg.graphs() if "/id/run/" in g}
    finally:
        kg.close()


def _graphs_of(ids: list[str]) -> set[str]:
    return {run_iri(i).value for i in ids}


def test_runs_of_a_process_that_found_the_graph_locked_reach_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    writer = _start(home)
    try:
        theirs = _read(writer)
        assert theirs["read_only"] is False
        lab = Lab(home=home)
        mine = [lab.run("c = 3 - 1").run_id for _ in range(3)]
        assert lab.kg.read_only and lab.kg.locked_elsewhere
        assert len(lab.store.run_ids()) == 6
        assert _run_graphs(home) == _graphs_of(theirs["ids"])  # ours are stored and queued, not yet exported
        _say(writer, "one more")  # the writer's next cell drains the queue
        theirs = _read(writer)
    finally:
        writer.communicate(timeout=120)
    assert writer.returncode == 0
    assert _run_graphs(home) == _graphs_of(theirs["ids"] + mine)
    assert lab.store.verify_chain() == []


def test_the_next_cell_drains_the_queue_once_the_writer_is_gone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    writer = _start(home)
    try:
        theirs = _read(writer)
        lab = Lab(home=home)
        mine = [lab.run("c = 3 - 1").run_id for _ in range(2)]
        _say(writer, "stop")
        _read(writer)
    finally:
        writer.communicate(timeout=120)
    assert _run_graphs(home) == _graphs_of(theirs["ids"])
    mine.append(lab.run("d = 4").run_id)  # the lock is free: this process becomes the writer and drains
    assert not lab.kg.read_only
    assert _run_graphs(home) == _graphs_of(theirs["ids"] + mine)


def test_sync_exports_the_queue_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    writer = _start(home)
    try:
        theirs = _read(writer)
        lab = Lab(home=home)
        mine = [lab.run("c = 3 - 1").run_id for _ in range(2)]
        _say(writer, "stop")
        _read(writer)
    finally:
        writer.communicate(timeout=120)
    done = subprocess.run(
        [sys.executable, "-m", "codexlab.cli", "kg", "sync", "--home", str(home)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "exported 2 queued runs" in done.stdout
    assert _run_graphs(home) == _graphs_of(theirs["ids"] + mine)


def _corrupt(path: Path) -> None:
    (path / "CURRENT").write_text("garbage\n")


def test_a_corrupt_graph_never_fails_a_cell_and_rebuild_restores_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    writer = _start(home)  # builds the home and its graph in another process, then lets go of it
    try:
        first = _read(writer)["ids"]
        _say(writer, "stop")
        _read(writer)
    finally:
        writer.communicate(timeout=120)
    _corrupt(kg_path(home))
    with pytest.raises(
        StoreError, match=r"cannot be opened .*; rebuild it from the beam store with `codexlab kg rebuild"
    ):
        KnowledgeGraph(kg_path(home))
    lab = Lab(home=home)
    with pytest.warns(RuntimeWarning, match=r"is stored but not in the knowledge graph yet: .*codexlab kg rebuild"):
        run = lab.run("w0 = 7 * 6")
    assert run.values["w0"] == 42 and lab.store.verify_chain() == []  # the cell committed whole

    assert main(["kg", "rebuild", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert "could not be opened; moved it aside to" in out and "rebuilt" in out and "4 runs" in out
    assert _run_graphs(home) == _graphs_of([*first, run.run_id])
    assert len(list(home.glob("kg.broken-*"))) == 1


def test_rebuild_leaves_out_runs_that_fail_verification(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "home"
    writer = _start(home)
    try:
        ids = _read(writer)["ids"]
        _say(writer, "stop")
        _read(writer)
    finally:
        writer.communicate(timeout=120)
    store = SQLStore(f"sqlite:///{home / 'beams.db'}")
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE beam_events SET verdict = 'pass' WHERE sheet_run_id = '{ids[1]}'")
    store.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert main(["kg", "rebuild", "--home", str(home)]) == 1
    out = capsys.readouterr().out
    assert f"left out run {ids[1]}: run `{ids[1]}`: beam" in out and "was edited" in out
    assert _run_graphs(home) == _graphs_of([ids[0], ids[2]])
