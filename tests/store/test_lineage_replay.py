"""Lineage (recursive over edges), cell lineage, ghost replay and the entanglement map."""

from __future__ import annotations

import random
from collections.abc import Iterable

import pytest

from codexlab.contracts import EntanglementLink
from codexlab.errors import CodexValueError, StoreError
from codexlab.store import BeamStore
from codexlab.store.base import Direction

from .factory import beam

#   a   b        a diamond with a shortcut: f reaches b along two paths and c along two
#    \ / \
#     c   \
#    / \   |
#   d   e--'
#    \ /
#     f
DAG = {"a": [], "b": [], "c": ["a", "b"], "d": ["c"], "e": ["c", "b"], "f": ["d", "e"]}


def _store_dag(store: BeamStore) -> None:
    store.persist_beam_events(
        beam(name, parents=parents, t=i, cell=f"cell_{name}") for i, (name, parents) in enumerate(DAG.items())
    )


def _reference(graph: dict[str, list[str]], start: str, depth: int | None = None) -> list[set[str]]:
    """Generations of ancestors by plain breadth-first search over the parent lists."""
    seen, frontier = {start}, {start}
    levels: list[set[str]] = []
    while frontier and (depth is None or len(levels) < depth):
        nxt = {p for node in frontier for p in graph[node]} - seen
        if not nxt:
            break
        levels.append(nxt)
        seen |= nxt
        frontier = nxt
    return levels


def _ids(names: Iterable[str]) -> set[str]:
    return {f"beam_{n}" for n in names}


def test_ancestors_and_descendants_of_a_dag(store: BeamStore) -> None:
    _store_dag(store)
    ancestors = store.lineage("beam_f")
    assert [b.beam_id for b in ancestors] == [f"beam_{n}" for n in "abcde"]  # time order
    assert [b.beam_id for b in store.lineage("beam_a", direction="descendants")] == [f"beam_{n}" for n in "cdef"]
    assert set(store.lineage("beam_b", "descendants", ids_only=True)) == _ids("cdef")
    assert store.lineage("beam_a") == []


def test_ids_come_nearest_generation_first(store: BeamStore) -> None:
    _store_dag(store)
    ids = store.lineage("beam_f", ids_only=True)
    assert len(ids) == len(set(ids)) == 5
    assert set(ids[:2]) == _ids("de") and set(ids[2:4]) == _ids("bc") and ids[4] == "beam_a"


def test_depth_limits_the_generations(store: BeamStore) -> None:
    _store_dag(store)
    assert set(store.lineage("beam_f", depth=1, ids_only=True)) == _ids("de")
    assert {b.beam_id for b in store.lineage("beam_f", depth=2)} == _ids("bcde")
    assert set(store.lineage("beam_f", depth=9, ids_only=True)) == _ids("abcde")
    assert store.lineage("beam_f", depth=0) == []
    assert set(store.lineage("beam_c", "descendants", depth=1, ids_only=True)) == _ids("de")


def test_random_dag_matches_breadth_first_search(store: BeamStore) -> None:
    directions: tuple[Direction, Direction] = ("ancestors", "descendants")
    rng = random.Random(20250101)
    graph: dict[str, list[str]] = {}
    for i in range(80):
        earlier = list(graph)
        graph[f"r{i}"] = rng.sample(earlier, k=min(len(earlier), rng.randint(0, 3)))
    store.persist_beam_events(beam(n, parents=p, t=i, run="rdag") for i, (n, p) in enumerate(graph.items()))
    children: dict[str, list[str]] = {n: [] for n in graph}
    for node, parents in graph.items():
        for parent in parents:
            children[parent].append(node)
    for node in rng.sample(list(graph), 12):
        for direction, edges in zip(directions, (graph, children), strict=True):
            levels = _reference(edges, node)
            got = store.lineage(f"beam_{node}", direction=direction, ids_only=True)
            assert set(got) == _ids(set().union(*levels)), (node, direction)
            assert len(got) == len(set(got))
            for depth in (1, 2):
                want = set().union(*_reference(edges, node, depth))
                assert set(store.lineage(f"beam_{node}", direction, depth=depth, ids_only=True)) == _ids(want)


def test_lineage_rejects_bad_arguments(store: BeamStore) -> None:
    _store_dag(store)
    with pytest.raises(StoreError, match="No beam `beam_zz` in the store"):
        store.lineage("beam_zz")
    with pytest.raises(CodexValueError, match=r"`direction` should be .* \(did you mean `ancestors`\?\)"):
        store.lineage("beam_f", direction="ancestor")  # type: ignore[call-overload]
    with pytest.raises(CodexValueError, match="`depth` should be a whole number >= 0"):
        store.lineage("beam_f", depth=-1)


def test_lineage_for_a_cell_is_its_beams_and_their_ancestors(store: BeamStore) -> None:
    _store_dag(store)
    store.persist_beam_events([beam("g", parents=["d"], t=10, cell="cell_e"), beam("h", parents=["f"], t=11)])
    got = store.get_lineage_for_cell("cell_e")
    assert [b.beam_id for b in got] == [f"beam_{n}" for n in "abcdeg"]
    assert store.get_lineage_for_cell("cell_none") == []


def test_replay_returns_the_newest_of_an_eid_oldest_first(store: BeamStore) -> None:
    x, y = "eid::run1::x1", "eid::run1::y1"
    beams = [beam(f"e{i}", t=i, eid=x if i % 3 else y, container="k1" if i % 2 else "k2") for i in range(30)]
    store.persist_beam_events(beams)
    of_x = [b.beam_id for b in beams if b.eid == x]
    assert [b.beam_id for b in store.ghost_replay_for_eid(x, limit=5)] == of_x[-5:]
    assert [b.beam_id for b in store.ghost_replay_for_eid(x, limit=100)] == of_x
    assert [b.beam_id for b in store.ghost_replay_for_eid(x)] == of_x[-10:]
    in_k1 = [b.beam_id for b in beams if b.eid == x and b.container_id == "k1"]
    assert [b.beam_id for b in store.ghost_replay_for_eid(x, 3, container_id="k1")] == in_k1[-3:]
    assert store.ghost_replay_for_eid("eid::run1::none") == []
    assert [b.beam_id for b in store.replay(y, 2)] == [b.beam_id for b in beams if b.eid == y][-2:]


def test_replay_orders_by_time_not_by_arrival(store: BeamStore) -> None:
    eid = "eid::run1::late"
    store.persist_beam_events([beam("late", t=50, eid=eid), beam("early", t=5, eid=eid), beam("mid", t=20, eid=eid)])
    assert [b.beam_id for b in store.ghost_replay_for_eid(eid, 2)] == ["beam_mid", "beam_late"]


def test_replay_by_run_id(store: BeamStore) -> None:
    store.persist_beam_events([beam(f"s{i}", t=i, run="sheet_42") for i in range(12)])
    store.persist_beam_events([beam("other", run="sheet_7")])
    assert [b.beam_id for b in store.replay("sheet_42", n=3)] == ["beam_s9", "beam_s10", "beam_s11"]
    with pytest.raises(StoreError, match=r"`sheet_4` is neither .* nor a stored run \(did you mean `sheet_42`\?\)"):
        store.replay("sheet_4")
    with pytest.raises(StoreError, match="No stored beam carries the entanglement id `eid::x::y`"):
        store.replay("eid::x::y")
    with pytest.raises(CodexValueError, match="`n` should be a whole number >= 1"):
        store.replay("sheet_42", n=0)
    with pytest.raises(CodexValueError, match="`limit` should be a whole number >= 1"):
        store.ghost_replay_for_eid("eid::a::b", limit=0)


def test_entanglement_map_groups_cells_by_eid(store: BeamStore) -> None:
    e1, e2, e3 = "eid::r1::aa", "eid::r1::bb", "eid::r2::cc"
    store.persist_beam_events(
        [
            beam("p", run="r1", cell="cell_007", eid=e1, t=1),
            beam("q", run="r1", cell="cell_001", eid=e1, t=2),
            beam("r", run="r1", cell="cell_003", eid=e2, t=3),
            beam("s", run="r1", cell="cell_004", t=4),
            beam("u", run="r2", cell="cell_001", eid=e3, t=5),
        ]
    )
    assert store.entanglement_map() == {e1: ["cell_001", "cell_007"], e2: ["cell_003"], e3: ["cell_001"]}
    assert store.entanglement_map("r2") == {e3: ["cell_001"]}
    assert store.entanglement_map("nope") == {}


def test_entanglement_links_add_roles_and_members(store: BeamStore) -> None:
    eid = "eid::r1::ab"
    store.persist_beam_events(
        [
            beam("a", run="r1", cell="cell_a", eid=eid, t=1),
            beam("b", run="r1", cell="cell_b", t=2),
        ]
    )
    links = [
        EntanglementLink(eid=eid, beam_id="beam_a", role="A", schmidt_rank=2, entropy_bits=1.0, cell_id="cell_a"),
        {
            "eid": eid,
            "beam_id": "beam_b",
            "role": "B",
            "schmidt_rank": 2,
            "entropy_bits": 1.0,
            "cell_id": "cell_b",
        },
    ]
    assert store.persist_entanglement_links(links) == 2
    assert store.entanglement_map("r1") == {eid: ["cell_a", "cell_b"]}
    rows = store.rows("entanglement_members", eid=eid)
    assert [(r["beam_id"], r["role"], r["schmidt_rank"], r["entropy_bits"]) for r in rows] == [
        ("beam_a", "A", 2, 1.0),
        ("beam_b", "B", 2, 1.0),
    ]
    assert EntanglementLink.model_validate({k: v for k, v in rows[0].items()}) == links[0]
    # a second link for the same member replaces the first
    store.persist_entanglement_links([links[0].model_copy(update={"entropy_bits": 0.5})])
    assert [r["entropy_bits"] for r in store.rows("entanglement_members", beam_id="beam_a")] == [0.5]


def test_bad_entanglement_links_write_nothing(store: BeamStore) -> None:
    eid = "eid::r1::ab"
    store.persist_beam_events([beam("a", run="r1", eid=eid)])
    good = {
        "eid": eid,
        "beam_id": "beam_a",
        "role": "A",
        "schmidt_rank": 2,
        "entropy_bits": 1.0,
        "cell_id": "c",
    }
    with pytest.raises(StoreError, match="names beam `beam_zz`, which is not stored"):
        store.persist_entanglement_links([good, good | {"beam_id": "beam_zz"}])
    with pytest.raises(StoreError, match=r"Entanglement link 1 \(beam `beam_a`\) is not valid: .*log2"):
        store.persist_entanglement_links([good, good | {"entropy_bits": 3.0}])
    assert store.rows("entanglement_members") == []
