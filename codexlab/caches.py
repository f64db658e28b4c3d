"""Caches that outlive a process: compiled JAX programs, measured κ, verified rewrite rules.

They live in `$CODEXLAB_CACHE_DIR`, else `$CODEXLAB_HOME/cache`, else `./.codexlab/cache`, so a new
kernel's first cell reuses what an earlier process computed instead of paying for it again. Every entry
is keyed by what decides its value plus the codexlab version; a cache that cannot be read or written
is skipped (the value is computed as if it were empty), never trusted half-written.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

__all__ = ["JsonCache", "cache_dir", "enable_jax_compilation_cache"]

_LOCK = threading.Lock()
_JAX_CACHE: list[Path | None] = []


def cache_dir(kind: str) -> Path:
    """The folder of one kind of cache (`jax`, `kappa`, `rules`): `$CODEXLAB_CACHE_DIR/<kind>`, else
    `$CODEXLAB_HOME/cache/<kind>`, else `./.codexlab/cache/<kind>` (created on first write)."""
    root = os.environ.get("CODEXLAB_CACHE_DIR")
    if not root:
        root = str(Path(os.environ.get("CODEXLAB_HOME") or ".codexlab") / "cache")
    return Path(root).expanduser() / kind


def enable_jax_compilation_cache() -> Path | None:
    """Point JAX's persistent compilation cache at `cache_dir("jax")`, once per process, keeping every
    compiled program (no minimum compile time or size). Must run before the first compilation; a cache
    folder the user already gave JAX is left as it is. Returns the folder JAX uses (None: none)."""
    import jax

    with _LOCK:
        if not _JAX_CACHE:
            configured = getattr(jax.config, "jax_compilation_cache_dir", None)
            if configured is None:
                configured = str(cache_dir("jax"))
                jax.config.update("jax_compilation_cache_dir", configured)
                jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
                jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
            _JAX_CACHE.append(Path(configured) if configured else None)
        return _JAX_CACHE[0]


class JsonCache:
    """One JSON file of `{key: value}` under `cache_dir(kind)`; `get` reads it, `put` rewrites it atomically.

    Values must be JSON types. Concurrent writers may drop each other's newest entry (the next process
    computes it again); they never leave a torn file, since each write goes to a temporary file first.
    """

    def __init__(self, kind: str, name: str) -> None:
        self.kind, self.name = kind, name
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        """The file, in the cache folder the environment names now."""
        return cache_dir(self.kind) / self.name

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def get(self, key: str) -> Any:
        """The value stored under `key`, or None."""
        with self._lock:
            return self._read().get(key)

    def put(self, key: str, value: Any) -> None:
        """Store `value` under `key` (skipped silently when the folder is not writable: a cache is optional)."""
        path = self.path
        with self._lock:
            data = self._read()
            data[key] = value
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
            except OSError:
                return
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(data, out, ensure_ascii=False, sort_keys=True)
                os.replace(tmp, path)
            except OSError:
                Path(tmp).unlink(missing_ok=True)
