"""SPE_AUTO_FUSE: failed and drifting cells are repaired when a patch raises qscore; frequent chains fuse."""

from __future__ import annotations

from codexlab import Lab

GRID = "@grid x:-1..1:64, y:-1..1:64\nψ := gaussian(x, y, σ=0.2)\n"


def _lab(tmp_path, on: bool = True) -> Lab:
    lab = Lab(home=tmp_path / "home", flags={"SPE_AUTO_FUSE": on})
    lab.progress = False
    lab.min_fusion_gain = 0.0  # keep any glyph found: the keep rule itself is tested apart
    lab.run(GRID, "a")
    return lab


def test_an_undefined_name_is_repaired_instead_of_failing(tmp_path) -> None:
    lab = _lab(tmp_path)
    run = lab.run("L = Δphi\n", "a", cell_id="broken")
    assert "L" in run.values and run.mutations
    (mutation,) = [m for m in lab.mutations("a") if m.metadata.reason == "repair" and m.qscore_after is not None]
    assert mutation.accepted is True and mutation.mutation_id in run.mutations
    assert all(b.source == "photon" for b in run.beams if b.token != "cell")


def test_a_drifting_cell_comes_back_repaired(tmp_path) -> None:
    lab = Lab(home=tmp_path / "home", flags={"SPE_AUTO_FUSE": True})
    lab.progress = False
    run = lab.run("@grid x:-1..1:16, y:-1..1:16\n@method fd2\nf := gaussian(x, y, σ=0.15)\nL = Δf\n", "d")
    assert run.mutations
    repaired = [m for m in lab.mutations("d") if m.metadata.reason == "repair" and m.accepted]
    assert repaired and repaired[0].qscore_after > repaired[0].qscore_before


def test_a_repeated_chain_fuses_once_and_the_run_that_fused_it_says_so(tmp_path) -> None:
    lab = _lab(tmp_path)
    runs = [lab.run("E = ∇ψ • ∇ψ + Δψ\n", "a") for _ in range(4)]
    (fusion,) = [m for m in lab.mutations("a") if m.metadata.reason == "fusion"]
    carriers = [i for i, r in enumerate(runs) if fusion.mutation_id in r.mutations]
    assert len(carriers) == 1 and carriers[0] <= 2  # support 3 is reached by the third execution at the latest
    assert fusion.accepted is True and fusion.mutated.glyph.startswith("fuse_")


def test_without_the_flag_a_failing_cell_still_fails(tmp_path) -> None:
    import pytest

    from codexlab.errors import CodexNameError

    lab = _lab(tmp_path, on=False)
    with pytest.raises(CodexNameError):
        lab.run("L = Δphi\n", "a")
    assert lab.mutations("a") == []
