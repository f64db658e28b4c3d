"""What a cell reads and writes, and the sheet's graph: edges, order, cycles and double definitions."""

from __future__ import annotations

import pytest

from codexlab.errors import SheetError
from codexlab.lang.deps import DIRECTIVE_STATE, analyze
from codexlab.qpu import build_graph, parse_sheet

from .conftest import DIAMOND


def test_reads_are_names_used_before_the_cell_binds_them() -> None:
    deps = analyze("a = b + 1\nb = 2\nc = a * b\n")
    assert deps.reads == {"b"}
    assert deps.writes == {"a", "b", "c"}


def test_loops_read_their_body_before_their_condition_and_write_their_targets() -> None:
    deps = analyze("⟲ until ‖ψ - ψ′‖ < 1e-6 max n { ψ′ = ψ; ψ = relax(ψ) }")
    assert deps.reads == {"ψ", "n"}
    assert deps.writes == {"ψ", "ψ′"}


def test_then_binds_a_name_or_pipes_into_a_function_and_bare_expressions_bind_underscore() -> None:
    bound = analyze("Δψ -> L")
    assert (bound.reads, bound.writes, bound.underscore) == ({"ψ"}, {"L"}, True)
    piped = analyze("ψ -> relax")
    assert (piped.reads, piped.writes) == ({"ψ"}, set())
    assert analyze("a + b").underscore and analyze("a + b").writes == set()


def test_coordinates_are_not_names_and_goals_read_theirs() -> None:
    deps = analyze("f := x * y + t\n⟦ Goal | small : ‖f‖ < limit ⟧")
    assert deps.reads == {"limit"}


def test_directives_at_the_top_shadow_the_inherited_ones_and_later_ones_do_not() -> None:
    deps = analyze("@grid x:-1..1:8\n@container box\na := x\n@precision fp32\nb = a\n")
    assert deps.sets == {"grid", "precision"}
    assert deps.inherits == set(DIRECTIVE_STATE) - {"grid"}
    assert deps.container == "box"


def test_pairs_record_their_members_and_measurements_of_other_names() -> None:
    deps = analyze('P = a ↔ b\nm = ⧖a\nq = ⧖(c, mode="projective")\n')
    assert deps.entangles == {"a": "P", "b": "P"}
    assert deps.measures == {"c"}  # `a` is the cell's own pair member
    assert analyze('φ := load("data/fields/ring.nc")').loads == ("data/fields/ring.nc",)


def test_diamond_edges_and_order() -> None:
    graph = build_graph(parse_sheet(DIAMOND))
    edges = {(e.parent, e.child, e.what) for e in graph.edges}
    assert {
        ("f", "lap", "f"),
        ("f", "grad", "f"),
        ("lap", "mix", "L"),
        ("grad", "mix", "G"),
        ("g", "mix", "g"),
    } <= edges
    assert ("grid", "f", "@grid") in edges and ("grid", "loop", "@seed") in edges
    assert graph.parents("mix") == {"grid", "lap", "grad", "g"}
    assert graph.order == ["grid", "f", "g", "lap", "grad", "mix", "loop"]
    assert graph.downstream({"f"}) == {"f", "lap", "grad", "mix"}


def test_forward_references_run_after_the_cell_they_read() -> None:
    graph = build_graph(parse_sheet("# %% use\nb = a * 2\n# %% make\na := 3\n"))
    assert graph.order == ["make", "use"]


def test_a_name_defined_by_two_cells_names_both() -> None:
    sheet = parse_sheet("# %% one\na := 1\n# %% two\nb = 2\n# %% three\na = 5\n")
    with pytest.raises(SheetError, match=r"`a` is defined by two cells, `one` \(line 2\) and `three` \(line 6\)"):
        build_graph(sheet)


def test_a_cycle_names_both_cells_and_the_names_that_tie_them() -> None:
    sheet = parse_sheet("# %% p\na = b + 1\n# %% q\nb = a * 2\n")
    with pytest.raises(SheetError, match=r"Cells `p` \(line 2\) and `q` \(line 4\) depend on each other") as err:
        build_graph(sheet)
    assert "reads `a` from `p`" in str(err.value) and "reads `b` from `q`" in str(err.value)


def test_a_longer_cycle_lists_every_cell() -> None:
    sheet = parse_sheet("# %% p\na = c\n# %% q\nb = a\n# %% r\nc = b\n# %% s\nd := 1\n")
    with pytest.raises(SheetError, match=r"Cells `[pqr]` \(line \d\), `[pqr]` \(line \d\), `[pqr]` \(line \d\) depend"):
        build_graph(sheet)


def test_reading_underscore_across_cells_is_refused() -> None:
    with pytest.raises(SheetError, match=r"Cell `b` \(line 4\) reads `_` before binding it"):
        build_graph(parse_sheet("# %% a\n1 + 2\n# %% b\nc = _ * 2\n"))


def test_measuring_another_cells_pair_member_is_refused() -> None:
    sheet = parse_sheet("# %% make\nP = ψ ↔ φ\n# %% look\nm = ⧖ψ\n")
    with pytest.raises(
        SheetError, match=r"Cell `look` \(line 4\) measures `ψ`, a member of the pair `P` that cell `make`"
    ):
        build_graph(sheet)


def test_measuring_a_container_pair_member_changes_that_pair() -> None:
    sheet = parse_sheet("# %% look\nm = ⧖ψ\n# %% other\nn = ⧖φ\n")
    members = {"ψ": ("P", "A"), "φ": ("P", "B")}
    with pytest.raises(SheetError, match=r"`P` is defined by two cells, `look` \(line 2\) and `other` \(line 4\)"):
        build_graph(sheet, members)
    graph = build_graph(parse_sheet("# %% look\nm = ⧖ψ\n# %% use\nq = P\n"), members)
    assert graph.writes("look") == {"m", "P"} and graph.sources["use"] == {"P": "look"}


def test_a_cell_that_does_not_parse_is_named_with_its_file_line() -> None:
    with pytest.raises(SheetError, match=r"Cell `bad` \(line 4\) does not parse at line 5"):
        build_graph(parse_sheet("# %% ok\na := 1\n# %% bad\nb = 1\nc = = 2\n"))
