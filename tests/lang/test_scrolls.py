"""Scrolls: the builder, the library of named scrolls, the injector, and the sample scrolls."""

from __future__ import annotations

from pathlib import Path

import pytest

from codexlab.errors import CodexNameError, CodexSyntaxError, CodexValueError
from codexlab.lang import ScrollLibrary, ast, build_scroll, inject, parse, to_text
from codexlab.lang.scrolls import default_user_dir, label_of
from codexlab.lang.scrolls.library import SAMPLES_DIR

a, b = ast.Name("a"), ast.Name("b")
SAMPLES = ("tour", "heat", "entangle", "laplacian")


# -------------------------------------------------------------------------------------------- builder


def test_build_from_ast_statements_and_text() -> None:
    stmts = (
        ast.Assignment("L", ast.Unary("∇·", ast.Unary("∇", ast.Name("ψ")))),
        ast.Loop((ast.ExprStmt(a),), count=ast.Number(3)),
    )
    expected = "L = ∇·∇ψ\n⟲ 3 { a }\n"
    assert build_scroll(ast.Scroll(stmts)) == expected
    assert build_scroll(stmts) == expected
    assert build_scroll([stmts[0], "⟲ 3 {\n a\n}"]) == expected
    assert build_scroll("L = div(grad(ψ)); repeat 3 { a }") == expected
    assert build_scroll(stmts[0]) == "L = ∇·∇ψ\n"
    assert build_scroll([]) == ""


def test_build_rejects_trees_without_a_canonical_spelling() -> None:
    with pytest.raises(CodexValueError, match="do not read back as the same scroll"):
        build_scroll([ast.ExprStmt(ast.Call("⊕", (a, b)))])  # reads back as `a ⊕ b`
    with pytest.raises(CodexValueError, match="wrap it as `ast.ExprStmt"):
        build_scroll([a])  # type: ignore[list-item]
    with pytest.raises(CodexSyntaxError, match="expected an operand after `\\+`"):
        build_scroll(["a = 1 +"])


# -------------------------------------------------------------------------------------------- library


@pytest.fixture
def library(tmp_path: Path) -> ScrollLibrary:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "heat.codex").write_text("u := 1\n", encoding="utf-8")
    (shared / "waves.codex").write_text("w := sin(x - t)\n", encoding="utf-8")
    (shared / "notes.txt").write_text("not a scroll", encoding="utf-8")
    return ScrollLibrary([shared], user_dir=tmp_path / "user")


def test_list_load_source(library: ScrollLibrary) -> None:
    assert library.list() == ["heat", "waves"]
    assert library.source("waves") == "w := sin(x - t)\n"
    assert library.load("waves") == parse("w := sin(x - t)")
    assert "heat" in library and "notes" not in library


def test_unknown_name_suggests_the_closest(library: ScrollLibrary) -> None:
    with pytest.raises(CodexNameError, match=r"no scroll named `wave` in the library \(did you mean `waves`"):
        library.load("wave")
    with pytest.raises(NameError):
        library.source("nothing")


def test_save_validates_and_protects(library: ScrollLibrary, tmp_path: Path) -> None:
    path = library.save("mine", "# kept as written\na = 1\n")
    assert path == tmp_path / "user" / "mine.codex"
    assert path.read_text(encoding="utf-8") == "# kept as written\na = 1\n"
    assert library.list() == ["heat", "mine", "waves"]
    with pytest.raises(CodexValueError, match="already exists.*overwrite=True"):
        library.save("mine", "a = 2")
    library.save("mine", parse("a = 2"), overwrite=True)
    assert library.source("mine") == "a = 2\n"
    with pytest.raises(CodexSyntaxError, match="expected an operand"):
        library.save("broken", "a = 1 +")
    assert "broken" not in library
    for bad in ("../evil", "a/b", "", "x."):
        with pytest.raises(CodexValueError, match="not a valid scroll name"):
            library.save(bad, "a = 1")
    assert sorted(p.name for p in (tmp_path / "user").iterdir()) == ["mine.codex"]


def test_user_folder_overrides_shared_folder(library: ScrollLibrary) -> None:
    library.save("heat", "u := 2\n")
    assert library.source("heat") == "u := 2\n"


def test_default_folders(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CODEXLAB_HOME", str(tmp_path / "home"))
    assert default_user_dir() == tmp_path / "home" / "scrolls"
    lib = ScrollLibrary()
    assert lib.paths == (SAMPLES_DIR, tmp_path / "home" / "scrolls")
    assert set(SAMPLES) <= set(lib.list())
    lib.save("extra", "a = 1")
    assert (tmp_path / "home" / "scrolls" / "extra.codex").is_file()
    monkeypatch.delenv("CODEXLAB_HOME")
    assert default_user_dir() == Path.home() / ".codexlab" / "scrolls"


# ------------------------------------------------------------------------------------------- injector


BASE = "ψ := gaussian(x, y)\nL = Δψ\n⟦ Goal | smooth : ‖L‖ < 1 ⟧\n"


def _texts(scroll: ast.Scroll) -> list[str]:
    return to_text(scroll).splitlines()


def test_inject_by_index_and_at_the_end() -> None:
    expected = ["ψ := gaussian(x, y)", "L = Δψ", "⟦ Goal | smooth : ‖L‖ < 1 ⟧", "a = 1"]
    assert _texts(inject(BASE, "a = 1")) == expected
    assert _texts(inject(BASE, "a = 1", at=0))[0] == "a = 1"
    assert _texts(inject(BASE, "a = 1", at=-1))[2] == "a = 1"
    assert _texts(inject(BASE, ["a = 1", ast.ExprStmt(b)], at=1))[1:3] == ["a = 1", "b"]
    assert _texts(inject(BASE, "a = 1", at=1, replace=True))[1] == "a = 1"
    assert len(inject(BASE, "a = 1; b = 2", at=1, replace=True).statements) == 4


def test_inject_by_label() -> None:
    after_psi = _texts(inject(BASE, "φ := ψ * 2", at="ψ"))
    assert after_psi[:2] == ["ψ := gaussian(x, y)", "φ := ψ * 2"]
    replaced = _texts(inject(BASE, "⟦ Goal | smooth : ‖L‖ < 2 ⟧", at="smooth", replace=True))
    assert replaced[-1] == "⟦ Goal | smooth : ‖L‖ < 2 ⟧" and len(replaced) == 3
    original = parse(BASE)
    assert inject(original, "a = 1", at="L").statements[:2] == original.statements[:2]
    assert parse(BASE) == original  # the input is not modified


def test_inject_errors() -> None:
    with pytest.raises(CodexNameError, match=r"no statement labelled `smoth`.*\(did you mean `smooth`\?\)"):
        inject(BASE, "a = 1", at="smoth")
    with pytest.raises(CodexValueError, match=r"`at=7` is out of range for a scroll of 3 statements"):
        inject(BASE, "a = 1", at=7)
    with pytest.raises(CodexValueError, match=r"`at=3` is out of range"):
        inject(BASE, "a = 1", at=3, replace=True)
    with pytest.raises(CodexValueError, match="needs a place"):
        inject(BASE, "a = 1", replace=True)
    with pytest.raises(CodexValueError, match="nothing to replace"):
        inject("", "a = 1", at=0, replace=True)


def test_labels() -> None:
    s = parse(BASE + "a\n@seed 1")
    assert [label_of(x) for x in s.statements] == ["ψ", "L", "smooth", None, None]


# -------------------------------------------------------------------------------------------- samples


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_scrolls_parse_and_round_trip(name: str) -> None:
    tree = ScrollLibrary([SAMPLES_DIR], user_dir=SAMPLES_DIR).load(name)
    assert tree.statements
    assert parse(build_scroll(tree)) == tree


def _walk(node: ast.Node):  # type: ignore[no-untyped-def]
    yield node
    for value in vars(node).values():
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, ast.Node):
                yield from _walk(item)


def test_tour_has_every_statement_kind_and_glyph() -> None:
    tree = parse((SAMPLES_DIR / "tour.codex").read_text(encoding="utf-8"))
    nodes = list(_walk(tree))
    kinds = {type(n) for n in nodes}
    assert {ast.Directive, ast.Definition, ast.Assignment, ast.ExprStmt, ast.Loop, ast.GlyphRecord} <= kinds
    assert {ast.Interfere, ast.Norm, ast.Density, ast.Vector, ast.Call} <= kinds
    ops = {n.op for n in nodes if isinstance(n, (ast.Unary, ast.Binary))}
    assert {"∇", "∇·", "∇×", "Δ", "□", "d/dt", "∂x", "⧖", "-"} <= ops
    assert {"->", "<", "≥", "↔", "⊕", "⊖", "+", "-", "⊗", "×", "•", "*", "/", "^"} <= ops
    loops = [n for n in nodes if isinstance(n, ast.Loop)]
    assert any(lp.count is not None for lp in loops) and any(lp.until is not None for lp in loops)
    records = {n.type for n in nodes if isinstance(n, ast.GlyphRecord)}
    assert {"Goal", "Plan"} <= records
    directives = {n.name for n in nodes if isinstance(n, ast.Directive)}
    assert {"grid", "seed", "precision"} <= directives
    # □ acts on a wave in the symbolic time t; ∇× on a 2-D vector field.
    defs = {s.name: s.value for s in tree.statements if isinstance(s, ast.Definition)}
    assert ast.Name("t") in list(_walk(defs["w"])) and isinstance(defs["F"], ast.Vector)
    assert len(defs["F"].items) == 2
