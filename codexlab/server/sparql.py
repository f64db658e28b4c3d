"""The REST SPARQL endpoint's guard: read-only queries that never reach outside (`SERVICE` refused).

Updates cannot run at all: the knowledge graph's `query` parses queries only, and an update is a
syntax error there. `SERVICE` would make the server fetch from any URL a caller names, so a query that
uses the keyword is refused before it runs. Strings, IRIs and comments are blanked first, so the word
inside a literal (`"customer service"`) or an IRI does not count.
"""

from __future__ import annotations

import re

from ..errors import CodexValueError

__all__ = ["MAX_QUERY_CHARS", "check_query"]

#: Longest query accepted (characters).
MAX_QUERY_CHARS = 100_000

_SKIPPED = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'  # long strings
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'  # short strings
    r"|'(?:[^'\\\n]|\\.)*'"
    r"|<[^<>\"{}|^`\\\x00-\x20]*>"  # IRIs
    r"|#[^\n]*",  # comments
    re.DOTALL,
)
_SERVICE = re.compile(r"(?<![\w:?$])SERVICE(?![\w:])", re.IGNORECASE)


def check_query(query: str) -> str:
    """The query, if it may run here; `CodexValueError` (with line and column) otherwise."""
    if not isinstance(query, str) or not query.strip():
        raise CodexValueError("The SPARQL query is empty; pass `query` (a SELECT, ASK, CONSTRUCT or DESCRIBE).")
    if len(query) > MAX_QUERY_CHARS:
        raise CodexValueError(f"The SPARQL query has {len(query):,} characters, over the {MAX_QUERY_CHARS:,} allowed.")
    blanked = _SKIPPED.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), query)
    found = _SERVICE.search(blanked)
    if found is not None:
        line = blanked.count("\n", 0, found.start()) + 1
        column = found.start() - (blanked.rfind("\n", 0, found.start()) + 1) + 1
        raise CodexValueError(
            "`SERVICE` (a federated query) is refused here: the server would fetch from another endpoint; "
            "query the codexlab graph only.",
            line=line,
            column=column,
        )
    return query
