"""`KnowledgeGraph`: the PROV-O graph on disk (Oxigraph/RocksDB at `$CODEXLAB_HOME/kg/`), SPARQL, export.

Oxigraph allows one writer per directory. In one process every `KnowledgeGraph` on a path shares one
open store; a process that finds the directory locked by another opens it read-only instead of
failing, and its writes raise a `StoreError` that says so. A read-only view reopens itself when the
store's files have changed since its last query, so it follows the writer (Oxigraph calls reading
beside a live writer undefined behaviour; a failed read is retried once on a fresh view).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyoxigraph import Quad, QueryBoolean, QueryTriples, RdfFormat, Store, serialize

from codexlab.errors import CodexSyntaxError, CodexValueError, StoreError, did_you_mean
from codexlab.kg import _handles, mapping
from codexlab.kg.results import rows_frame, sparql_syntax_error, to_python
from codexlab.kg.sandbox import DEFAULT_TIME_LIMIT_S, decode_result, refuse_remote, run_limited
from codexlab.kg.vocab import MUTATIONS_GRAPH, PREFIXES, id_of, value_iri

if TYPE_CHECKING:
    import polars as pl

    from codexlab.contracts import SqiScore

__all__ = [
    "BULK_THRESHOLD",
    "EXPORT_FORMATS",
    "KG_DIR",
    "KnowledgeGraph",
    "kg_path",
    "open_kg",
]

KG_DIR = "kg"

# Measured with benchmarks/kg_bench.py on a shared 2-vCPU machine (ms per call, quiet / loaded):
# `extend` (one RocksDB transaction) has no fixed cost and grows with the batch — 1k quads 11 / 16-42,
# 5k 57 / 71-105, 10k 121, 20k 290 / 277-712; `bulk_extend` writes and ingests new SST files, a fixed
# 15 / 110-160 ms even for 1k quads — 5k 36 / 110-178, 10k 66, 20k 142 / 245-297 — and many small SST
# files slow later reads until compaction. They cross between 3k and 20k quads depending on load; a
# cell's batch (tens of beams, hundreds of quads) takes `extend`, a replay or an import `bulk_extend`.
BULK_THRESHOLD = 10_000

EXPORT_FORMATS: dict[str, RdfFormat] = {
    "turtle": RdfFormat.TURTLE,
    "trig": RdfFormat.TRIG,
    "nquads": RdfFormat.N_QUADS,
    "ntriples": RdfFormat.N_TRIPLES,
    "jsonld": RdfFormat.JSON_LD,
}
_GRAPHLESS = ("turtle", "ntriples")
_TRIPLE_NAMES = ["subject", "predicate", "object"]

Rows = tuple[list[str], list[list[Any]]]


def kg_path(home: str | os.PathLike[str] | None = None) -> Path:
    """The knowledge graph directory `<home>/kg` (home: argument, `$CODEXLAB_HOME`, else `./.codexlab`)."""
    base = Path(home) if home is not None else Path(os.environ.get("CODEXLAB_HOME") or ".codexlab")
    return (base.expanduser() / KG_DIR).resolve()


def open_kg(home: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> KnowledgeGraph:
    """The knowledge graph of a codexlab home (see `kg_path`)."""
    return KnowledgeGraph(kg_path(home), read_only=read_only)


class KnowledgeGraph:
    """The PROV-O knowledge graph at a directory (default `$CODEXLAB_HOME/kg/`).

    Parameters: `path` (the store directory; None for `<home>/kg`), `read_only` (never write; the
    store must exist), `user` (the login name recorded as the `prov:Agent`; default: the OS user).
    Instances on one path in one process share the open store; when another process holds the
    directory's lock the store opens read-only and writes raise `StoreError`.

    Raises:
        StoreError: `read_only` and no graph exists there, or the directory cannot be opened.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        read_only: bool = False,
        user: str | None = None,
    ) -> None:
        self.path = Path(path).expanduser().resolve() if path is not None else kg_path()
        self.user = user or mapping.default_user()
        self._requested_read_only = read_only
        self._handle = _handles.acquire(self.path, read_only=read_only)
        self._closed = False

    def __repr__(self) -> str:
        mode = "closed" if self._closed else ("read-only" if self.read_only else "read-write")
        return f"<KnowledgeGraph {str(self.path)!r} {mode}>"

    def __enter__(self) -> KnowledgeGraph:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        """The number of quads in the store."""
        return len(self._store())

    @property
    def read_only(self) -> bool:
        """Whether writes are refused (asked for, or another process holds the lock)."""
        return self._requested_read_only or not self._handle.writable

    @property
    def locked_elsewhere(self) -> bool:
        """Whether the store is read-only here because another process holds its lock."""
        return self._handle.locked_elsewhere and not self._handle.writable

    def close(self) -> None:
        """Release this instance; the store closes (and its lock frees) when the last instance closes."""
        if not self._closed:
            self._closed = True
            _handles.release(self._handle)

    def refresh(self) -> None:
        """Reopen a read-only view now, becoming the writer instead when the lock has freed (unless
        this instance was opened with `read_only=True`)."""
        handle = self._handle
        if handle.locked_elsewhere and not self._requested_read_only and handle.try_upgrade():
            return
        handle.reopen()

    def _store(self) -> Store:
        """The open store (a read-only view is reopened first when the writer has committed since)."""
        if self._closed:
            raise StoreError(f"The knowledge graph at `{self.path}` is closed; open a new `KnowledgeGraph` on it.")
        return self._handle.current()

    def _writable_store(self) -> Store:
        """The store for a write, or a StoreError that says why this instance may not write."""
        if self._requested_read_only:
            raise StoreError(
                f"The knowledge graph at `{self.path}` was opened with `read_only=True`; open it without "
                "`read_only` to write."
            )
        store = self._store()
        handle = self._handle
        if handle.writable:
            return store
        if handle.locked_elsewhere and handle.try_upgrade():
            return handle.current()
        raise StoreError(
            f"The knowledge graph at `{self.path}` is open read-only in this process because another "
            "process holds its lock; write from that process, or close it there and retry."
        )

    # ----------------------------------------------------------------------------------------- writes

    def write_quads(self, quads: Iterable[Quad]) -> int:
        """Add quads in one store call; returns how many were given (duplicates are stored once).

        Below `BULK_THRESHOLD` quads this is `extend`, one transaction; from there `bulk_extend`, which
        is faster for big batches but not atomic (a failure can leave part of the batch written).
        """
        batch = quads if isinstance(quads, list) else list(quads)
        if not batch:
            return 0
        store = self._writable_store()
        with self._handle.lock:
            try:
                if len(batch) >= BULK_THRESHOLD:
                    store.bulk_extend(batch)
                else:
                    store.extend(batch)
            except OSError as err:
                raise StoreError(
                    f"Writing {len(batch)} quads to the knowledge graph at `{self.path}` failed: {err}; "
                    "check the disk and retry the batch."
                ) from err
            except RuntimeError as err:  # RocksDB reports corruption as RuntimeError
                raise _handles.unusable(self.path, err, "be written") from err
        return len(batch)

    def write_beams(
        self,
        beams: Iterable[mapping.BeamLike],
        scores: Iterable[mapping.ScoreLike] | Mapping[str, mapping.ScoreLike] | None = None,
    ) -> int:
        """Write a batch of beams (and their SQI scores) in one store call; returns the quads written.

        Vetoed and `error` beams are skipped (see `codexlab.kg.mapping`). Score events whose beam is not
        in the batch are placed through `write_scores`.
        """
        batch = [mapping.as_beam(b) for b in beams]
        items = scores.values() if isinstance(scores, Mapping) else scores or ()
        events = [mapping.as_score(s) for s in items]
        quads = mapping.beams_to_quads(batch, events, user=self.user)
        in_batch = {b.beam_id for b in batch}
        rest = [s for s in events if s.beam_id not in in_batch]
        if rest:
            quads += self._placed_score_quads(rest)
        return self.write_quads(quads)

    def clear(self) -> None:
        """Remove every quad (`rebuild` then writes the graph again from the beam store)."""
        store = self._writable_store()
        with self._handle.lock:
            try:
                store.clear()
            except (OSError, RuntimeError) as err:
                raise _handles.unusable(self.path, err, "be cleared") from err

    def mutation_ids(self) -> set[str]:
        """The ids of the DNA mutations in the graph."""
        result = self._execute(f"SELECT ?m WHERE {{ GRAPH <{MUTATIONS_GRAPH.value}> {{ ?m a prov:Activity }} }}")
        assert not isinstance(result, bool)
        found = (id_of(row[0].value, "mutation") for row in result[1])
        return {m for m in found if m is not None}

    def write_mutation(self, mutation: mapping.MutationLike) -> int:
        """Write one DNA mutation (contract 5) into the mutations graph; returns the quads written."""
        return self.write_quads(mapping.mutation_quads(mutation, user=self.user))

    def write_mutations(self, mutations: Iterable[mapping.MutationLike]) -> int:
        """Write several DNA mutations in one store call; returns the quads written."""
        quads = [q for m in mutations for q in mapping.mutation_quads(m, user=self.user)]
        return self.write_quads(quads)

    def write_scores(self, scores: Iterable[mapping.ScoreLike]) -> int:
        """Write SQI score events onto entities already in the graph; returns the quads written.

        Each score goes to the graph its beam's value (or mutated glyph) lives in. Scores of beams that
        are not in the graph (vetoed, errors, or not written yet) are skipped, so a vetoed beam never
        enters the graph through its score.
        """
        return self.write_quads(self._placed_score_quads([mapping.as_score(s) for s in scores]))

    def _placed_score_quads(self, scores: list[SqiScore]) -> list[Quad]:
        """Score quads, each in the named graph where its subject already is."""
        subjects = {}
        for score in scores:
            target = mapping.score_subject(score)
            if target is not None:
                subjects[target[0].value] = target[0]
        graphs = self._graphs_of(list(subjects))
        out: list[Quad] = []
        for score in scores:
            target = mapping.score_subject(score)
            if target is None or target[0].value not in graphs:
                continue
            out += mapping.score_event_quads(score, graphs[target[0].value])
        return out

    def _graphs_of(self, iris: list[str]) -> dict[str, Any]:
        """The named graph of each entity IRI that is in the store (absent ones are left out)."""
        found: dict[str, Any] = {}
        for start in range(0, len(iris), 500):
            chunk = " ".join(f"<{iri}>" for iri in iris[start : start + 500])
            result = self._execute(f"SELECT ?e ?g WHERE {{ VALUES ?e {{ {chunk} }} GRAPH ?g {{ ?e a prov:Entity }} }}")
            assert not isinstance(result, bool)
            for entity, graph in result[1]:
                found[entity.value] = graph
        return found

    # ---------------------------------------------------------------------------------------- queries

    def query(
        self, sparql: str, *, frame: bool = False, timeout_s: float | None = DEFAULT_TIME_LIMIT_S
    ) -> list[dict[str, Any]] | bool | pl.DataFrame:
        """Run SPARQL over the union of the named graphs, within a time limit.

        The prefixes `prov dqv cx xsd rdf rdfs` (and `beam value run eid mutation agent` for codexlab
        resources) are predeclared; a query's own `PREFIX` wins. `SERVICE` (a call to another endpoint)
        is refused. With `timeout_s` (default 30 s) the query runs in a child process that is stopped at
        the limit; `timeout_s=None` runs it here, without a limit. Returns, for SELECT, a list of dicts of
        Python values (IRIs as `str`, typed literals as int/float/bool/datetime/str, unbound as None) or
        a polars DataFrame with `frame=True`; for ASK a bool (also with `frame=True`); for
        CONSTRUCT/DESCRIBE rows of `subject`, `predicate`, `object`.

        Raises:
            CodexSyntaxError: the query does not parse (line and column from Oxigraph), or uses `SERVICE`.
            ResourceError: the query ran past `timeout_s`.
            StoreError: the store could not be read.
        """
        result = self._query_rows(sparql, timeout_s)
        if isinstance(result, bool):
            return result
        names, rows = result
        return rows_frame(names, rows) if frame else rows

    def _query_rows(
        self, sparql: str, timeout_s: float | None = DEFAULT_TIME_LIMIT_S
    ) -> bool | tuple[list[str], list[dict[str, Any]]]:
        """ASK as a bool, else the column names and the rows as dicts of Python values."""
        refuse_remote(sparql)
        if timeout_s is not None and not (isinstance(timeout_s, int | float) and timeout_s > 0):
            raise CodexValueError(f"`timeout_s` should be a number of seconds > 0 or None, got `{timeout_s!r}`.")
        result = self._execute(sparql) if timeout_s is None else self._execute_limited(sparql, float(timeout_s))
        if isinstance(result, bool):
            return result
        names, rows = result
        return names, [dict(zip(names, map(to_python, row), strict=True)) for row in rows]

    def _execute_limited(self, sparql: str, timeout_s: float) -> bool | Rows:
        """`_execute` in a child process that is killed at `timeout_s` (see `codexlab.kg.sandbox`)."""
        self._store()  # the graph exists and opens here (clean errors), and a read-only view is current
        try:
            data = run_limited(self.path, sparql, PREFIXES, timeout_s)
        except SyntaxError as err:
            if isinstance(err, CodexSyntaxError):
                raise
            raise sparql_syntax_error(sparql, err) from None
        return decode_result(data)

    def _execute(self, sparql: str) -> bool | Rows:
        """Run and read the whole result over the union of graphs; a failed read on a read-only view is
        retried once on a fresh view."""
        for attempt in (0, 1):
            store = self._store()
            try:
                result = store.query(sparql, prefixes=PREFIXES, use_default_graph_as_union=True)
                if isinstance(result, QueryBoolean):
                    return bool(result)
                if isinstance(result, QueryTriples):
                    return _TRIPLE_NAMES, [[t.subject, t.predicate, t.object] for t in result]
                return [v.value for v in result.variables], [list(solution) for solution in result]
            except SyntaxError as err:
                raise sparql_syntax_error(sparql, err) from None
            except OSError as err:
                if attempt == 0 and not self._handle.writable:
                    self._handle.reopen()
                    continue
                raise StoreError(f"The knowledge graph at `{self.path}` could not be read: {err}.") from err
            except RuntimeError as err:  # RocksDB reports corruption as RuntimeError
                raise _handles.unusable(self.path, err, "be read") from err
        raise AssertionError("unreachable")

    def graphs(self) -> list[str]:
        """The IRIs of the named graphs (one per sheet run, plus the mutations graph), sorted."""
        return sorted(g.value for g in self._store().named_graphs())

    def lineage_query(self, beam_id: str) -> list[str]:
        """The ids of every ancestor beam of `beam_id`, via SPARQL `prov:wasDerivedFrom+`, oldest first.

        Raises:
            CodexValueError: the beam is not in the graph (vetoed, an error, or not written).
        """
        node = value_iri(beam_id).value
        if not self._execute(f"ASK {{ <{node}> a prov:Entity }}"):
            raise CodexValueError(
                f"Beam `{beam_id}` is not in the knowledge graph at `{self.path}` (vetoed and error beams "
                "never are); write it with `write_beams` or use the store's `lab.lineage`."
            )
        result = self._execute(
            f"SELECT DISTINCT ?a WHERE {{ <{node}> prov:wasDerivedFrom+ ?a . "
            "OPTIONAL { ?a prov:generatedAtTime ?t } } ORDER BY ?t ?a"
        )
        assert not isinstance(result, bool)
        found = (id_of(row[0].value, "value") for row in result[1])
        return [ancestor for ancestor in found if ancestor is not None]

    # ----------------------------------------------------------------------------------------- export

    def export(self, format: str = "turtle", dest: str | os.PathLike[str] | None = None) -> str | None:
        """Serialize the graph: `turtle`/`ntriples` (the union, as distinct triples), `trig`/`nquads`
        (named graphs kept) or `jsonld` (one `@graph` per named graph). Returns the text, or writes
        `dest` and returns None.

        Raises:
            CodexValueError: an unknown format.
        """
        fmt = EXPORT_FORMATS.get(format)
        if fmt is None:
            options = ", ".join(f"`{f}`" for f in EXPORT_FORMATS)
            hint = did_you_mean(format, EXPORT_FORMATS)
            raise CodexValueError(f"`{format}` is not an export format{hint}; use one of {options}.")
        store = self._store()
        prefixes = dict(PREFIXES) if format in ("turtle", "trig") else None
        if format in _GRAPHLESS:
            triples = store.query(
                "CONSTRUCT { ?s ?p ?o } WHERE { SELECT DISTINCT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } } }"
            )
            assert isinstance(triples, QueryTriples)
            data = serialize(triples, format=fmt, prefixes=prefixes)
        else:
            data = store.dump(format=fmt, prefixes=prefixes)
        assert isinstance(data, bytes)
        if dest is None:
            return data.decode("utf-8")
        Path(dest).write_bytes(data)
        return None
