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
from codexlab.store._codec import (
    BEAM_COLUMNS,
    SCORE_FIELDS,
    Tail,
    beam_from_row,
    link_batch,
    score_update,
)
from codexlab.store.base import BeamStore, Direction, check_links, check_unique, run_of_eid
from codexlab.store.base import more_of_batch as _more
from codexlab.store.schema import (
    HEAD_REVISION,
    JSON_COLUMNS,
    NATURAL_KEYS,
    PAYLOAD_TABLES,
    ROW_ORDER,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process per store directory
    fcntl = None  # type: ignore[assignment]

__all__ = ["JSONLStore"]

_META = "meta.json"
_FORMAT = "codexlab-jsonl"
_KNOWN_REVISIONS = ("0001", "0002")
_SCORES = "beam_scores"
_LINKS = "entanglement_members"
_FILES: tuple[str, ...] = ("beam_events", _SCORES, _LINKS, *PAYLOAD_TABLES)

# Lines keep `NaN`/`Infinity` floats as JSON's extension tokens, which `json.loads` reads back.
_LINE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=True).encode

# `beam_index` columns copied as stored.
_INDEX_COLUMNS = ("beam_id", "sheet_run_id", "cell_id", "stage", "token", "verdict", "eid")


class JSONLStore(BeamStore):
    """Beams as JSON lines under one directory, for development and inspection with plain tools.

    Each table is a `<table>.jsonl` file that is only ever appended to (score updates and
    entanglement links go to their own files; lineage edges and entanglements are derived from the
    beams). A batch is built in full, then written with one `write` and an `fsync`; a crash leaves at
    most a torn last line, which readers skip with a warning.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.path = Path(directory).expanduser().resolve()
        self.url = f"jsonl://{self.path}"
        self.closed = False
        self._mutex = threading.RLock()
        self._lock_fd: int | None = None
        self._depth = 0
        self._ready = False
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
                if revision != HEAD_REVISION:
                    # 0001 -> 0002 only adds `metrics` and `verdict`, both absent until written.
                    self._write_meta()
            self._ready = True

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
                self._apply_beam(record)
            elif name == _SCORES:
                row = self._beams.get(record["beam_id"])
                if row is not None:
                    row.update({k: record[k] for k in SCORE_FIELDS if k in record})
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

    def _persist(self, beams: list[BeamEvent]) -> list[BeamEvent]:
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
            self._append("beam_events", [_beam_line(row) for row in batch.beam_rows])
            self._refresh()
        return batch.beams

    def update_beam_scores(self, updates: Iterable[Mapping[str, Any]]) -> int:
        items = [score_update(item, index) for index, item in enumerate(updates)]
        if not items:
            return 0
        self.ensure_tables()
        with self._locked(exclusive=True):
            self._refresh()
            for item in items:
                if item["beam_id"] not in self._beams:
                    raise StoreError(
                        f"No beam `{item['beam_id']}` to score; nothing was updated; persist the beams "
                        "before "
                        "attaching scores."
                    )
            self._append(_SCORES, [_LINE(item) for item in items])
            self._refresh()
        return len({item["beam_id"] for item in items})

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
        else:
            source = ({"id": i, **r} for i, r in enumerate(self._payload[name], start=1))
        json_cols = JSON_COLUMNS[name]
        return [{c: copy.deepcopy(r.get(c)) if c in json_cols else r.get(c) for c in columns} for r in source]

    def _chain_rows(self, sheet_run_id: str) -> Iterator[dict[str, Any]]:
        """Read from disk afresh: verifying checks the file, not what this process remembers."""
        self.ensure_tables()
        path = self._file("beam_events")
        with self._locked(exclusive=False):
            data = path.read_bytes() if path.exists() else b""
        rows: list[dict[str, Any]] = []
        for _, record in self._parse("beam_events", data):
            if record.get("sheet_run_id") == sheet_run_id:
                rows.append({name: record.get(name) for name in BEAM_COLUMNS})
        rows.sort(key=lambda r: r["seq"])
        yield from rows


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
