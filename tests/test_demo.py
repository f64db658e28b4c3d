"""The end-to-end demo (`codexlab demo`, `scripts/demo_photon_qwave_sqi.py`): every stage shows up, and the
GHX replay id and QFC id it prints resolve through the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyoxigraph
import pytest

from codexlab import Lab
from codexlab.cli import main
from codexlab.demo import run_demo

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    home = tmp_path_factory.mktemp("demo") / "home"
    lines: list[str] = []
    result = run_demo(home, out=lines.append)
    return home, result, lines


def _id(lines: list[str], label: str) -> str:
    (line,) = [x for x in lines if x.startswith(label)]
    return line.removeprefix(label).strip()


def test_every_stage_of_the_pipeline_is_shown(demo) -> None:
    home, result, lines = demo
    text = "\n".join(lines)
    assert "Photon: L = ∇·∇ψ  ⟶[div_grad]  Δψ" in text
    assert any(line.startswith("  QWave:  ⊗  on the jax backend · fused program") for line in lines)
    assert "vetoed by `finite`" in text
    lab = Lab(home=home)
    beams = lab.replay(result.ghx_id, n=100)
    assert {"wave", "entangle", "collapse"} <= {b.stage for b in beams}
    assert lab.store.entanglement_map(result.ghx_id) and result.eids
    repairs = [m for m in result.mutations if m.metadata.reason == "repair" and m.accepted]
    fusions = [m for m in result.mutations if m.metadata.reason == "fusion"]  # kept if measured faster
    assert repairs and len(fusions) == 1 and fusions[0].mutated.glyph.startswith("fuse_")
    assert all(m.qscore_after > m.qscore_before for m in repairs)
    graph = pyoxigraph.Store()
    graph.load(path=str(result.kg_file), format=pyoxigraph.RdfFormat.TURTLE)
    derived = "SELECT (COUNT(*) AS ?n) WHERE { ?v <http://www.w3.org/ns/prov#wasDerivedFrom> ?u }"
    assert int(next(iter(graph.query(derived)))["n"].value) > 0


def test_the_printed_ids_resolve_through_the_cli(demo, capsys: pytest.CaptureFixture[str]) -> None:
    home, result, lines = demo
    ghx, qfc = _id(lines, "GHX replay id:"), _id(lines, "QFC id:")
    assert (ghx, qfc) == (result.ghx_id, result.qfc_id)
    capsys.readouterr()
    assert main(["replay", ghx, "-n", "100", "--home", str(home)]) == 0
    replayed = capsys.readouterr().out.splitlines()
    assert [line.split()[3] for line in replayed] == [b.beam_id for b in Lab(home=home).replay(ghx, n=100)]
    assert main(["replay", result.eids[0], "--home", str(home)]) == 0
    assert all(result.eids[0] in line for line in capsys.readouterr().out.splitlines())
    assert main(["qfc", qfc, "--home", str(home)]) == 0
    kinds = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert kinds == [u.kind for u in Lab(home=home).qfc(qfc)] and "qpu_beam_timeline" in kinds


def test_the_script_runs_the_same_demo(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "demo_photon_qwave_sqi.py"), "--home", str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    ).stdout
    ghx = _id(out.splitlines(), "GHX replay id:")
    assert Lab(home=tmp_path / "home").replay(ghx, n=5)
