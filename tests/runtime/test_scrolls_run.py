"""Every sample scroll in `data/scrolls/` (the CODEXLANG.md examples and the tour) runs end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
import xarray as xr

from codexlab import Lab
from codexlab.runtime.values import Vetoed

ALL = sorted((Path(__file__).resolve().parents[2] / "data" / "scrolls").glob("*.codex"))
#: One-cell scrolls; `# %%` scrolls are notebooks of cells (spe.codex needs SPE_AUTO_FUSE, see test_cli).
SCROLLS = [p for p in ALL if "# %%" not in p.read_text(encoding="utf-8")]
#: Values a scroll vetoes on purpose (the tour shows SoulLaw refusing a non-finite value).
EXPECTED_VETOES = {"tour.codex": {"Q"}}


@pytest.mark.parametrize("path", SCROLLS, ids=[p.name for p in SCROLLS])
def test_scroll_runs_with_beams_and_only_the_expected_vetoes(path: Path, tmp_path: Path) -> None:
    lab = Lab(home=tmp_path / "home")
    lab.progress = False
    run = lab.run(path.read_text(encoding="utf-8"))
    vetoed = {name for name, v in run.values.items() if isinstance(v, Vetoed)}
    assert vetoed == EXPECTED_VETOES.get(path.name, set())
    assert any(isinstance(v, xr.DataArray) for v in run.values.values())
    assert lab.store.verify_chain(run.run_id) == []
    assert {b.beam_id for b in lab.replay(run.ghx_id, n=10_000)} == set(run.beam_ids)


def test_the_tour_uses_every_glyph() -> None:
    text = (SCROLLS[0].parent / "tour.codex").read_text(encoding="utf-8")
    for glyph in ("∇", "∇·", "∇×", "Δ", "□", "d/dt", "∂x", "•", "×", "⊗", "⊕", "⊖", "⋈", "↔", "⧖", "⟲", "⟦", "->"):
        assert glyph in text, glyph
