"""The tamper matrix: every edit a store-writer without the chain key can make is found by `verify`.

Each case edits a populated store's storage directly (SQL rows or JSONL lines, on every backend) the
way a tamperer would, then checks that `verify` names what happened. The untouched store verifies.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from codexlab.errors import CodexConfigError, StoreError
from codexlab.store import BeamStore, JSONLStore, SQLStore
from codexlab.store.keys import ENV_KEY, ChainKey, new_key_text

from .factory import Storage, beam, series

RUNS = {"r1": 5, "r2": 3, "r3": 4}


def populate(store: BeamStore) -> None:
    """r1 in two batches (two anchors), with a vetoed and a scored beam; r2; r3 last (the newest anchor)."""
    first = series(3, run="r1", prefix="a")
    first[1] = beam("a1", run="r1", t=1, parents=["a0"], verdict="veto", drift=0.5, qscore=0.0)
    store.persist_beam_events(first)
    store.persist_beam_events(
        [
            beam("a3", run="r1", t=3, parents=["a2"], qscore=0.8, drift=0.01, verdict="pass"),
            beam("a4", run="r1", t=4, parents=["a3"], qscore=0.9, verdict="pass"),
        ]
    )
    store.persist_beam_events(series(RUNS["r2"], run="r2", prefix="b", start=10))
    store.persist_beam_events(series(RUNS["r3"], run="r3", prefix="c", start=20))


@pytest.fixture
def populated(store: BeamStore) -> BeamStore:
    populate(store)
    return store


def attacker_key() -> ChainKey:
    return ChainKey(bytes.fromhex(new_key_text()), "the attacker")


def _edit_result(s: Storage) -> None:
    s.edit_result("beam_a2", {"n": 999})


def _reapprove_veto(s: Storage) -> None:
    s.update_beam("beam_a1", verdict="pass")


def _change_qscore(s: Storage) -> None:
    s.update_beam("beam_a3", qscore=0.99)


def _change_drift(s: Storage) -> None:
    s.update_beam("beam_a3", drift=0.0)


def _reorder(s: Storage) -> None:
    s.swap_seq("beam_b11", "beam_b12")


def _delete_middle(s: Storage) -> None:
    s.delete("beam_b11")


def _delete_tail(s: Storage) -> None:
    s.delete("beam_a4")
    s.delete("beam_a3")


def _delete_run_beams(s: Storage) -> None:
    s.delete_run("r2", anchors=False)


def _delete_middle_run(s: Storage) -> None:
    s.delete_run("r2", anchors=True)


def _delete_newest_run(s: Storage) -> None:
    s.delete_run("r3", anchors=True)


def _rehash_the_run(s: Storage) -> None:
    s.update_beam("beam_a1", verdict="pass")
    s.rehash_run("r1", fix_anchors=False, key=None)


def _rehash_and_fix_the_anchors(s: Storage) -> None:
    s.update_beam("beam_a1", verdict="pass")
    s.rehash_run("r1", fix_anchors=True, key=None)


def _rehash_with_a_guessed_key(s: Storage) -> None:
    s.update_beam("beam_a1", verdict="pass")
    s.rehash_run("r1", fix_anchors=True, key=attacker_key())


def _reseal_with_own_key(s: Storage) -> None:
    """Re-hash and re-seal everything with the attacker's own key, claiming it as the sealing key."""
    key = attacker_key()
    s.edit_result("beam_b10", {"n": -1})
    for row in s.anchor_rows():
        if row["seq"] >= 3:
            s.update_anchor(row["seq"], key_id=key.key_id)
    s.rehash_run("r2", fix_anchors=True, key=key)


CASES: dict[str, tuple[Callable[[Storage], None], str]] = {
    "edit a result": (_edit_result, r"run `r1`: beam `beam_a2` \(seq 3\) was edited after it was stored"),
    "re-approve a veto": (_reapprove_veto, r"run `r1`: beam `beam_a1` \(seq 2\) was edited"),
    "change a qscore": (_change_qscore, r"run `r1`: beam `beam_a3` \(seq 4\) was edited"),
    "change a drift": (_change_drift, r"run `r1`: beam `beam_a3` \(seq 4\) was edited"),
    "reorder": (_reorder, r"run `r2`: beam `beam_b12` \(seq 2\) does not follow `beam_b10` \(seq 1\)"),
    "delete the middle": (_delete_middle, r"run `r2`: beam `beam_b12` \(seq 3\) .* 1 beam\(s\) are missing"),
    "delete the tail": (_delete_tail, r"run `r1`: anchor #2 sealed 5 beam\(s\) but only 3 remain"),
    "delete a run's beams": (_delete_run_beams, r"run `r2`: all 3 beam\(s\) its anchors sealed were deleted"),
    "delete a whole run": (_delete_middle_run, r"anchors #3\.\.#3 are missing"),
    "delete the newest run": (_delete_newest_run, r"ends at anchor #3 but this home saw it reach #4"),
    "re-hash the run": (_rehash_the_run, r"run `r1`: beam seq 3 no longer has the hash anchor #1 sealed"),
    "re-hash, fix the anchors": (_rehash_and_fix_the_anchors, r"anchor #1 \(run `r1`\) does not match its seal"),
    "re-hash with a guessed key": (_rehash_with_a_guessed_key, r"anchor #1 \(run `r1`\) does not match its seal"),
    "re-seal with another key": (_reseal_with_own_key, r"2 anchor\(s\) \(#3…\) were sealed with key"),
}


def test_the_untouched_store_verifies(populated: BeamStore) -> None:
    report = populated.verify()
    assert report.problems == [] and report.intact
    assert (report.runs, report.beams, report.anchors) == (3, sum(RUNS.values()), 4)
    assert report.witnessed and report.legacy_runs == 0
    assert populated.verify("r2").problems == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_tampering_is_found(populated: BeamStore, case: str) -> None:
    tamper, message = CASES[case]
    tamper(Storage(populated))
    problems = populated.verify_chain()
    assert problems, f"{case} went unnoticed"
    assert any(re.search(message, p) for p in problems), problems


def test_appending_with_another_key_is_found(populated: BeamStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone who can run codexlab against the store, but with their own key, cannot extend it unnoticed."""
    monkeypatch.setenv(ENV_KEY, new_key_text())
    other = _second_handle(populated)
    other.persist_beam_events([beam("evil", run="r3", t=30, parents=["c23"], verdict="pass")])
    other.close()
    (problem,) = populated.verify_chain()
    assert "1 anchor(s) (#5) were sealed with key" in problem and "cannot be checked" in problem


def test_verify_of_an_unknown_run_is_an_error(populated: BeamStore) -> None:
    with pytest.raises(StoreError, match=r"No run `r4` in the store at .* \(did you mean `r3`\?\)"):
        populated.verify("r4")
    with pytest.raises(StoreError, match="No run `nope`"):
        populated.verify_chain("nope")


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    store = SQLStore(f"sqlite:///{tmp_path / 'beams.db'}")
    store.persist_beam_events(series(1))
    key_file = tmp_path / "keys" / "chain.key"
    assert key_file.stat().st_mode & 0o777 == 0o600 and (tmp_path / "keys").stat().st_mode & 0o777 == 0o700
    key_file.chmod(0o644)
    fresh = SQLStore(f"sqlite:///{tmp_path / 'beams.db'}")
    with pytest.raises(CodexConfigError, match=r"is open to other users \(mode 644.*run `chmod 600"):
        fresh.verify()


def test_a_short_environment_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_KEY, "abc123")
    store = JSONLStore(tmp_path / "dev")
    with pytest.raises(CodexConfigError, match=r"`\$CODEXLAB_CHAIN_KEY` should hold a key of at least 16 bytes"):
        store.persist_beam_events(series(1))
    assert not (tmp_path / "keys").exists()


def test_the_environment_key_wins_and_is_needed_to_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = new_key_text()
    monkeypatch.setenv(ENV_KEY, key)
    store = SQLStore(f"sqlite:///{tmp_path / 'beams.db'}")
    store.persist_beam_events(series(2))
    assert not (tmp_path / "keys" / "chain.key").exists()
    assert store.verify_chain() == []
    monkeypatch.delenv(ENV_KEY)
    other = SQLStore(f"sqlite:///{tmp_path / 'beams.db'}")  # falls back to a new key file: not the sealing key
    (problem,) = other.verify_chain()
    assert f"sealed with key `{ChainKey(bytes.fromhex(key), '').key_id}`" in problem
    assert "set `$CODEXLAB_CHAIN_KEY` to the key that wrote them" in problem


def _second_handle(store: BeamStore) -> BeamStore:
    if isinstance(store, JSONLStore):
        return JSONLStore(store.path, home=store.key_home)
    assert isinstance(store, SQLStore)
    return SQLStore(store.engine.url.render_as_string(hide_password=False), schema=store.schema, home=store.key_home)
