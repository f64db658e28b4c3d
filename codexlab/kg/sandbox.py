"""Limits on user SPARQL: no federated `SERVICE` calls, and a wall-clock limit enforced by a child process.

Oxigraph answers `SERVICE <http://…>` by making HTTP requests, so a query could reach any host the
machine can; such queries are refused before anything is evaluated. Oxigraph has no way to stop a
running query, so a query with a time limit runs in a child process that opens the graph read-only
and is killed when the limit passes (or when the caller is interrupted).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from pyoxigraph import QueryBoolean, QueryResultsFormat, QuerySolutions, RdfFormat, parse, parse_query_results

from codexlab.errors import CodexSyntaxError, ResourceError, StoreError

__all__ = ["DEFAULT_TIME_LIMIT_S", "decode_result", "refuse_remote", "run_limited"]

#: The time limit of `KnowledgeGraph.query` unless the caller passes `timeout_s`.
DEFAULT_TIME_LIMIT_S = 30.0

# SPARQL applies `\uXXXX` / `\UXXXXXXXX` escapes to the whole query text before parsing it (SPARQL 1.1,
# 19.2), so they are decoded first: `\u0053ERVICE` is `SERVICE`.
_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# What cannot hold a keyword: string literals (long forms first), IRIs and comments.
_OPAQUE = re.compile(
    r"'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'(?:[^'\\\n\r]|\\.)*'"
    r'|"(?:[^"\\\n\r]|\\.)*"'
    r'|<[^<>"{}|^`\\\x00-\x20]*>'
    r"|#[^\n\r]*",
    re.DOTALL,
)
# `SERVICE` as a keyword: not part of a prefixed name (`ex:SERVICE`, `SERVICE:x`) or a variable (`?SERVICE`).
_SERVICE = re.compile(r"(?<![\w:?$])SERVICE(?![\w:-])", re.IGNORECASE)


def refuse_remote(sparql: str) -> None:
    """Raise `CodexSyntaxError` if the query uses `SERVICE` (a federated call to another endpoint)."""
    text = _CODEPOINT.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), sparql)
    bare = _OPAQUE.sub(lambda m: " " * len(m.group(0)), text)
    match = _SERVICE.search(bare)
    if match is None:
        return
    line = bare.count("\n", 0, match.start()) + 1
    column = match.start() - (bare.rfind("\n", 0, match.start()) + 1) + 1
    lines = text.splitlines() or [""]
    raise CodexSyntaxError(
        "SPARQL `SERVICE` is refused: the knowledge graph answers from its own data and never calls other "
        "endpoints; drop the `SERVICE` block, or query that endpoint yourself and load what you need",
        line=line,
        column=column,
        source_line=lines[line - 1] if line <= len(lines) else "",
    )


def run_limited(path: Path, sparql: str, prefixes: dict[str, str], timeout_s: float) -> bytes:
    """Evaluate a query in a child process on the graph at `path`, read-only; the serialized result.

    SELECT and ASK come back as SPARQL JSON results, CONSTRUCT and DESCRIBE as N-Triples.

    Raises:
        ResourceError: the query ran past `timeout_s` (the child was killed).
        CodexSyntaxError: the query does not parse (raised by the caller from the child's report).
        StoreError: the child could not open or read the graph.
    """
    request = json.dumps({"path": str(path), "sparql": sparql, "prefixes": prefixes})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "codexlab.kg._query_worker"],
            input=request.encode("utf-8"),
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ResourceError(
            f"The SPARQL query ran past its time limit of {timeout_s:g} s and was stopped; narrow it (a LIMIT, "
            "fewer unbound patterns) or pass a larger `timeout_s`."
        ) from None
    if done.returncode == 0:
        return done.stdout
    report = _report(done.stderr)
    if report.get("kind") == "syntax":
        raise SyntaxError(report.get("message", "the query does not parse"))
    if report.get("kind") == "store":
        raise StoreError(str(report.get("message")))
    reason = report.get("message") or done.stderr.decode(errors="replace").strip() or f"exit {done.returncode}"
    raise StoreError(f"Evaluating the SPARQL query on `{path}` failed: {reason}.")


def _report(stderr: bytes) -> dict[str, str]:
    """The child's error report (its last stderr line, JSON), or {} when it died without one."""
    lines = stderr.decode("utf-8", errors="replace").strip().splitlines()
    try:
        found = json.loads(lines[-1]) if lines else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def decode_result(data: bytes) -> bool | tuple[list[str], list[list[object]]]:
    """What `run_limited` returned, as `KnowledgeGraph._execute` returns it: a bool, or names and rows."""
    kind, _, body = data.partition(b"\n")
    if kind == b"json":
        result = parse_query_results(body, format=QueryResultsFormat.JSON)
        if isinstance(result, QueryBoolean):
            return bool(result)
        assert isinstance(result, QuerySolutions)
        names = [v.value for v in result.variables]
        return names, [list(solution) for solution in result]
    triples = parse(body, format=RdfFormat.N_TRIPLES)
    return ["subject", "predicate", "object"], [[t.subject, t.predicate, t.object] for t in triples]
