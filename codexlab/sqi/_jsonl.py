"""Append records to the collapse-trace JSONL file: one locked write, flush and fsync per batch."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from codexlab.contracts import canonical_json

__all__ = ["append_jsonl"]


def append_jsonl(path: str | os.PathLike[str], records: Sequence[Any]) -> Path:
    """Append one JSON line per record (contract models are dumped) and make the batch durable.

    The batch is one `write` under an exclusive `flock`, so concurrent writers never interleave lines.
    """
    target = Path(path).expanduser()
    if not records:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(canonical_json(r) + "\n" for r in records).encode("utf-8")
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    return target
