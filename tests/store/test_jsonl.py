"""JSONL dev store: torn and unreadable lines are skipped with a warning; a failed write is taken back."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from codexlab.errors import StoreError
from codexlab.store import JSONLStore

from .factory import beam, series


def _beam_file(store: JSONLStore) -> Path:
    return store.path / "beam_events.jsonl"


def test_a_torn_last_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    store = JSONLStore(tmp_path / "dev")
    store.persist_beam_events(series(3))
    whole = _beam_file(store).read_bytes().splitlines(keepends=True)
    with _beam_file(store).open("ab") as handle:  # a crash half-way through the next beam's line
        handle.write(whole[-1][: len(whole[-1]) // 2])
    store.close()

    reader = JSONLStore(tmp_path / "dev")
    with pytest.warns(RuntimeWarning, match=r"Skipping a torn last line of `.*beam_events.jsonl` \(\d+ bytes\)"):
        assert [b.beam_id for b in reader.beams_for_run("run1")] == ["beam_b0", "beam_b1", "beam_b2"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per place, not on every read
        assert reader.get_beam("beam_b2") is not None
        # the next batch starts on a new line; the chain goes on from the last whole beam
        (b3,) = reader.persist_beam_events([beam("b3", t=3, parents=["b2"])])
        assert reader.verify_chain() == []
    assert b3.prev_hash == reader.get_beam("beam_b2").hash  # type: ignore[union-attr]

    fresh = JSONLStore(tmp_path / "dev")
    with pytest.warns(RuntimeWarning, match="Skipping unreadable line 4"):
        assert [b.beam_id for b in fresh.beams_for_run("run1")] == [
            "beam_b0",
            "beam_b1",
            "beam_b2",
            "beam_b3",
        ]


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
    store.update_beam_scores([{"beam_id": "beam_b0", "qscore": 0.5}])
    names = sorted(p.name for p in store.path.iterdir() if not p.name.startswith("."))
    assert names == ["beam_events.jsonl", "beam_scores.jsonl", "meta.json"]
    lines = _beam_file(store).read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and lines[0].startswith('{"beam_id":"beam_b0"')
