"""The sheet cache: each cell's outputs under a content-hash key, kept in the home across processes.

`<home>/sheets/index/<key>.json` says what a key's cell produced (names, their beam ids and value hashes,
the run) and `<home>/sheets/values/<key>.pkl` holds the bindings themselves. Files are written then
renamed, so a crash never leaves half an entry; an entry whose payload is missing or does not match its
recorded hash is a miss, never an error. The payload is a pickle: trust the cache like the home itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..contracts import utc_now_iso

__all__ = ["SheetCache", "CacheEntry", "CACHE_FORMAT"]

#: Bumped when the entry layout changes; older entries are then misses.
CACHE_FORMAT = 1


@dataclass
class CacheEntry:
    """One cell's reusable result: what it bound, where its beams are, and the state it left."""

    key: str
    cell_id: str
    run_id: str
    #: name → {"beam_id": …, "digest": …, "kind": …} for every name the cell bound (`_` included)
    outputs: dict[str, dict[str, Any]]
    duration_ms: float
    #: the pickled part: bindings, directive state, pair membership, norms, the cell's report and qscore
    payload: dict[str, Any] = field(default_factory=dict)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class SheetCache:
    """Cell results by key under a folder (normally `<home>/sheets`)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _index(self, key: str) -> Path:
        return self.root / "index" / f"{key}.json"

    def _values(self, key: str) -> Path:
        return self.root / "values" / f"{key}.pkl"

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._index(key).is_file()

    def __len__(self) -> int:
        return sum(1 for _ in (self.root / "index").glob("*.json")) if (self.root / "index").is_dir() else 0

    def store(self, entry: CacheEntry) -> None:
        """Write an entry (payload first, then the index that points at it)."""
        blob = pickle.dumps(entry.payload, protocol=pickle.HIGHEST_PROTOCOL)
        _write(self._values(entry.key), blob)
        index = {
            "format": CACHE_FORMAT,
            "key": entry.key,
            "cell_id": entry.cell_id,
            "run_id": entry.run_id,
            "outputs": entry.outputs,
            "duration_ms": entry.duration_ms,
            "payload_blake2b": hashlib.blake2b(blob, digest_size=16).hexdigest(),
            "created": utc_now_iso(),
        }
        _write(self._index(entry.key), json.dumps(index, ensure_ascii=False, sort_keys=True).encode("utf-8"))

    def lookup(self, key: str) -> CacheEntry | None:
        """The entry for `key`, or None when there is none or it is unreadable or does not match its hash."""
        try:
            index = json.loads(self._index(key).read_text(encoding="utf-8"))
            if index.get("format") != CACHE_FORMAT or index.get("key") != key:
                return None
            blob = self._values(key).read_bytes()
            if hashlib.blake2b(blob, digest_size=16).hexdigest() != index["payload_blake2b"]:
                return None
            payload = pickle.loads(blob)  # noqa: S301 - written by this cache, checked against its index
        except (OSError, ValueError, KeyError, TypeError, pickle.UnpicklingError, AttributeError, EOFError):
            return None
        return CacheEntry(
            key=key,
            cell_id=str(index["cell_id"]),
            run_id=str(index["run_id"]),
            outputs=dict(index["outputs"]),
            duration_ms=float(index["duration_ms"]),
            payload=payload,
        )
