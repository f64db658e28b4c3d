"""Motifs of a container's beams: op n-grams along lineage, loop attractors, entanglement topology."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from codexlab.patterns._beams import duration_ms, field, op_beams
from codexlab.store.base import BeamStore, run_of_eid

__all__ = [
    "NGRAM_SCHEMA",
    "ATTRACTOR_SCHEMA",
    "TOPOLOGY_SCHEMA",
    "attractors",
    "container_beams",
    "entanglement_topology",
    "mine_patterns",
    "op_ngrams",
    "topology_frame",
]

NGRAM_SCHEMA: dict[str, pl.DataType] = {
    "n": pl.Int64(),
    "ops": pl.String(),
    "tokens": pl.List(pl.String),
    "support": pl.Int64(),
    "runs": pl.Int64(),
    "duration_ms": pl.Float64(),
    "time_share": pl.Float64(),
}
ATTRACTOR_SCHEMA: dict[str, pl.DataType] = {
    "beam_id": pl.String(),
    "sheet_run_id": pl.String(),
    "cell_id": pl.String(),
    "kind": pl.String(),
    "iteration": pl.Int64(),
    "period": pl.Int64(),
    "residual": pl.Float64(),
    "names": pl.List(pl.String),
}
TOPOLOGY_SCHEMA: dict[str, pl.DataType] = {
    "structure": pl.String(),
    "index": pl.Int64(),
    "cells": pl.List(pl.String),
    "size": pl.Int64(),
    "eids": pl.List(pl.String),
}


def op_ngrams(beams: Iterable[Any], n: int | Sequence[int] = (2, 3)) -> pl.DataFrame:
    """Op n-grams along lineage paths of approved op beams, most supported first.

    `support` counts distinct occurrences (distinct beam paths, across runs); `time_share` is the summed
    `duration_ms` of the beams those occurrences cover over the total of all approved op beams.
    """
    sizes = [n] if isinstance(n, int) else list(n)
    ops = op_beams(beams)
    index = {field(b, "beam_id"): i for i, b in enumerate(ops)}
    tokens = [str(field(b, "token")) for b in ops]
    runs = [field(b, "sheet_run_id") for b in ops]
    spans = [duration_ms(b) for b in ops]
    # Parents that are approved op beams, by position, each once, in the beam's own order.
    ups: list[list[int]] = []
    for b in ops:
        parents = field(b, "parents", ())
        ups.append([j for j in (index.get(p) for p in dict.fromkeys(parents)) if j is not None] if parents else [])
    total = sum(spans)
    produced: dict[int, list[dict[str, Any]]] = {}
    # chains[i]: the paths (tuples of positions) of the current length ending at op beam i, in the order
    # the recursive walk (parents in order, each parent's paths in order) yields them.
    none: list[Any] = []
    chains: list[list[tuple[int, ...]]] = []
    length = 0
    for size in sorted({s for s in sizes if s >= 1}):
        while length < size:
            if length == 0:
                chains = [[(i,)] for i in range(len(ops))] if size == 1 else none
            elif length == 1 and chains is none:  # straight to pairs, without the 1-paths
                chains = [[(j, i) for j in up] if up else none for i, up in enumerate(ups)]
            else:
                chains = [[(*path, i) for j in up for path in chains[j]] if up else none for i, up in enumerate(ups)]
            length += 1
        found: dict[tuple[str, ...], tuple[set[tuple[int, ...]], dict[int, None]]] = {}
        for ending in chains:
            for path in ending:
                key = tuple(tokens[i] for i in path)
                entry = found.get(key)
                if entry is None:
                    entry = found[key] = (set(), {})
                entry[0].add(path)
                for i in path:
                    entry[1][i] = None
        produced[size] = []
        for key, (occurrences, members) in found.items():
            spent = sum(spans[i] for i in members)
            produced[size].append(
                {
                    "n": size,
                    "ops": " → ".join(key),
                    "tokens": list(key),
                    "support": len(occurrences),
                    "runs": len({runs[i] for i in members}),
                    "duration_ms": spent,
                    "time_share": spent / total if total > 0 else 0.0,
                }
            )
    rows = [row for size in sizes if size >= 1 for row in produced[size]]
    frame = pl.DataFrame({name: [row[name] for row in rows] for name in NGRAM_SCHEMA}, schema=NGRAM_SCHEMA)
    return frame.sort(["support", "time_share", "ops"], descending=[True, True, False])


def attractors(beams: Iterable[Any]) -> pl.DataFrame:
    """One row per `loop` beam whose result reports an attractor (fixed point or cycle)."""
    rows: list[dict[str, Any]] = []
    for b in beams:
        if field(b, "stage") != "loop":
            continue
        result = field(b, "result", {})
        att = result.get("attractor")
        if not isinstance(att, Mapping):
            continue
        rows.append(
            {
                "beam_id": field(b, "beam_id"),
                "sheet_run_id": field(b, "sheet_run_id"),
                "cell_id": field(b, "cell_id"),
                "kind": att.get("kind"),
                "iteration": att.get("iteration"),
                "period": att.get("period", 1 if att.get("kind") == "fixed_point" else None),
                "residual": att.get("residual"),
                "names": [str(x) for x in result.get("names", [])],
            }
        )
    return pl.DataFrame(rows, schema=ATTRACTOR_SCHEMA)


def _components(adj: Mapping[str, set[str]]) -> list[list[str]]:
    seen: set[str] = set()
    out: list[list[str]] = []
    for start in sorted(adj):
        if start in seen:
            continue
        stack, comp = [start], []
        seen.add(start)
        while stack:
            cur = stack.pop()
            comp.append(cur)
            for nxt in adj[cur]:
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        out.append(sorted(comp))
    return out


def _cliques(adj: Mapping[str, set[str]]) -> list[list[str]]:
    """Maximal cliques (Bron–Kerbosch with pivoting) of size ≥ 2, searched one component at a time."""
    found: list[list[str]] = []

    def expand(r: set[str], p: set[str], x: set[str]) -> None:
        # `p` and `x` are this call's own sets (built by the caller), so they shrink and grow in place.
        if not p and not x:
            if len(r) >= 2:
                found.append(sorted(r))
            return
        pivot = max(p | x, key=lambda v: len(adj[v] & p))
        for v in sorted(p - adj[pivot]):
            expand(r | {v}, p & adj[v], x & adj[v])
            p.discard(v)
            x.add(v)

    for component in _components(adj):
        expand(set(), set(component), set())
    return sorted(found, key=lambda c: (-len(c), c))


def entanglement_topology(entanglement_map: Mapping[str, Sequence[str]]) -> dict[str, list[dict[str, Any]]]:
    """Components and maximal cliques of the cell graph where two cells are linked by a shared eid.

    Returns `{"components": [...], "cliques": [...]}`, each item `{cells, size, eids}` (eids that touch
    the component, or that every member of the clique pair shares somewhere).
    """
    adj: dict[str, set[str]] = defaultdict(set)
    eids_of: dict[str, set[str]] = defaultdict(set)
    for eid, cells in entanglement_map.items():
        members = list(dict.fromkeys(cells))
        for cell in members:
            adj[cell]
            eids_of[cell].add(eid)
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if a != b:
                    adj[a].add(b)
                    adj[b].add(a)

    def touching(cells: list[str]) -> list[str]:
        return sorted(set().union(*(eids_of[c] for c in cells)))

    def shared(cells: list[str]) -> list[str]:
        # Only an eid of a member can hold two of them: count members per eid over the members' eids.
        hits: dict[str, int] = defaultdict(int)
        for cell in set(cells):
            for eid in eids_of[cell]:
                hits[eid] += 1
        return sorted(e for e, count in hits.items() if count >= 2)

    return {
        "components": [{"cells": c, "size": len(c), "eids": touching(c)} for c in _components(adj)],
        "cliques": [{"cells": c, "size": len(c), "eids": shared(c)} for c in _cliques(adj)],
    }


def topology_frame(topology: Mapping[str, Sequence[Mapping[str, Any]]]) -> pl.DataFrame:
    """The topology as one table: a row per component and per clique."""
    rows = [
        {
            "structure": kind[:-1],
            "index": i,
            "cells": list(item["cells"]),
            "size": int(item["size"]),
            "eids": list(item["eids"]),
        }
        for kind in ("components", "cliques")
        for i, item in enumerate(topology.get(kind, []))
    ]
    return pl.DataFrame(rows, schema=TOPOLOGY_SCHEMA)


def container_beams(store: BeamStore, container_id: str) -> list[dict[str, Any]]:
    """Every stored beam of a container as a store row (JSON decoded), in persist order.

    Rows, not BeamEvents: they were validated when persisted, and re-validating 100k of them cost
    4× the read itself; every pattern function reads beams through `field`, which takes either.
    """
    return store.rows("beams", container_id=container_id)


def mine_patterns(store: BeamStore, container_id: str, n: int | Sequence[int] = (2, 3)) -> dict[str, pl.DataFrame]:
    """The three motif tables of a container: `ngrams`, `attractors` and `topology`.

    Reads `store.beam_index` (the columns mining needs, `duration_ms` already cut out of each result,
    whole results for `loop` beams only) rather than every decoded row: the tables are the same.
    """
    beams = store.beam_index(container_id)
    runs = {b["sheet_run_id"] for b in beams}
    emap = {eid: cells for eid, cells in store.entanglement_map().items() if run_of_eid(eid) in runs}
    return {
        "ngrams": op_ngrams(beams, n),
        "attractors": attractors(beams),
        "topology": topology_frame(entanglement_topology(emap)),
    }
