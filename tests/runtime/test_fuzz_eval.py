"""Evaluator fuzz: well-formed scrolls (small grids, every glyph, loops, directives) run through `Lab.run`.

Only two outcomes are allowed: a run, or a `CodexError`. After each one the store verifies, and it holds
no partial cell: a run has all its beams under its anchors and no error beam, a failed cell exactly one
error beam. Scrolls are drawn as text from typed pools (scalar fields, vector fields, numbers), so most of
them get past the kind checks and reach the kernels.
"""

from __future__ import annotations

import itertools
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codexlab.errors import CodexError
from codexlab.runtime import Lab

SCALAR_ATOMS = (
    "gaussian(x, y, σ=0.3)",
    "sin(3*x)*cos(2*y)",
    "exp(-(x^2 + y^2)/0.2)",
    "x*y",
    "x^2 - y^2",
    "sin(x - t)",
    "gaussian(x, y, σ=0.2) * exp(i*4*x)",
    "1.5",
    "1/x",
    "log(x)",
    "sqrt(x) / 0",
    "x^(2^40)",
)
VECTOR_ATOMS = {2: ("[-y, x]", "[x*y, sin(y)]"), 3: ("[-y, x, 0]", "[x*y, sin(z), x]")}
NUMBERS = ("0", "1", "2", "0.5", "1e-3", "3", "-1", "2^10", "10^30", "1e300", "1e-320", "0^-1", "2^2^2^2^2")
#: (template, kind of the result or None): `{s}` a scalar field, `{v}` a vector field, `{n}` a number.
TEMPLATES = (
    ("Δ{s}", "s"),
    ("∇·∇{s}", "s"),
    ("∇{s}", "v"),
    ("∇·{v}", "s"),
    ("∇×{v}", None),
    ("□{s}", "s"),
    ("d/dt {s}", "s"),
    ("∂x {s}", "s"),
    ("{s} + {s}", "s"),
    ("{s} - {n}*{s}", "s"),
    ("{s} / {n}", "s"),
    ("{s}^{n}", "s"),
    ("{n}^{n}", None),
    ("{n} / {n}", None),
    ("‖{s}‖", None),
    ("‖{s} / {n}‖", None),
    ("|{s}|²", "s"),
    ("log(|{s}|²)", "s"),
    ("{v} • {v}", "s"),
    ("{v} × {v}", None),
    ("{v} ⊗ {v}", None),
    ("{s} ⊗ {s}", None),
    ("{s} ⊕ {s}", None),
    ("{s} ⊖ {s}", None),
    ("{s} ⋈[0.5] {s}", None),
    ("⧖{s}", None),
    ("{s} ↔ {s}", None),
    ("relax({s})", "s"),
    ("evolve({s}, steps=2, dt=1e-4)", "s"),
    ('evolve({s}, steps=1, dt=1e-4, eq="heat")', "s"),
    ("∂y {s} + ∂t {s}", "s"),
    ("mean({s}) + integral({s})", None),
    ("max(re({s})) - min(im({s}))", None),
    ("sqrt(conj({s})) * tan({s})", "s"),
    ("plane_wave({n}, 2) + zeros() + ones()", "s"),
    ("random() * {n}", "s"),
    ("{s} < {n}", None),
    ("‖{s}‖ ≥ {n}", None),
    ("_ + 1", None),
)
DIRECTIVES = (
    "@precision fp64",
    "@precision fp32",
    "@precision auto",
    "@precision bf16",
    "@method auto",
    "@method exact",
    "@method fd2",
    "@method fd4",
    "@method spectral",
    "@seed 3",
    "@wave c=2",
    "@precision fp16",
    "@precision fp8_e4m3",
    "@precision int8",
    "@precision fp4_e2m1",
    "@grid x:-1..1:8, y:-1..1:8",
    "@grid x:0..1e-100:3, y:0..1:3",
)


@st.composite
def scrolls(draw: st.DrawFn) -> str:
    """A well-formed scroll over an 8² or 16² grid (sometimes with a `z` or `t` axis of 8): definitions,
    then statements drawn from `TEMPLATES`."""
    n = draw(st.sampled_from((8, 16)))
    bc = draw(st.sampled_from(("", ", bc=dirichlet", ", bc=neumann")))
    axes = draw(st.sampled_from(("", ", z:-1..1:8", ", t:0..1:8")))
    lines = [f"@grid x:-1..1:{n}, y:-1..1:{n}{axes}{bc}"]
    lines += draw(st.lists(st.sampled_from(DIRECTIVES), max_size=2))
    scalars = [f"f{k}" for k in range(draw(st.integers(1, 2)))]
    lines += [f"{name} := {draw(st.sampled_from(SCALAR_ATOMS))}" for name in scalars]
    vectors = ["v0"]
    dims = 3 if "z" in axes else 2
    lines.append(f"v0 := {draw(st.sampled_from((*VECTOR_ATOMS[dims], f'∇{scalars[0]}')))}")
    counter = itertools.count()

    def fill(template: str) -> str:
        out = template
        while "{" in out:
            head, _, rest = out.partition("{")
            slot, _, tail = rest.partition("}")
            pool = {"s": scalars, "v": vectors, "n": NUMBERS}[slot]
            out = head + draw(st.sampled_from(pool)) + tail
        return out

    for _ in range(draw(st.integers(1, 4))):
        form = draw(st.sampled_from(("bind", "bind", "bind", "loop", "until", "goal", "directive", "arrow", "bare")))
        if form == "directive":
            lines.append(draw(st.sampled_from(DIRECTIVES)))
        elif form == "loop":
            s = draw(st.sampled_from(scalars))
            inner = draw(st.sampled_from(("", " ⟲ 2 { a = 1 }", " ⟲ ‖f0‖ { a = 1 }")))
            lines.append(f"⟲ {draw(st.integers(0, 3))} {{ {s} = {s} + 1e-3*Δ{s}{inner and ';'}{inner} }}")
        elif form == "until":
            s = draw(st.sampled_from(scalars))
            lines.append(f"⟲ until ‖{s}‖ < 1e-9 max {draw(st.integers(1, 3))} {{ {s} = {s} * 0.5 }}")
        elif form == "goal":
            lines.append(f"⟦ Goal | g{next(counter)} : ‖{draw(st.sampled_from(scalars))}‖ < 100 ⟧")
        else:
            template, kind = draw(st.sampled_from(TEMPLATES))
            expr = fill(template)
            name = f"r{next(counter)}"
            lines.append({"arrow": f"{expr} -> {name}", "bare": expr}.get(form, f"{name} = {expr}"))
            if form == "bare":
                continue
            if kind == "s":
                scalars.append(name)
            elif kind == "v":
                vectors.append(name)
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def fuzz_lab(tmp_path_factory):
    """One Lab in a fresh home (and `CODEXLAB_HOME`) for all examples; each example has its own container."""
    home = tmp_path_factory.mktemp("fuzz") / "home"
    saved = os.environ.get("CODEXLAB_HOME")
    os.environ["CODEXLAB_HOME"] = str(home)
    try:
        yield Lab(home=home)
    finally:
        if saved is None:
            os.environ.pop("CODEXLAB_HOME", None)
        else:
            os.environ["CODEXLAB_HOME"] = saved


_containers = itertools.count()


def _check_store(lab: Lab) -> None:
    """The store verifies and every run in it is whole: its anchors count its beams, and a run with an
    error beam has nothing else."""
    report = lab.store.verify()
    assert report.intact, report.problems
    anchored: dict[str, int] = {}
    for anchor in lab.store.anchors():
        anchored[anchor.sheet_run_id] = anchored.get(anchor.sheet_run_id, 0) + anchor.beam_count
    for run_id in lab.store.run_ids():
        stages = [b.stage for b in lab.store.beams_for_run(run_id)]
        assert anchored.get(run_id) == len(stages), run_id
        assert "error" not in stages or stages == ["error"], stages


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(code=scrolls())
def test_a_scroll_runs_or_raises_a_codex_error_and_the_store_stays_whole(fuzz_lab, code):
    container = f"fuzz{next(_containers)}"
    before = set(fuzz_lab.store.run_ids())
    try:
        run = fuzz_lab.run(code, container=container)
    except CodexError as err:
        new = set(fuzz_lab.store.run_ids()) - before
        assert len(new) == 1, new
        beams = fuzz_lab.store.beams_for_run(new.pop())
        assert [b.stage for b in beams] == ["error"]
        assert beams[0].result["error"] == type(err).__name__
    else:
        stored = fuzz_lab.store.beams_for_run(run.run_id)
        assert [b.beam_id for b in stored] == run.beam_ids
        assert all(b.stage != "error" for b in stored)
    _check_store(fuzz_lab)


def test_the_generator_reaches_every_glyph():
    """The templates spell every glyph of CODEXLANG.md at least once (so the fuzz covers them all)."""
    glyphs = ("∇", "∇·", "∇×", "Δ", "□", "d/dt", "∂x", "•", "×", "⊗", "⊕", "⊖", "⋈", "↔", "⧖", "‖", "|")
    text = "\n".join(t for t, _ in TEMPLATES)
    assert [g for g in glyphs if g not in text] == []
