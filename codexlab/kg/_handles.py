"""Open Oxigraph stores shared per directory in a process, with the read-only fallback for a locked one.

RocksDB lets one process write a directory. Here every `KnowledgeGraph` on a path shares one `Handle`;
when another process holds the lock the handle opens read-only (`Store.read_only`), reopens itself
whenever the store's files change (so it follows the writer), and becomes the writer once the lock
is free and a write is asked for.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pyoxigraph import Store

from codexlab.errors import StoreError

__all__ = ["Handle", "acquire", "release", "unusable"]

Stamp = tuple[tuple[str, int, int], ...]


def _stamp(path: Path) -> Stamp:
    """Names, sizes and modification times of the store's files: changes whenever the writer commits."""
    try:
        entries = [(e.name, e.stat()) for e in os.scandir(path) if e.is_file()]
    except OSError:
        return ()
    return tuple(sorted((name, st.st_size, st.st_mtime_ns) for name, st in entries))


def _is_lock_error(err: OSError) -> bool:
    """Whether opening failed because RocksDB's `LOCK` file is held (here or by another process)."""
    return "lock" in str(err).lower()


def unusable(path: Path, err: BaseException, doing: str = "be opened") -> StoreError:
    """The error for a graph RocksDB cannot use (corrupt files, a half-deleted folder): it names the fix.

    The graph is derived from the beam store, so rebuilding it loses nothing.
    """
    home = path.parent
    reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return StoreError(
        f"The knowledge graph at `{path}` cannot {doing} ({reason}); rebuild it from the beam store with "
        f"`codexlab kg rebuild --home {home}` (every beam is in the store; the graph is derived from it)."
    )


def _open_read_only(path: Path) -> Store:
    """A read-only Oxigraph instance, or a StoreError that names the path (and the fix)."""
    if not (path / "CURRENT").is_file():
        raise StoreError(
            f"There is no knowledge graph at `{path}`; run a scroll first (a `Lab` creates it) or pass the right home."
        )
    try:
        return Store.read_only(str(path))
    except (OSError, RuntimeError) as err:  # RocksDB reports corruption as RuntimeError
        raise unusable(path, err, "be opened read-only") from err


def _open_writer(path: Path) -> Store | None:
    """The read-write instance, or None when another process holds the lock."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        return Store(str(path))
    except OSError as err:
        if _is_lock_error(err):
            return None
        raise StoreError(
            f"The knowledge graph at `{path}` could not be opened: {err}; check the path and its permissions."
        ) from err
    except RuntimeError as err:  # RocksDB reports corruption as RuntimeError
        raise unusable(path, err) from err


@dataclass
class Handle:
    """One open store shared by every `KnowledgeGraph` of a path in this process."""

    path: Path
    store: Store | None
    writable: bool
    locked_elsewhere: bool = False
    users: int = 0
    stamp: Stamp = ()
    lock: threading.RLock = field(default_factory=threading.RLock)

    def current(self) -> Store:
        """The open store; a read-only view is reopened first when the writer has committed since."""
        store = self.store
        if store is None:
            raise StoreError(f"The knowledge graph at `{self.path}` is closed; open a new `KnowledgeGraph` on it.")
        if self.writable:
            return store
        stamp = _stamp(self.path)
        if stamp == self.stamp:
            return store
        with self.lock:
            # Stamp first: a commit that races the reopen is then seen at the next call.
            self.stamp = stamp
            self.store = _open_read_only(self.path)
            return self.store

    def reopen(self) -> None:
        """A fresh read-only view of the files as they are now."""
        with self.lock:
            if not self.writable:
                self.stamp = _stamp(self.path)
                self.store = _open_read_only(self.path)

    def try_upgrade(self) -> bool:
        """Become the writer when the lock is free; False while another process holds it."""
        with self.lock:
            if self.writable:
                return True
            store = _open_writer(self.path)
            if store is None:
                return False
            self.store, self.writable, self.locked_elsewhere = store, True, False
            return True


_HANDLES: dict[Path, Handle] = {}
_HANDLES_LOCK = threading.Lock()


def _open(path: Path, read_only: bool) -> Handle:
    """A new handle: read-write unless asked otherwise or another process holds the lock."""
    stamp = _stamp(path)
    if read_only:
        return Handle(path, _open_read_only(path), writable=False, stamp=stamp)
    store = _open_writer(path)
    if store is not None:
        return Handle(path, store, writable=True)
    return Handle(path, _open_read_only(path), writable=False, locked_elsewhere=True, stamp=stamp)


def acquire(path: Path, *, read_only: bool) -> Handle:
    """The shared handle of `path` (opened on first use); a writer request upgrades a read-only one."""
    with _HANDLES_LOCK:
        handle = _HANDLES.get(path)
        if handle is None or handle.store is None:
            handle = _HANDLES[path] = _open(path, read_only)
        elif not read_only:
            handle.try_upgrade()
        handle.users += 1
        return handle


def release(handle: Handle) -> None:
    """Drop one user; the last one closes the store, which frees its lock."""
    with _HANDLES_LOCK:
        handle.users -= 1
        if handle.users > 0:
            return
        with handle.lock:
            handle.store = None
        if _HANDLES.get(handle.path) is handle:
            del _HANDLES[handle.path]
