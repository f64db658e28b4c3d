"""Collapse traces (contract 6): one record per ⧖ and per ambiguous choice, with a hologram whose ids
resolve (replay id, vault snapshot, QGlyph program hash) and a dream pack (scroll tree, entropy
before/after in nats, memory tags), appended to the collapse-trace JSONL beside the SoulLaw events.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from codexlab.contracts import CollapseTrace
from codexlab.sqi._jsonl import append_jsonl

__all__ = ["export_collapse_trace"]


def export_collapse_trace(
    *,
    expression: str,
    output: str | Mapping[str, Any],
    adapter: Literal["photon", "codex", "qwave"],
    identity: str,
    ghx_projection_id: str | None,
    vault_snapshot_id: str | None,
    qglyph_id: str | None,
    scroll_tree: Mapping[str, Any],
    entropy_before: float | None,
    entropy_after: float | None,
    memory_tags: Iterable[str],
    trigger_metadata: Any = None,
    ghx_data: Any = None,
    path: str | os.PathLike[str],
    store: Any = None,
    timestamp: float | None = None,
) -> CollapseTrace:
    """Write one collapse trace to the JSONL at `path` (one write, flush and fsync) and, with a store, to
    its `collapse_traces` table; returns the validated record.

    Parameters: `expression` — the collapsed expression as text; `output` — text or an object (e.g.
    `{"outcome": [...], "probability": p}`); `adapter` — photon, codex or qwave; `identity` — user or
    agent; the three signature ids (None where none exists); `scroll_tree` — the Codex AST as JSON;
    `entropy_before`/`entropy_after` — H in nats (`shannon_entropy`); `memory_tags`;
    `trigger_metadata` — what triggered it (a scheduler choice, the rules that matched, …).
    Raises: `ContractError` when the record does not validate (nothing is written).
    """
    fields: dict[str, Any] = dict(
        expression=expression,
        output=dict(output) if isinstance(output, Mapping) else output,
        adapter=adapter,
        identity=identity,
        timestamp=time.time() if timestamp is None else timestamp,
        hologram={
            "ghx_data": ghx_data,
            "trigger_metadata": trigger_metadata,
            "signature_block": {
                "ghx_projection_id": ghx_projection_id,
                "vault_snapshot_id": vault_snapshot_id,
                "qglyph_id": qglyph_id,
            },
            "dream_pack": {
                "scroll_tree": dict(scroll_tree),
                "entropy_state": {"before": entropy_before, "after": entropy_after, "unit": "nats"},
                "memory_tags": list(memory_tags),
            },
        },
    )
    trace = CollapseTrace(**fields)
    append_jsonl(path, [trace])
    if store is not None:
        store.persist_rows("collapse_traces", [trace])
    return trace
