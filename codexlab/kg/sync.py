"""Keeping the knowledge graph a complete projection of the beam store: export, drain, rebuild.

The queue of runs to export is the store itself: every persist writes its runs' anchors in the same
transaction as their beams, so a run is pending from the moment it commits. The graph remembers how far
it got (`codexlab-exports.json` in its folder, per store: the newest anchor exported and the runs that
could not be). A process that holds the graph for writing exports its own run, then drains what others
left pending (a process that found the graph locked, or crashed before exporting). Exporting is
idempotent (quads are a set), so a run exported twice is harmless; one never exported is the gap this
closes. `rebuild` makes the graph again from the store.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from codexlab.contracts import BeamEvent, DnaMutation, SqiScore, load_payload
from codexlab.errors import CodexError, StoreError
from codexlab.kg.store import KnowledgeGraph, kg_path
from codexlab.store import BeamStore

__all__ = [
    "EXPORTS_FILE",
    "ExportOutcome",
    "RebuildReport",
    "drain_pending",
    "export_after_commit",
    "export_run",
    "rebuild",
]

EXPORTS_FILE = "codexlab-exports.json"
#: How many pending runs one drain exports at most (a cell's export stays short; the rest follow).
DRAIN_RUNS = 64

_GRAPHS: dict[Path, KnowledgeGraph] = {}


@dataclass
class ExportOutcome:
    """What an export after a commit did: `exported` runs, runs still `pending`, and why not, if not."""

    exported: list[str] = field(default_factory=list)
    pending: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    reason: str | None = None

    @property
    def complete(self) -> bool:
        """Whether the graph holds every run of the store that could be exported."""
        return self.reason is None and self.pending == 0


@dataclass
class _Progress:
    """How far a graph got with one store: anchors up to `watermark` exported, `failed` runs with why."""

    watermark: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    mutations: int = 0


def export_after_commit(
    home: str | os.PathLike[str] | None,
    store: BeamStore,
    run_id: str,
    scores: Iterable[SqiScore] | None = None,
    beams: list[BeamEvent] | None = None,
) -> ExportOutcome:
    """What `Lab` calls once a run committed: export it and drain the runs others left pending.

    Never raises for the graph's sake: the run is already safe in the store, queued by its anchor. A
    graph another process holds (read-only here) leaves it pending for that process or the next writer;
    a graph that cannot be opened or written is reported with a `RuntimeWarning` naming the fix
    (`codexlab kg rebuild`). Returns what happened.
    """
    try:
        kg = _graph(kg_path(home))
        if kg.read_only:
            return ExportOutcome(pending=_count_pending(kg, store), reason="the graph is locked by another process")
        written = export_run(kg, store, run_id, scores, beams)
        outcome = ExportOutcome(exported=[run_id] if written is not None else [])
        drained = drain_pending(kg, store, skip={run_id})
        outcome.exported += drained.exported
        outcome.pending, outcome.failed = drained.pending, drained.failed
        return outcome
    except CodexError as err:
        warnings.warn(
            f"Run `{run_id}` is stored but not in the knowledge graph yet: {err.message} It stays queued and is "
            "exported by the next codexlab that can write the graph.",
            RuntimeWarning,
            stacklevel=2,
        )
        return ExportOutcome(reason=err.message)


def _graph(path: Path) -> KnowledgeGraph:
    """The process's writer handle on a graph (kept open, like `Lab.kg`; it shares the same store)."""
    kg = _GRAPHS.get(path)
    if kg is None:
        kg = _GRAPHS[path] = KnowledgeGraph(path)
    elif kg.locked_elsewhere:
        kg.refresh()  # becomes the writer once the other process let go
    return kg


def export_run(
    kg: KnowledgeGraph,
    store: BeamStore,
    run_id: str,
    scores: Iterable[SqiScore] | None = None,
    beams: list[BeamEvent] | None = None,
) -> int | None:
    """Write one stored run's approved beams (and their SQI scores) into its named graph.

    `beams` and `scores` are the run's as the caller holds them (the run that just committed); otherwise
    they are read from the store. Returns the quads written, or None when the run has no beam.
    """
    beams = beams if beams is not None else store.beams_for_run(run_id)
    if not beams:
        return None
    events = list(scores) if scores is not None else _stored_scores(store, beams)
    return kg.write_beams(beams, events)


def _stored_scores(store: BeamStore, beams: list[BeamEvent]) -> list[SqiScore]:
    """The score events of a run's scored beams, from `sqi_scores` (the newest per beam wins)."""
    out: list[SqiScore] = []
    for beam in beams:
        if beam.qscore is None and beam.drift is None:
            continue
        rows = store.rows("sqi_scores", beam_id=beam.beam_id)
        if rows:
            out.append(load_payload(SqiScore, rows[-1]))
    return out


def drain_pending(
    kg: KnowledgeGraph, store: BeamStore, *, limit: int | None = DRAIN_RUNS, skip: Iterable[str] = ()
) -> ExportOutcome:
    """Export the runs committed since the graph's watermark (at most `limit` runs; None: all of them).

    A run whose beams cannot be mapped is recorded as failed (retried by `rebuild`) and passed over;
    a graph that cannot be written stops the drain with the watermark where it was.
    """
    path = kg.path
    with kg._handle.lock:
        progress = _read_progress(path, store.identity)
        anchors = store.anchors(after=progress.watermark)
        outcome = ExportOutcome()
        done = set(skip)
        watermark = progress.watermark
        for index, anchor in enumerate(anchors):
            run = anchor.sheet_run_id
            if run not in done:
                if limit is not None and len(outcome.exported) >= limit:
                    outcome.pending = len({a.sheet_run_id for a in anchors[index:]} - done)
                    break
                try:
                    export_run(kg, store, run)
                except StoreError:
                    raise  # the graph (or the store) failed: keep the watermark
                except CodexError as err:
                    progress.failed[run] = err.message
                    outcome.failed[run] = err.message
                else:
                    progress.failed.pop(run, None)
                    outcome.exported.append(run)
                done.add(run)
            watermark = anchor.seq
        progress.watermark = watermark
        progress.mutations = _drain_mutations(kg, store, progress.mutations)
        _write_progress(path, store.identity, progress)
    return outcome


def _drain_mutations(kg: KnowledgeGraph, store: BeamStore, seen: int) -> int:
    """Write stored DNA mutations the graph lacks (recorded while it was locked); the count seen now."""
    rows = store.rows("dna_mutations")
    if len(rows) <= seen:
        return len(rows)
    mutations = [load_payload(DnaMutation, r) for r in rows]
    present = kg.mutation_ids()
    missing = [m for m in mutations if m.mutation_id not in present]
    if missing:
        kg.write_mutations(missing)
    return len(rows)


def _count_pending(kg: KnowledgeGraph, store: BeamStore) -> int:
    progress = _read_progress(kg.path, store.identity)
    return len({a.sheet_run_id for a in store.anchors(after=progress.watermark)})


def _progress_file(path: Path) -> Path:
    return path / EXPORTS_FILE


def _read_progress(path: Path, identity: str) -> _Progress:
    """The graph's progress with a store; none recorded (or unreadable) means start from the beginning."""
    try:
        data = json.loads(_progress_file(path).read_text(encoding="utf-8"))
        entry = data[identity]
        return _Progress(int(entry["watermark"]), dict(entry.get("failed", {})), int(entry.get("mutations", 0)))
    except (OSError, ValueError, KeyError, TypeError):
        return _Progress()


def _write_progress(path: Path, identity: str, progress: _Progress) -> None:
    file = _progress_file(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data[identity] = {"watermark": progress.watermark, "failed": progress.failed, "mutations": progress.mutations}
    tmp = file.with_name(f".{EXPORTS_FILE}.{secrets.token_hex(4)}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, file)


@dataclass
class RebuildReport:
    """What `rebuild` wrote, and the runs it left out because `verify` found them broken."""

    runs: int = 0
    quads: int = 0
    mutations: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    moved_aside: Path | None = None


def rebuild(home: str | os.PathLike[str] | None, store: BeamStore) -> RebuildReport:
    """Make the graph of `home` again from the store: every verified run's approved beams, every mutation.

    A graph that cannot be opened is moved aside (`kg.broken-<time>`, kept for inspection) first. Runs
    that `verify` finds broken are left out and listed. Refused while another process holds the graph.
    """
    path = kg_path(home)
    report = RebuildReport()
    kg = _open_for_rebuild(path, report)
    try:
        with kg._handle.lock:
            checked = store.verify()
            broken = dict(checked.broken_runs)
            with contextlib.suppress(FileNotFoundError):
                _progress_file(path).unlink()  # a crash mid-rebuild then drains everything again
            kg.clear()
            runs = sorted({a.sheet_run_id for a in store.anchors(after=0)} | set(store.run_ids()))
            for run in runs:
                if run in broken:
                    report.skipped[run] = broken[run]
                    continue
                written = export_run(kg, store, run)
                if written is not None:
                    report.runs += 1
                    report.quads += written
            mutations = [load_payload(DnaMutation, r) for r in store.rows("dna_mutations")]
            report.quads += kg.write_mutations(mutations)
            report.mutations = len(mutations)
            anchors = store.anchors(after=0)
            _write_progress(
                path,
                store.identity,
                _Progress(anchors[-1].seq if anchors else 0, dict(report.skipped), len(mutations)),
            )
    finally:
        if path not in _GRAPHS:
            kg.close()
    return report


def _open_for_rebuild(path: Path, report: RebuildReport) -> KnowledgeGraph:
    """The graph for writing; an unusable one is moved aside for a fresh one; a locked one is refused."""
    try:
        kg = _GRAPHS.get(path) or KnowledgeGraph(path)
    except StoreError:
        if not path.exists():
            raise
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = path.with_name(f"{path.name}.broken-{stamp}")
        shutil.move(str(path), str(aside))
        report.moved_aside = aside
        kg = KnowledgeGraph(path)
    if kg.read_only:
        if path not in _GRAPHS:
            kg.close()
        raise StoreError(
            f"The knowledge graph at `{path}` is held by another process (a notebook kernel, a server, a "
            "running `codexlab`); stop it, then run `codexlab kg rebuild` again."
        )
    return kg
