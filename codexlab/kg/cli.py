"""Command-line helpers for `codexlab kg query` and `codexlab kg export` (the lead wires the parser)."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from codexlab.kg.sandbox import DEFAULT_TIME_LIMIT_S
from codexlab.kg.store import KnowledgeGraph, kg_path
from codexlab.kg.vocab import compact

__all__ = ["format_table", "kg_export_cli", "kg_query_cli"]

_MAX_CELL = 80


def _cell(value: Any) -> str:
    """One table cell: IRIs compacted with the known prefixes, long text cut with an ellipsis."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.isoformat()
    elif isinstance(value, str) and value.startswith(("http://", "https://")):
        text = compact(value)
    else:
        text = str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def format_table(rows: list[dict[str, Any]], names: list[str] | None = None) -> str:
    """Rows as an aligned text table with a header, a rule and a row count."""
    names = names if names is not None else (list(rows[0]) if rows else [])
    if not names:
        return f"({len(rows)} row{'s' if len(rows) != 1 else ''})"
    cells = [[_cell(row.get(name)) for name in names] for row in rows]
    widths = [max([len(name), *(len(r[i]) for r in cells)]) for i, name in enumerate(names)]
    lines = ["  ".join(name.ljust(w) for name, w in zip(names, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(lines)


def kg_query_cli(
    home: str | os.PathLike[str] | None, sparql: str, timeout_s: float | None = DEFAULT_TIME_LIMIT_S
) -> str:
    """Run SPARQL on a home's knowledge graph (read-only, so a running `Lab` keeps its lock); a table.

    ASK prints `true` or `false`. Raises StoreError when the home has no knowledge graph,
    CodexSyntaxError when the query does not parse or uses `SERVICE`, and ResourceError when it runs
    past `timeout_s`.
    """
    kg = KnowledgeGraph(kg_path(home), read_only=True)
    try:
        result = kg._query_rows(sparql, timeout_s)
    finally:
        kg.close()
    if isinstance(result, bool):
        return "true" if result else "false"
    names, rows = result
    return format_table(rows, names)


def kg_export_cli(
    home: str | os.PathLike[str] | None, format: str = "turtle", dest: str | os.PathLike[str] | None = None
) -> str:
    """Export a home's knowledge graph: the text when `dest` is None, else a line saying where it went."""
    kg = KnowledgeGraph(kg_path(home), read_only=True)
    try:
        text = kg.export(format, dest)
        count, graphs = len(kg), len(kg.graphs())
    finally:
        kg.close()
    if text is not None:
        return text
    return f"wrote {count} quads in {graphs} named graphs as {format} to {dest}"
