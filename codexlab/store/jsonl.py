"""The JSONL beam store (dev mode): append-only files per table, fsync per batch, queries by scanning."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import threading
import warnings
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from codexlab.contracts import BeamEvent, utc_now_iso
from codexlab.errors import StoreError
from codexlab.store._codec import BEAM_COLUMNS, Tail, beam_from_row, link_batch
from codexlab.store.anchors import Anchor, seal
from codexlab.store.base import BeamStore, CellCommit, Direction, check_links, check_unique, run_of_eid
from codexlab.store.base import more_of_batch as _more
from codexlab.store.keys import ChainKey
from codexlab.store.schema import (
    HEAD_REVISION,
    JSON_COLUMNS,
    NATURAL_KEYS,
    PAYLOAD_TABLES,
    ROW_ORDER,
    UNANCHORED_REVISIONS,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process per store directory
    fcntl = None  # type: ignore[assignment]

__all__ = ["JSONLStore"]

_META = "meta.json"
_FORMAT = "codexlab-jsonl"
_KNOWN_REVISIONS = (*UNANCHORED_REVISIONS, "0003", HEAD_REVISION)
_LINKS = "entanglement_members"
_FILES: tuple[str, ...] = ("beam_events", _LINKS, *PAYLOAD_TABLES)

# Lines keep `NaN`/`Infinity` floats as JSON's extension tokens, which `json.loads` reads back.
_LINE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=True).encode

# `beam_index` columns copied as stored.
_INDEX_COLUMNS = ("beam_id", "sheet_run_id", "cell_id", "stage", "token", "verdict", "eid")


class JSONLStore(BeamStore):
    """Beams as JSON lines under one directory, for development and inspection with plain tools.

    Each table is a `<table>.jsonl` file that is only ever appended to (entanglement links go to their
    own file; lineage edges and entanglements are derived from the beams). A batch of beams is built in
    full, then written with one `write` and an `fsync`, ending in a commit line that holds the batch's
    run anchors: beam lines that no commit line follows (a crash mid-write) are skipped with a warning,
    so the store always reads as whole batches. `home` is where the chain key lives (`<home>/keys/`),
    by default the folder that holds `directory`.
    """

    def __init__(self, directory: str | os.PathLike[str], *, home: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(directory).expanduser().resolve()
        self.url = f"jsonl://{self.path}"
        self.key_home = Path(home).expanduser().resolve() if home is not None else self.path.parent
        self.closed = False
        self._mutex = threading.RLock()
        self._lock_fd: int | None = None
        self._depth = 0
        self._ready = False
        self._disk: tuple[list[dict[str, Any]], list[Anchor]] | None = None
        self._reset()

    def _reset(self) -> None:
        """Forget everything read so far (the next read starts from the beginning of each file)."""
        self._offsets: dict[str, tuple[int, int]] = {}
        self._lines: dict[str, int] = {}
        self._beams: dict[str, dict[str, Any]] = {}
        self._runs: dict[str, list[str]] = {}
        self._tails: dict[str, Tail] = {}
        self._by_eid: dict[str, list[str]] = {}
        self._by_cell: dict[str, list[str]] = {}
        self._children: dict[str, list[str]] = {}
        self._ents: dict[str, dict[str, Any]] = {}
        self._members: dict[tuple[str, str], dict[str, Any]] = {}
        self._payload: dict[str, list[dict[str, Any]]] = {name: [] for name in PAYLOAD_TABLES}
        self._keys: dict[str, set[Any]] = {name: set() for name in NATURAL_KEYS}
        self._warned: set[tuple[str, int]] = set()
        self._seen: dict[str, tuple[int, int, int]] = {}
        self._commits = _Commits()

    # -- schema ------------------------------------------------------------------------------------

    def ensure_tables(self) -> None:
        if self._ready:
            return
        with self._mutex:
            if self._ready:
                return
            self.path.mkdir(parents=True, exist_ok=True)
            if self._lock_fd is None:
                self._lock_fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
            with self._locked(exclusive=True):
                revision = self._meta_revision()
                if revision is not None and revision not in _KNOWN_REVISIONS:
                    raise StoreError(
                        f"The JSONL store at `{self.path}` is at schema revision `{revision}`, which this "
                        f"codexlab does not know (it knows up to `{HEAD_REVISION}`); upgrade codexlab."
                    )
                beams = self._file("beam_events")
                if revision is None and beams.exists() and beams.stat().st_size:
                    raise StoreError(
                        f"`{self.path / _META}` is missing but `{beams}` holds beams; restore `{_META}` from a "
                        "backup (codexlab will not guess what wrote the beams)."
                    )
                if revision in UNANCHORED_REVISIONS:
                    # 0001 -> 0002 only added `metrics` and `verdict`; 0003 seals the runs stored so far; 0004 adds
                    # `intents` (absent until written).
                    self._adopt_legacy()
                if revision != HEAD_REVISION:
                    self._write_meta()
                if revision is None:
                    self.witness().reset()  # a store created just now: no anchor of it can be missing
            self._ready = True

    def _adopt_legacy(self) -> None:
        """Seal each run of a store written before anchors, as found: one commit line for every line."""
        path = self._file("beam_events")
        data = path.read_bytes() if path.exists() else b""
        records = [r for _, r in self._parse("beam_events", data) if r and "anchors" not in r]
        ends: dict[str, tuple[str | None, int]] = {}
        for record in records:
            try:
                run, seq = record["sheet_run_id"], int(record["seq"])
            except (KeyError, TypeError, ValueError):
                continue
            if run not in ends or seq > ends[run][1]:
                ends[run] = (record.get("hash"), seq)
        if not ends:
            return
        self._refuse_if_witnessed()
        anchors = seal(self.chain_key(), None, dict(sorted(ends.items())), kind="legacy")
        self._append("beam_events", [_commit_line(len(records), anchors)])

    def _meta_revision(self) -> str | None:
        try:
            meta = json.loads((self.path / _META).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            raise StoreError(
                f"`{self.path / _META}` is unreadable ({err}); restore it or point the store at a new directory."
            ) from err
        return str(meta.get("schema_version"))

    def _write_meta(self) -> None:
        tmp = self.path / f".{_META}.tmp"
        tmp.write_text(json.dumps({"format": _FORMAT, "schema_version": HEAD_REVISION}) + "\n", encoding="utf-8")
        os.replace(tmp, self.path / _META)

    def schema_version(self) -> str:
        self.ensure_tables()
        with self._locked(exclusive=False):
            return self._meta_revision() or ""

    def close(self) -> None:
        with self._mutex:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
            self._ready = False
            self.closed = True

    # -- files -------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, *, exclusive: bool) -> Iterator[None]:
        """This thread alone, and (where `flock` exists) no other process writing meanwhile.

        Only the outermost hold takes the file lock: `flock` on a held descriptor would convert it.
        """
        with self._mutex:
            fd = self._lock_fd if fcntl is not None and self._depth == 0 else None
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """Catch up with the files, then keep them (and this store's memory of them) still while reading."""
        self.ensure_tables()
        with self._locked(exclusive=False):
            self._refresh()
            yield

    def _file(self, name: str) -> Path:
        return self.path / f"{name}.jsonl"

    def _append(self, name: str, lines: list[str]) -> None:
        """Write all lines at once and fsync; on failure cut the file back to where it was."""
        data = ("\n".join(lines) + "\n").encode("utf-8")
        fd = os.open(self._file(name), os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # end the torn line a crash left, so it cannot swallow this batch
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            except OSError as err:
                os.ftruncate(fd, size)
                raise StoreError(f"Could not append to `{self._file(name)}`: {err}; nothing was written.") from err
        finally:
            os.close(fd)

    def _refresh(self) -> None:
        """Read what was appended since the last read, by this or another process."""
        for name in _FILES:
            path = self._file(name)
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            seen = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
            inode, offset = self._offsets.get(name, (stat.st_ino, 0))
            last = self._seen.get(name)
            if last == seen:
                continue
            edited = last is not None and last[1] == stat.st_size  # same size, new mtime: rewritten
            if edited or inode != stat.st_ino or stat.st_size < offset or not _ends_a_line(path, offset):
                self._reset()  # a file was replaced or edited in place: read everything again
                self._refresh()
                return
            self._seen[name] = seen
            with path.open("rb") as handle:
                handle.seek(offset)
                data = handle.read(stat.st_size - offset)
            first_line = self._lines.get(name, 0) + 1
            end = offset
            for position, record in self._parse(name, data, offset, first_line):
                self._apply(name, record)
                end = position
            if name == "beam_events":
                self._commits.end(path)  # whole lines no commit follows: a writer crashed mid-batch
            # stop before a torn last line: once a writer ends it, it is read (and skipped) as a line
            self._offsets[name] = (stat.st_ino, end)
            self._lines[name] = first_line - 1 + data[: end - offset].count(b"\n")

    def _parse(
        self, name: str, data: bytes, offset: int = 0, first_line: int = 1
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """(end offset, record) for each line of a chunk read at `offset`; unreadable lines and a torn
        last line warn (once per place) and are skipped."""
        position = offset
        number = first_line
        for line in data.splitlines(keepends=True):
            start, position = position, position + len(line)
            if not line.endswith(b"\n"):
                if (name, start) not in self._warned:
                    self._warned.add((name, start))
                    warnings.warn(
                        f"Skipping a torn last line of `{self._file(name)}` ({len(line)} bytes): a write was "
                        "interrupted; the lines before it are intact and the next write starts a new line.",
                        RuntimeWarning,
                        stacklevel=5,
                    )
                return
            record = None
            if line.strip():
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                if not isinstance(record, dict) and (name, start) not in self._warned:
                    self._warned.add((name, start))
                    warnings.warn(
                        f"Skipping unreadable line {number} of `{self._file(name)}`; the other lines are "
                        "intact "
                        "(a crash mid-write or a manual edit left it).",
                        RuntimeWarning,
                        stacklevel=5,
                    )
            number += 1
            yield position, record if isinstance(record, dict) else {}

    def _apply(self, name: str, record: dict[str, Any]) -> None:
        if not record:
            return
        try:
            if name == "beam_events":
                for beam in self._commits.feed(record, self._file(name)):
                    self._apply_beam(beam)
            elif name == _LINKS:
                self._apply_link(record)
            else:
                key = NATURAL_KEYS.get(name)
                if key is not None:
                    self._keys[name].add(record[key])
                self._payload[name].append(record)
        except (KeyError, TypeError, ValueError) as err:
            warnings.warn(
                f"Skipping a record of `{self._file(name)}` without `{err}`; the other records are intact.",
                RuntimeWarning,
                stacklevel=4,
            )

    def _apply_beam(self, record: dict[str, Any]) -> None:
        row: dict[str, Any] = {name: record.get(name) for name in BEAM_COLUMNS}
        beam_id, run, seq = record["beam_id"], record["sheet_run_id"], int(record["seq"])
        missing = [key for key in ("cell_id", "timestamp", "parents") if key not in record]
        if missing:
            raise KeyError(missing[0])  # skip the line whole, before anything is indexed
        if beam_id in self._beams:
            warnings.warn(
                f"Skipping a second copy of beam `{beam_id}` in `{self._file('beam_events')}`; the first is kept.",
                RuntimeWarning,
                stacklevel=5,
            )
            return
        self._beams[beam_id] = row
        self._runs.setdefault(run, []).append(beam_id)
        tail = self._tails.get(run)
        if tail is None or seq > tail.seq:
            self._tails[run] = Tail(row["hash"], seq)
        self._by_cell.setdefault(row["cell_id"], []).append(beam_id)
        for parent in row["parents"]:
            self._children.setdefault(parent, []).append(beam_id)
        eid = row["eid"]
        if eid is not None:
            self._by_eid.setdefault(eid, []).append(beam_id)
            self._ents.setdefault(eid, {"eid": eid, "sheet_run_id": run, "created": row["timestamp"]})

    def _apply_link(self, record: dict[str, Any]) -> None:
        eid = record["eid"]
        created = record.pop("created")
        self._ents.setdefault(eid, {"eid": eid, "sheet_run_id": run_of_eid(eid), "created": created})
        self._members[(eid, record["beam_id"])] = record

    # -- writes ------------------------------------------------------------------------------------

    def _persist(self, beams: list[BeamEvent], key: ChainKey) -> tuple[list[BeamEvent], list[Anchor]]:
        self.ensure_tables()
        with self._locked(exclusive=True):
            self._refresh()
            taken = [b.beam_id for b in beams if b.beam_id in self._beams]
            if taken:
                raise StoreError(
                    f"Beam `{taken[0]}` is already stored{_more(taken)}; nothing was written; persist each "
                    "beam once, with a fresh id (`new_beam_id`)."
                )
            batch = link_batch(beams, {b.sheet_run_id: self._tails.get(b.sheet_run_id) for b in beams})
            anchors = seal(key, self._commits.head(), batch.ends)
            lines = [_beam_line(row) for row in batch.beam_rows]
            self._append("beam_events", [*lines, _commit_line(len(lines), anchors)])
            self._refresh()
        return batch.beams, anchors

    def _persist_cell(
        self,
        run_id: str,
        beams: list[BeamEvent],
        links: list[Any],
        rows: dict[str, list[dict[str, Any]]],
        key: ChainKey,
    ) -> tuple[CellCommit, list[Anchor]]:
        """Under one exclusive lock: the beams (with their commit line), then the links, then the rows.

        Files are appended one after another, so a crash between two appends keeps the cell's beams and
        loses what came after them (a SQL store commits all of it or nothing); other writers and readers
        never see a cell in between.
        """
        self.ensure_tables()
        with self._locked(exclusive=True):
            self._refresh()
            if self._runs.get(run_id):
                return CellCommit(run_id, self.beams_for_run(run_id), written=False), []
            for name, records in rows.items():
                natural = NATURAL_KEYS.get(name)
                if natural is not None:
                    check_unique(name, natural, records, self._keys[name])
            stored, anchors = self._persist(beams, key)
            if links:
                self.persist_entanglement_links(links)
            for name, records in rows.items():
                self._append(name, [_LINE(r) for r in records])
            self._refresh()
        return CellCommit(run_id, stored, written=True), anchors

    def persist_entanglement_links(self, links: Iterable[Any]) -> int:
        records = check_links(links)
        if not records:
            return 0
        self.ensure_tables()
        now = utc_now_iso()
        with self._locked(exclusive=True):
            self._refresh()
            for record in records:
                if record.beam_id not in self._beams:
                    raise StoreError(
                        f"Entanglement link `{record.eid}` names beam `{record.beam_id}`, which is not "
                        "stored; "
                        "nothing was written; persist the beam before its links."
                    )
            lines = [
                _LINE(
                    {
                        "eid": r.eid,
                        "beam_id": r.beam_id,
                        "cell_id": r.cell_id,
                        "role": r.role,
                        "schmidt_rank": r.schmidt_rank,
                        "entropy_bits": r.entropy_bits,
                        "created": now,
                    }
                )
                for r in records
            ]
            self._append(_LINKS, lines)
            self._refresh()
        return len(records)

    def _persist_rows(self, table: Any, records: list[dict[str, Any]]) -> None:
        with self._locked(exclusive=True):
            self._refresh()
            key = NATURAL_KEYS.get(table.name)
            if key is not None:
                check_unique(table.name, key, records, self._keys[table.name])
            self._append(table.name, [_LINE(r) for r in records])
            self._refresh()

    # -- reads -------------------------------------------------------------------------------------

    def get_beam(self, beam_id: str) -> BeamEvent | None:
        with self._reading():
            row = self._beams.get(beam_id)
            return None if row is None else _beam(row)

    def beams_for_run(self, sheet_run_id: str) -> list[BeamEvent]:
        with self._reading():
            rows = sorted((self._beams[i] for i in self._runs.get(sheet_run_id, ())), key=lambda r: r["seq"])
            return [_beam(r) for r in rows]

    def get_lineage_for_cell(self, cell_id: str) -> list[BeamEvent]:
        with self._reading():
            seeds = list(self._by_cell.get(cell_id, ()))
            ids = seeds + self._bfs(seeds, "ancestors")
            return self._beams_in_time_order(ids)

    def _has_beam(self, beam_id: str) -> bool:
        with self._reading():
            return beam_id in self._beams

    def _closure_ids(self, beam_id: str, direction: Direction) -> list[str]:
        with self._reading():
            return self._bfs([beam_id], direction)

    def _neighbours(self, ids: list[str], direction: Direction) -> list[str]:
        with self._reading():
            return [n for i in ids for n in self._next(i, direction)]

    def _next(self, beam_id: str, direction: Direction) -> list[str]:
        if direction == "ancestors":
            row = self._beams.get(beam_id)
            return list(row["parents"]) if row is not None else []
        return self._children.get(beam_id, [])

    def _bfs(self, seeds: list[str], direction: Direction) -> list[str]:
        """Every id reachable from `seeds`, nearest generation first."""
        seen = set(seeds)
        frontier = list(seeds)
        found: list[str] = []
        while frontier:
            step = []
            for beam_id in frontier:
                for other in self._next(beam_id, direction):
                    if other not in seen:
                        seen.add(other)
                        step.append(other)
            found.extend(step)
            frontier = step
        return found

    def _beams_in_time_order(self, ids: list[str]) -> list[BeamEvent]:
        rows = [self._beams[i] for i in dict.fromkeys(ids) if i in self._beams]
        rows.sort(key=lambda r: (r["timestamp"], r["seq"], r["beam_id"]))
        return [_beam(r) for r in rows]

    def _newest(self, by: str, key: str, n: int, container_id: str | None) -> list[BeamEvent]:
        with self._reading():
            ids = (self._by_eid if by == "eid" else self._runs).get(key, ())
            rows = [self._beams[i] for i in ids]
            if container_id is not None:
                rows = [r for r in rows if r["container_id"] == container_id]
            if by == "eid":
                rows.sort(key=lambda r: (r["timestamp"], r["seq"]))
            else:
                rows.sort(key=lambda r: r["seq"])
            return [_beam(r) for r in rows[-n:]]

    def beam_index(self, container_id: str) -> list[dict[str, Any]]:
        with self._reading():
            rows = [r for r in self._beams.values() if r["container_id"] == container_id]
        rows.sort(key=lambda r: (r["timestamp"], r["seq"], r["beam_id"]))
        out: list[dict[str, Any]] = []
        for r in rows:
            result = r["result"]
            value = result.get("duration_ms") if isinstance(result, Mapping) else None
            entry = {name: r.get(name) for name in _INDEX_COLUMNS}
            entry["parents"] = list(r["parents"])
            entry["duration_ms"] = (
                float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
            )
            if r["stage"] == "loop":
                entry["result"] = copy.deepcopy(result)
            out.append(entry)
        return out

    def _run_summaries(
        self, container_id: str | None, since: str | None, until: str | None, limit: int
    ) -> list[dict[str, Any]]:
        with self._reading():
            runs = [(run, [self._beams[i] for i in ids]) for run, ids in self._runs.items()]
        out = []
        for run, rows in runs:
            if container_id is not None and rows[0]["container_id"] != container_id:
                continue
            stamps = [r["timestamp"] for r in rows]
            started = min(stamps)
            if (since is not None and started < since) or (until is not None and started >= until):
                continue
            out.append(
                {
                    "run_id": run,
                    "container_id": max(r["container_id"] for r in rows),
                    "cell_id": max(r["cell_id"] for r in rows),
                    "started": started,
                    "ended": max(stamps),
                    "beams": len(rows),
                    "errors": sum(1 for r in rows if r["stage"] == "error"),
                    "vetoes": sum(1 for r in rows if r["verdict"] == "veto"),
                }
            )
        out.sort(key=lambda r: (r["started"], r["run_id"]), reverse=True)
        return out[:limit]

    def _run_ids(self) -> list[str]:
        with self._reading():
            return sorted(self._runs)

    def entanglement_map(self, sheet_run_id: str | None = None) -> dict[str, list[str]]:
        with self._reading():
            cells: dict[str, set[str]] = {}
            for eid, ids in self._by_eid.items():
                cells.setdefault(eid, set()).update(self._beams[i]["cell_id"] for i in ids)
            for (eid, _), member in self._members.items():
                cells.setdefault(eid, set()).add(member["cell_id"])
            ents = sorted(self._ents.values(), key=lambda e: (e["created"], e["eid"]))
            return {
                e["eid"]: sorted(cells.get(e["eid"], ()))
                for e in ents
                if (sheet_run_id is None or e["sheet_run_id"] == sheet_run_id) and e["eid"] in cells
            }

    def _select(self, table: sa.Table, filters: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        with self._reading():
            rows = [r for r in self._table_rows(table) if all(r.get(k) == v for k, v in filters.items())]
        order = ROW_ORDER[table.name]
        rows.sort(key=lambda r: tuple(r[k] for k in order))
        yield from rows

    def _table_rows(self, table: sa.Table) -> list[dict[str, Any]]:
        """Every row of a table, materialised from the files (derived tables included)."""
        columns = [c.name for c in table.columns]
        name = table.name
        if name == "beam_events":
            source: Iterable[Mapping[str, Any]] = self._beams.values()
        elif name == "lineage_edges":
            source = ({"child_id": b, "parent_id": p} for b, row in self._beams.items() for p in row["parents"])
        elif name == "entanglements":
            source = self._ents.values()
        elif name == "entanglement_members":
            source = self._members.values()
        elif name == "run_anchors":
            source = (a.as_dict() for a in self._commits.anchors)
        else:
            source = ({"id": i, **r} for i, r in enumerate(self._payload[name], start=1))
        json_cols = JSON_COLUMNS[name]
        return [{c: copy.deepcopy(r.get(c)) if c in json_cols else r.get(c) for c in columns} for r in source]

    def _chain_rows(self, sheet_run_id: str) -> Iterator[dict[str, Any]]:
        rows = [r for r in self._from_disk()[0] if r.get("sheet_run_id") == sheet_run_id]
        rows.sort(key=lambda r: r["seq"] if isinstance(r["seq"], int) else 0)
        yield from rows

    def _anchors(self) -> list[Anchor]:
        return self._from_disk()[1]

    def anchors(self, after: int = 0) -> list[Anchor]:
        with self._reading():
            return [a for a in self._commits.anchors if a.seq > after]

    @contextlib.contextmanager
    def _verifying(self) -> Iterator[None]:
        """Read the file once for a whole `verify` (not once per run)."""
        self._disk = self._read_disk()
        try:
            yield
        finally:
            self._disk = None

    def _from_disk(self) -> tuple[list[dict[str, Any]], list[Anchor]]:
        return self._disk if self._disk is not None else self._read_disk()

    def _read_disk(self) -> tuple[list[dict[str, Any]], list[Anchor]]:
        """The committed beam rows and the anchors as the file holds them now, read afresh: verifying
        checks the file, not what this process remembers."""
        self.ensure_tables()
        path = self._file("beam_events")
        with self._locked(exclusive=False):
            data = path.read_bytes() if path.exists() else b""
        commits = _Commits(strict=True)
        rows = [
            {name: beam.get(name) for name in BEAM_COLUMNS}
            for _, record in self._parse("beam_events", data)
            for beam in commits.feed(record, path)
        ]
        commits.end(path)
        return rows, commits.anchors


def _beam_line(row: tuple[Any, ...]) -> str:
    """One beam as a JSON line, the result and parents spliced in as the canonical text already built."""
    fields = dict(zip(BEAM_COLUMNS, row, strict=True))
    result, parents = fields.pop("result"), fields.pop("parents")
    head = _LINE(fields)
    return f'{head[:-1]},"parents":{parents},"result":{result}}}'


def _ends_a_line(path: Path, offset: int) -> bool:
    """Whether the byte before `offset` ends a line (else the file was edited under the reader)."""
    if offset == 0:
        return True
    with path.open("rb") as handle:
        handle.seek(offset - 1)
        return handle.read(1) == b"\n"


def _beam(row: dict[str, Any]) -> BeamEvent:
    """A BeamEvent that shares no mutable part with the store's memory of the file."""
    return beam_from_row({**row, "result": copy.deepcopy(row["result"])})


def _commit_line(lines: int, anchors: list[Anchor]) -> str:
    """The line that ends a batch: how many beam lines it commits, and their runs' anchors."""
    return _LINE({"lines": lines, "anchors": [a.as_dict() for a in anchors]})


class _Commits:
    """Beam lines wait until the commit line of their batch; lines no commit follows are dropped.

    `strict` (verifying) raises on a malformed anchor instead of skipping it with a warning.
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.pending: list[dict[str, Any]] = []
        self.anchors: list[Anchor] = []
        self.strict = strict

    def head(self) -> Anchor | None:
        return self.anchors[-1] if self.anchors else None

    def feed(self, record: dict[str, Any], path: Path) -> list[dict[str, Any]]:
        """The beam records that `record` commits (none unless it is a commit line)."""
        if not record:
            return []
        if "anchors" not in record:
            self.pending.append(record)
            return []
        try:
            count = int(record["lines"])
            anchors = [Anchor.from_row(a) for a in record["anchors"]]
        except (KeyError, TypeError, ValueError) as err:
            if self.strict:
                raise StoreError(
                    f"A commit line of `{path}` is malformed ({err}): the file was edited; restore it from a backup."
                ) from err
            warnings.warn(f"Skipping a malformed commit line of `{path}` ({err}).", RuntimeWarning, stacklevel=6)
            return []
        self.anchors += anchors
        committed = self.pending[len(self.pending) - count :] if count > 0 else []
        self._drop(len(self.pending) - len(committed), path)
        self.pending = []
        return committed

    def end(self, path: Path) -> None:
        """The end of what was read: beam lines still waiting belong to a batch that never committed."""
        self._drop(len(self.pending), path)
        self.pending = []

    def _drop(self, count: int, path: Path) -> None:
        if count > 0 and not self.strict:
            warnings.warn(
                f"Skipping {count} beam line(s) of `{path}` that no commit line follows: a write was interrupted "
                "before its batch committed; the batches before and after it are intact.",
                RuntimeWarning,
                stacklevel=6,
            )
