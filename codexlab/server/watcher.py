"""Runs committed by other processes on the same home (notebook kernels, the CLI), found by their QFC files.

A committed run writes `<home>/qfc/<run_id>.json` (write, then rename). The fabric's tick asks `poll()`,
which lists the folder only when its modification time changed or is recent (timestamps are coarser than
the time between two renames), and returns the QFC ids of files that appeared since the last poll. Files
present at the first poll are the baseline, not news.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["RunWatcher"]

#: A folder modified this recently is listed again even when its timestamp did not move.
RECENT_NS = 2_000_000_000


class RunWatcher:
    """New `<run_id>.json` files in a QFC folder, as `qfc::<run_id>` ids, oldest first."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self._stamp: int | None = None
        self._known: set[str] | None = None

    def poll(self) -> list[str]:
        """QFC ids of the runs committed since the last poll (none at the first poll)."""
        try:
            stamp = self.folder.stat().st_mtime_ns
        except FileNotFoundError:
            stamp = None
        settled = stamp is None or time.time_ns() - stamp > RECENT_NS
        if self._known is not None and stamp == self._stamp and settled:
            return []
        self._stamp = stamp
        found = self._scan()
        if self._known is None:
            self._known = set(found)
            return []
        new = [name for name in found if name not in self._known]
        self._known.update(new)
        new.sort(key=lambda name: found[name])
        return [f"qfc::{name}" for name in new]

    def _scan(self) -> dict[str, int]:
        """Run ids of the finished files (temporary `.json.tmp` files are skipped) with their mtimes."""
        out: dict[str, int] = {}
        try:
            with os.scandir(self.folder) as entries:
                for entry in entries:
                    if entry.name.endswith(".json") and entry.is_file():
                        out[entry.name[: -len(".json")]] = entry.stat().st_mtime_ns
        except FileNotFoundError:
            pass
        return out
