"""The pattern trace: an append-only JSONL log of what SPE mined for a container, one line per call."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

__all__ = ["record_trace", "read_trace", "trace_file"]


def trace_file(path: str | os.PathLike[str], container_id: str) -> Path:
    """The trace file of a container: `path` itself when it ends in `.jsonl`, else `<path>/patterns-<id>.jsonl`."""
    base = Path(path)
    if base.suffix == ".jsonl":
        return base
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in container_id)
    return base / f"patterns-{safe}.jsonl"


def _plain(value: Any) -> Any:
    """JSON-ready values: frames become lists of row dicts, mappings and sequences are walked."""
    if isinstance(value, pl.DataFrame):
        return value.to_dicts()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    return value


def record_trace(path: str | os.PathLike[str], container_id: str, patterns: Mapping[str, Any]) -> Path:
    """Append one line `{type, container_id, timestamp, patterns}` to the container's trace; never rewrites.

    The line is written with one `write` on a file opened in append mode, so concurrent writers do not
    interleave within a line. Returns the file.
    """
    target = trace_file(path, container_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "type": "pattern_trace",
        "container_id": container_id,
        "timestamp": time.time(),
        "patterns": _plain(patterns),
    }
    line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
    with open(target, "a", encoding="utf-8") as out:
        out.write(line)
    return target


def read_trace(path: str | os.PathLike[str], container_id: str) -> list[dict[str, Any]]:
    """Every record of a container's trace, oldest first (empty when there is none yet)."""
    target = trace_file(path, container_id)
    if not target.exists():
        return []
    with open(target, encoding="utf-8") as src:
        return [json.loads(line) for line in src if line.strip()]
