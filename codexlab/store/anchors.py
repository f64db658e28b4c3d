"""Run anchors: what makes the beam store tamper-evident, and the check behind `verify_chain`.

Each beam's hash covers its content and its scores (hash scheme 2) and the previous beam of its run.
Each persist call also writes, in the same transaction, one anchor per run it touched: the run's beam
count and terminal hash, chained to the previous anchor (`prev_mac`) and sealed with HMAC-SHA256 under
the chain key (`codexlab.store.keys`), which lives outside the store. So an edited beam breaks its hash;
a re-hashed run no longer matches its anchor; deleted or reordered beams break the run's chain;
a deleted tail falls short of the anchor's count; a deleted run leaves its anchor without beams or a
hole in the anchor chain; and the newest runs deleted with their anchors fall short of the head witness.

Runs stored before anchors existed are sealed as found when the store is first opened by a codexlab
that has them (`kind` `legacy`): their beams verify with hash scheme 1, where scores are not covered.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from codexlab.contracts import HASH_SCHEME, beam_hash, utc_now_iso
from codexlab.store.keys import ChainKey

__all__ = [
    "ANCHOR_COLUMNS",
    "Anchor",
    "ChainReport",
    "RunCheck",
    "anchor_chain_problems",
    "seal",
]

ANCHOR_COLUMNS: tuple[str, ...] = (
    "seq",
    "kind",
    "sheet_run_id",
    "beam_count",
    "terminal_hash",
    "prev_mac",
    "key_id",
    "created",
    "mac",
)
_DOMAIN = b"codexlab run anchor v1\n"


@dataclass(frozen=True)
class Anchor:
    """One sealed anchor: a run's beam count and terminal hash after one persist call."""

    seq: int
    kind: str
    sheet_run_id: str
    beam_count: int
    terminal_hash: str
    prev_mac: str | None
    key_id: str
    created: str
    mac: str

    def message(self) -> bytes:
        """The bytes the MAC covers: every field but the MAC, as sorted compact JSON."""
        fields = {name: getattr(self, name) for name in ANCHOR_COLUMNS if name != "mac"}
        return _DOMAIN + json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def row(self) -> tuple[Any, ...]:
        """The anchor as a row in `ANCHOR_COLUMNS` order."""
        return tuple(getattr(self, name) for name in ANCHOR_COLUMNS)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Anchor:
        """An anchor from a stored row (types coerced; a malformed row raises KeyError/TypeError/ValueError)."""
        prev = row["prev_mac"]
        return cls(
            seq=int(row["seq"]),
            kind=str(row["kind"]),
            sheet_run_id=str(row["sheet_run_id"]),
            beam_count=int(row["beam_count"]),
            terminal_hash=str(row["terminal_hash"]),
            prev_mac=None if prev is None else str(prev),
            key_id=str(row["key_id"]),
            created=str(row["created"]),
            mac=str(row["mac"]),
        )


def seal(
    key: ChainKey,
    head: Anchor | None,
    ends: Mapping[str, tuple[str | None, int]],
    *,
    kind: str = "run",
) -> list[Anchor]:
    """Anchors for runs whose newest beam is `ends[run] = (hash, seq)`, chained after `head`."""
    out: list[Anchor] = []
    seq, prev = (0, None) if head is None else (head.seq, head.mac)
    created = utc_now_iso()
    for run, (terminal, count) in ends.items():
        seq += 1
        draft = Anchor(seq, kind, run, count, terminal or "", prev, key.key_id, created, "")
        anchor = Anchor(**{**draft.as_dict(), "mac": key.mac(draft.message())})
        out.append(anchor)
        prev = anchor.mac
    return out


def anchor_chain_problems(key: ChainKey, anchors: Sequence[Anchor], head: tuple[int, str] | None) -> list[str]:
    """Problems of the anchor chain itself: holes, broken links, bad seals, foreign keys, a short head."""
    problems: list[str] = []
    prev: Anchor | None = None
    foreign: dict[str, list[int]] = {}
    for anchor in anchors:
        expected = 1 if prev is None else prev.seq + 1
        if anchor.seq != expected:
            problems.append(
                f"anchors #{expected}..#{anchor.seq - 1} are missing: the runs they sealed were deleted "
                "(or their anchors were)."
            )
        elif anchor.prev_mac != (None if prev is None else prev.mac):
            problems.append(
                f"anchor #{anchor.seq} (run `{anchor.sheet_run_id}`) does not follow anchor #{expected - 1}: "
                "anchors were replaced or re-sealed."
            )
        if anchor.key_id != key.key_id:
            foreign.setdefault(anchor.key_id, []).append(anchor.seq)
        elif not _mac_ok(key, anchor):
            problems.append(
                f"anchor #{anchor.seq} (run `{anchor.sheet_run_id}`) does not match its seal: it was edited, "
                "or written without the chain key."
            )
        prev = anchor
    for key_id, seqs in foreign.items():
        problems.append(
            f"{len(seqs)} anchor(s) (#{seqs[0]}{'…' if len(seqs) > 1 else ''}) were sealed with key `{key_id}`, "
            f"not with the key this process holds (`{key.key_id}` from {key.source}); they cannot be checked: "
            "set `$CODEXLAB_CHAIN_KEY` to the key that wrote them."
        )
    if head is not None:
        problems += _head_problems(anchors, head)
    return problems


def _mac_ok(key: ChainKey, anchor: Anchor) -> bool:
    return hmac.compare_digest(key.mac(anchor.message()), anchor.mac)


def _head_problems(anchors: Sequence[Anchor], head: tuple[int, str]) -> list[str]:
    seq, mac = head
    newest = anchors[-1].seq if anchors else 0
    if newest < seq:
        return [
            f"the store ends at anchor #{newest} but this home saw it reach #{seq}: the newest run(s) were "
            "deleted together with their anchors."
        ]
    match = next((a for a in anchors if a.seq == seq), None)
    if match is None or match.mac != mac:
        return [f"anchor #{seq} is not the one this home recorded: the anchors were replaced."]
    return []


@dataclass
class RunCheck:
    """Checks one run's stored rows (in `seq` order) against its anchors."""

    run: str
    anchors: list[Anchor]
    legacy_count: int = field(init=False)

    def __post_init__(self) -> None:
        self.legacy_count = max((a.beam_count for a in self.anchors if a.kind == "legacy"), default=0)

    def problem(self, rows: Iterable[Mapping[str, Any]]) -> str | None:
        """The first problem of the run, described, or None when it is intact."""
        if not self.anchors:
            count = sum(1 for _ in rows)
            return (
                f"run `{self.run}`: its {count} beam(s) have no anchor: they were not written by codexlab "
                "(or their anchors were deleted)."
            )
        wanted = {a.beam_count for a in self.anchors}
        at: dict[int, str | None] = {}
        prev_hash: str | None = None
        prev_seq = 0
        prev_id: str | None = None
        for row in rows:
            beam_id, seq = row["beam_id"], row["seq"]
            broken = self._link_problem(row, prev_hash, prev_seq, prev_id)
            if broken:
                return broken
            if seq in wanted:
                at[seq] = row["hash"]
            prev_hash, prev_seq, prev_id = row["hash"], seq, beam_id
        return self._anchor_problem(prev_seq, at)

    def _link_problem(
        self, row: Mapping[str, Any], prev_hash: str | None, prev_seq: int, prev_id: str | None
    ) -> str | None:
        beam_id, seq = row["beam_id"], row["seq"]
        if not self._hash_ok(row):
            return (
                f"run `{self.run}`: beam `{beam_id}` (seq {seq}) was edited after it was stored: its content "
                "or scores no longer match its hash."
            )
        if row["prev_hash"] == prev_hash:
            return None
        where = f"does not follow `{prev_id}` (seq {prev_seq})" if prev_id else "should start the run"
        if seq != prev_seq + 1:
            return (
                f"run `{self.run}`: beam `{beam_id}` (seq {seq}) {where}: {seq - prev_seq - 1} beam(s) are "
                "missing before it."
            )
        return (
            f"run `{self.run}`: beam `{beam_id}` (seq {seq}) {where}: a beam before it is missing or the "
            "beams were reordered."
        )

    def _hash_ok(self, row: Mapping[str, Any]) -> bool:
        stored = row["hash"]
        if stored is None:
            return False
        if beam_hash(row, row["prev_hash"], scheme=HASH_SCHEME) == stored:
            return True
        # Beams sealed as found when the store was upgraded may predate scheme 2 (scores not chained).
        return row["seq"] <= self.legacy_count and beam_hash(row, row["prev_hash"], scheme=1) == stored

    def _anchor_problem(self, last_seq: int, at: Mapping[int, str | None]) -> str | None:
        if last_seq == 0:
            sealed = max(a.beam_count for a in self.anchors)
            return (
                f"run `{self.run}`: all {sealed} beam(s) its anchors sealed were deleted "
                f"(its {len(self.anchors)} anchor(s) remain)."
            )
        for anchor in self.anchors:
            if anchor.beam_count > last_seq:
                missing = anchor.beam_count - last_seq
                return (
                    f"run `{self.run}`: anchor #{anchor.seq} sealed {anchor.beam_count} beam(s) but only {last_seq} "
                    f"remain: the last {missing} beam(s) of the run were deleted."
                )
            if at.get(anchor.beam_count) != anchor.terminal_hash:
                return (
                    f"run `{self.run}`: beam seq {anchor.beam_count} no longer has the hash anchor #{anchor.seq} "
                    "sealed: the run was edited and re-hashed."
                )
        newest = max(a.beam_count for a in self.anchors)
        if last_seq > newest:
            return (
                f"run `{self.run}`: {last_seq - newest} beam(s) after seq {newest} are covered by no anchor: they "
                "were added outside codexlab."
            )
        return None


@dataclass
class ChainReport:
    """What `verify` found: problems (empty when intact) and what was checked."""

    problems: list[str] = field(default_factory=list)
    #: Run id → its problem, for the runs whose own beams or anchors are at fault.
    broken_runs: dict[str, str] = field(default_factory=dict)
    runs: int = 0
    beams: int = 0
    anchors: int = 0
    legacy_runs: int = 0
    key_id: str = ""
    key_source: str = ""
    witnessed: bool = False

    @property
    def intact(self) -> bool:
        """Whether nothing was found wrong."""
        return not self.problems
