"""JSONL dev store: torn and unreadable lines are skipped with a warning; a failed write is taken back."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from codexlab.errors import StoreError
from codexlab.store import JSONLStore

from .factory import beam, series

REPO = Path(__file__).resolve().parents[2]


def _beam_file(store: JSONLStore) -> Path:
    return store.path / "beam_events.jsonl"


def test_an_interrupted_batch_is_skipped_with_a_warning(tmp_path: Path) -> None:
    store = JSONLStore(tmp_path / "dev")
    store.persist_beam_events(series(3))
    whole = _beam_file(store).read_bytes().splitlines(keepends=True)
    beam_line = whole[-2]  # the last beam line (the last line is the batch's commit line)
    with _beam_file(store).open("ab") as handle:  # a crash after one whole line and half of the next
        handle.write(beam_line.replace(b"beam_b2", b"beam_b9"))
        handle.write(beam_line[: len(beam_line) // 2])
    store.close()

    reader = JSONLStore(tmp_path / "dev")
    with pytest.warns(RuntimeWarning) as caught:
        assert [b.beam_id for b in reader.beams_for_run("run1")] == ["beam_b0", "beam_b1", "beam_b2"]
    messages = [str(w.message) for w in caught]
    assert any(re.match(r"Skipping a torn last line of `.*beam_events.jsonl` \(\d+ bytes\)", m) for m in messages)
    assert any("Skipping 1 beam line(s)" in m and "no commit line follows" in m for m in messages)
    assert reader.get_beam("beam_b9") is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per place, not on every read
        assert reader.get_beam("beam_b2") is not None
        # the next batch starts on a new line; the chain goes on from the last committed beam
        (b3,) = reader.persist_beam_events([beam("b3", t=3, parents=["b2"])])
        assert reader.verify_chain() == []
    assert b3.prev_hash == reader.get_beam("beam_b2").hash  # type: ignore[union-attr]

    fresh = JSONLStore(tmp_path / "dev")
    with pytest.warns(RuntimeWarning) as again:
        assert [b.beam_id for b in fresh.beams_for_run("run1")] == ["beam_b0", "beam_b1", "beam_b2", "beam_b3"]
    messages = [str(w.message) for w in again]
    assert any("Skipping unreadable line 6" in m for m in messages)
    assert any("Skipping 1 beam line(s)" in m for m in messages)


def test_a_failed_write_is_taken_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = JSONLStore(tmp_path / "dev")
    store.persist_beam_events(series(2))
    size = _beam_file(store).stat().st_size

    def disk_full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(StoreError, match="Could not append to .*No space left on device.*nothing was written"):
        store.persist_beam_events([beam("b2", t=2, parents=["b1"])])
    monkeypatch.undo()
    assert _beam_file(store).stat().st_size == size
    assert store.get_beam("beam_b2") is None
    store.persist_beam_events([beam("b2", t=2, parents=["b1"])])
    assert store.verify_chain() == []


def test_another_handle_sees_appends(tmp_path: Path) -> None:
    writer, reader = JSONLStore(tmp_path / "dev"), JSONLStore(tmp_path / "dev")
    writer.persist_beam_events(series(2))
    assert [b.beam_id for b in reader.beams_for_run("run1")] == ["beam_b0", "beam_b1"]
    writer.persist_beam_events([beam("b2", t=2, parents=["b1"])])
    assert reader.lineage("beam_b2", ids_only=True) == ["beam_b1", "beam_b0"]


def test_files_are_plain_json_lines(tmp_path: Path) -> None:
    store = JSONLStore(tmp_path / "dev")
    store.persist_beam_events(series(2, eid="eid::run1::aa"))
    names = sorted(p.name for p in store.path.iterdir() if not p.name.startswith("."))
    assert names == ["beam_events.jsonl", "meta.json"]
    lines = _beam_file(store).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and lines[0].startswith('{"beam_id":"beam_b0"')
    commit = json.loads(lines[2])  # the batch's commit line: how many lines it commits, and the run's anchor
    assert commit["lines"] == 2 and [a["beam_count"] for a in commit["anchors"]] == [2]


# Writes committed batches, then a batch whose `write` stops half-way (the process is then killed):
# the first half of the batch's bytes reach the file, the rest and the commit line never do.
KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from codexlab.store import JSONLStore
    from tests.store.factory import beam, series

    store = JSONLStore(sys.argv[1])
    store.persist_beam_events(series(3, run="r1"))
    store.persist_beam_events(series(2, run="r2", prefix="x"))
    real_write = os.write

    def half_then_hang(fd, data):
        if len(data) > 200:
            real_write(fd, bytes(data[: len(data) // 2]))
            print("mid-append", flush=True)
            time.sleep(600)
        return real_write(fd, data)

    os.write = half_then_hang
    store.persist_beam_events(
        [beam(f"t{i}", run="r_torn", t=i) for i in range(6)] + [beam("b3", run="r1", t=3, parents=["b2"])]
    )
    """
)


def test_kill_9_during_an_append_leaves_whole_batches(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path / "dev")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "mid-append", proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    data = _beam_file(JSONLStore(tmp_path / "dev")).read_bytes()
    assert not data.endswith(b"\n") and b"beam_t0" in data  # the torn batch did reach the file, in part

    store = JSONLStore(tmp_path / "dev")
    with pytest.warns(RuntimeWarning, match="no commit line follows|torn last line"):
        report = store.verify()
    assert report.problems == [] and (report.runs, report.beams, report.anchors) == (2, 5, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert [b.beam_id for b in store.beams_for_run("r1")] == ["beam_b0", "beam_b1", "beam_b2"]
        assert store.beams_for_run("r_torn") == [] and store.get_beam("beam_t0") is None
        # the store takes the next batch after the torn one and still verifies
        store.persist_beam_events([beam("b3", run="r1", t=3, parents=["b2"])])
        assert store.verify_chain() == []
        assert [b.beam_id for b in store.beams_for_run("r1")][-1] == "beam_b3"
