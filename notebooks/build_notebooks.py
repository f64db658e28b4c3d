"""Write and execute the tutorial notebooks in this folder (outputs are committed).

    .venv/bin/python notebooks/build_notebooks.py            # all notebooks
    .venv/bin/python notebooks/build_notebooks.py 03 05      # only those whose name starts so

Each notebook is built from the cells below, executed with nbclient on the `python3` kernel (the venv)
from this folder, then cleaned: no widget state, no per-cell execution metadata, so that re-running the
script gives a minimal diff. Check them with
`pytest --nbval -p no:cacheprovider notebooks/ --nbval-sanitize-with notebooks/nbval_sanitize.cfg`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

# The first code cell of every notebook: a throwaway home, so runs never touch the repository.
SETUP = """\
import os, tempfile, warnings
os.environ["CODEXLAB_HOME"] = tempfile.mkdtemp(prefix="codexlab-nb-")  # a fresh store for this notebook
warnings.filterwarnings("ignore")
import numpy as np
import polars as pl
import codexlab as cx
lab = cx.Lab()          # beams.db, kg/, vault/ and traces/ under $CODEXLAB_HOME
lab.progress = False    # no tqdm bars in saved outputs
"""


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(text.strip("\n"))


def code(text: str, *tags: str) -> nbformat.NotebookNode:
    cell = new_code_cell(text.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    return cell


NOTEBOOKS: dict[str, list[nbformat.NotebookNode]] = {}

# ------------------------------------------------------------------------------------------------ 00
NOTEBOOKS["00_tour"] = [
    md("""
# codexlab in ten cells

CodexLang is a small glyph language for fields and operators (∇ ∇· Δ ⊕ ↔ ⧖ ⟲ …). The `%%codex` cell magic
runs a cell through the whole pipeline — parse → Photon rewrite → schedule → exact or JAX evaluation →
SoulLaw and SQI → beams in a store — binds every assigned name in the notebook, and shows the **HUD**:
beam timeline, lineage DAG, SQI and drift, SoulLaw vetoes, cost per opcode, mutations, and a replay of
whichever beam you click.

The first cell points `CODEXLAB_HOME` at a temporary folder, so this notebook never writes into the repository.
"""),
    code("""
import os, tempfile, warnings
os.environ["CODEXLAB_HOME"] = tempfile.mkdtemp(prefix="codexlab-nb-")
warnings.filterwarnings("ignore")
%load_ext codexlab
"""),
    md("""
A Gaussian wave packet ψ, its Laplacian written as `∇·∇ψ` (Photon rewrites it to `Δψ`), a superposition,
an entangled pair, a seeded measurement and a goal. Below the cell: the live HUD (click a beam in its
timeline to replay it) and the `Run` — each value's kind, shape and range, qscores, derivations and the
ids that `lab.replay` resolves. (HUD cells carry the `nbval-ignore-output` tag: timings differ per run.)
"""),
    code(
        """
%%codex --seed 7
@grid x:-1..1:64, y:-1..1:64
ψ := gaussian(x, y, σ=0.15) * exp(i*8*x)
φ := gaussian(x, y, x0=0.3, σ=0.15)
L = ∇·∇ψ
S = ψ ⊕ φ
P = ψ ↔ φ
M = ⧖ψ
⟦ Goal | smooth : ‖∇ψ‖ < 40 ⟧
""",
        "nbval-ignore-output",
    ),
    md("The names are ordinary Python objects now: fields are `xarray.DataArray`s on the grid."),
    code("""
run = %codex last
print(type(L).__name__, L.dims, L.shape, L.dtype)
print("max |Δψ| =", round(float(abs(L).max()), 2))
print("L:", run.derivations["L"])
print("measured at", tuple(round(float(c), 4) for c in M.outcome), "with probability", round(float(M.probability), 5))
"""),
    md("""
GHX replay of the last cell's entangled pair (its first eid): the newest beams, oldest first — in JupyterLab
also a player that steps through them with each field's vault snapshot as a heatmap.
"""),
    code("""
%codex replay -n 4
"""),
    md("""
A `⟲` loop: 6000 explicit heat-equation steps, fused into one JAX `lax.fori_loop`. While it runs the HUD
shows its progress, reported from inside the compiled loop.
"""),
    code(
        """
%%codex
@grid x:-1..1:256, y:-1..1:256
u := gaussian(x, y, σ=0.2)
⟲ 6000 { u = u + 0.00001*Δu }
""",
        "nbval-ignore-output",
    ),
    md("A Gaussian of variance σ² spreads to σ² + 2t under ∂u/∂t = Δu, so its 2-D peak falls by σ²/(σ² + 2t):"),
    code("""
t, s2 = 6000 * 0.00001, 0.2**2
print("peak after diffusion:", round(float(u.max()), 4), "· analytic:", round(s2 / (s2 + 2 * t), 4))
"""),
    md("SoulLaw guards every value. `log` of a field with zeros is not finite, so `Q` is vetoed and **not bound**:"),
    code("""
%%codex --no-hud
f0 := x - x
Q = log(f0)
"""),
    code("""
print("Q" in globals())
%codex status
"""),
    md("SPARQL over the PROV-O knowledge graph of approved beams (`%codex` does not expand `{…}`):"),
    code("""
%codex kg "SELECT (COUNT(*) AS ?links) WHERE { ?v prov:wasDerivedFrom ?u }"
"""),
    md("""
A CodexLang mistake is a real cell error (so nbval and nbclient see it), shown in two lines with a caret.
This cell carries the `raises-exception` tag.

Next: `01_fields_and_operators`, `02_photon_derivations`, … in this folder.
"""),
    code(
        """
%%codex --no-hud
A = x +* 1
""",
        "raises-exception",
    ),
]

# ------------------------------------------------------------------------------------------------ 01
NOTEBOOKS["01_fields_and_operators"] = [
    md("""
# Fields and operators

Differential operators in CodexLang (∇, ∇·, ∇×, Δ, ∂x) on a grid, the `.cx` accessor on any
`xarray.DataArray`, and a check of the discrete Laplacian against the analytic one.
"""),
    code(SETUP),
    code("""
run = lab.run('''
@grid x:-1..1:128, y:-1..1:128
f := exp(-(x^2 + y^2)/0.1)
G = ∇f
L = Δf
P = ∂x f
F := [-y*f, x*f]
C = ∇×F
''')
run
"""),
    md("`∇f` is a vector field with a `component` dimension; the rest are scalar fields on the grid."),
    code("""
for name in ["G", "L", "P", "C"]:
    da = run.values[name]
    print(f"{name}: dims={da.dims} shape={da.shape} max|.|={float(abs(da).max()):.4f}")
"""),
    md("""
The analytic Laplacian of f = exp(−r²/a) with a = 0.1 is Δf = (4r²/a² − 4/a)·f. On this grid
(periodic, h = 2/128) the second-order stencil agrees to a relative L2 error well under one percent.
"""),
    code("""
L = run.values["L"]
x, y = L["x"], L["y"]
a = 0.1
r2 = x**2 + y**2
f = np.exp(-r2 / a)
exact = (4 * r2 / a**2 - 4 / a) * f
rel = float(np.sqrt(((L - exact) ** 2).sum()) / np.sqrt((exact**2).sum()))
print(f"relative L2 error of Δf: {rel:.2e}")
"""),
    md("""
The `.cx` accessor applies the same kernels to any DataArray with coordinates — here a NumPy-built field
that never went through CodexLang.
"""),
    code("""
g = f.rename("g")
lap = g.cx.lap()
print(type(lap).__name__, lap.shape)
print("accessor agrees with the scroll's Δf:", bool(float(abs(lap - L).max()) < 1e-9))
grad = g.cx.grad()
print("grad dims:", grad.dims)
"""),
    md("Finer grids shrink the error as h² (second order):"),
    code("""
import xarray as xr
errs = {}
for n in (32, 64, 128):
    xs = -1 + 2 * np.arange(n) / n          # a periodic grid on [−1, 1): h = 2/n
    X, Y = np.meshgrid(xs, xs, indexing="ij")
    R2 = X**2 + Y**2
    da = xr.DataArray(np.exp(-R2 / a), coords={"x": xs, "y": xs}, dims=("x", "y"))
    ex = (4 * R2 / a**2 - 4 / a) * np.exp(-R2 / a)
    errs[n] = float(np.sqrt(((da.cx.lap().values - ex) ** 2).sum() / (ex**2).sum()))
for n, e in errs.items():
    print(f"n={n:4d}  rel err {e:.2e}")
print("ratio 64→128:", round(errs[64] / errs[128], 1))
"""),
]

# ------------------------------------------------------------------------------------------------ 02
NOTEBOOKS["02_photon_derivations"] = [
    md("""
# Photon: rewrites and derivations

Before anything is evaluated, Photon rewrites each expression with a rule set and records the steps.
`run.derivations[name]` is that record: rule names, Unicode text and LaTeX.
"""),
    code(SETUP),
    code("""
run = lab.run('''
@grid x:-1..1:64, y:-1..1:64
ψ := gaussian(x, y, σ=0.2)
φ := gaussian(x, y, x0=0.3, σ=0.2)
L = ∇·∇ψ
S = ψ ⊕ φ
''')
sorted(run.derivations)
"""),
    code("""
d = run.derivations["L"]
print(d.to_unicode())
print("rules:", d.rule_names)
print("steps:", len(d))
"""),
    md("Each step has the rule that fired and the expression before and after it:"),
    code(
        """
for step in d:
    print(f"{step.rule:>12}: {cx.photon.printing.to_unicode(step.before)}  ⟶  {cx.photon.printing.to_unicode(step.after)}")
""".replace("cx.photon.printing.", "").replace(
            "for step in d:", "from codexlab.photon.printing import to_unicode\nfor step in d:"
        )
    ),
    md("A derivation renders as LaTeX in Jupyter (`_repr_latex_`); the source is `to_latex()`:"),
    code("""
print(d.to_latex())
d
"""),
    md("The exact form of a definition is kept as SymPy where it exists:"),
    code("""
print(run.exprs.get("ψ"))
print(run.derivations["S"].to_unicode())
"""),
    md("Parsing and printing without running: ASCII spellings give the same tree as glyphs."),
    code("""
from codexlab.lang import parse, to_text
print(to_text(parse("L = div(grad(psi))")), end="")
print(parse("L = div(grad(psi))") == parse("L = ∇·∇psi"))
"""),
]

# ------------------------------------------------------------------------------------------------ 03
NOTEBOOKS["03_states_entanglement_measurement"] = [
    md("""
# States: superposition, cancellation, entanglement, measurement

`⊕` superposes and normalizes, `⊖` cancels, `↔` entangles two states into a Schmidt pair sharing an
entanglement id (eid), and `⧖` measures with a Gaussian pointer — seeded by `@seed`, so it is reproducible.
"""),
    code(SETUP),
    code("""
states = '''
@grid x:-1..1:64, y:-1..1:64
@seed 11
a := gaussian(x, y, x0=-0.4, σ=0.15)
b := gaussian(x, y, x0=0.4, σ=0.15)
S = a ⊕ b
K = a ⊖ b
pair = a ↔ b
nS = ‖S‖
nK = ‖K‖
'''
run = lab.run(states, container="bell")
run
"""),
    md("`⊕` and `⊖` return unit-norm states; `a` and `b` barely overlap, so `a ↔ b` carries one bit of entanglement:"),
    code("""
print("‖S‖ =", round(float(run.values["nS"]), 6), " ‖K‖ =", round(float(run.values["nK"]), 6))
pair = run.values["pair"]
print("Schmidt rank:", pair.schmidt_rank, "| entropy:", round(float(pair.entropy_bits), 4), "bits")
print("Schmidt weights:", np.round(np.asarray(pair.lam) ** 2, 4).tolist())
print("eids:", len(run.eids), "| members share it:", pair.eid == run.eids[0])
"""),
    md("""
Measuring member `a` (in the same container) collapses the pointer and conditions the partner: the pair is
left (nearly) a product state. The outcome, its probability and a key are recorded.
"""),
    code("""
after = lab.run("m = ⧖a; P = pair", container="bell")
m = after.values["m"]
print("outcome", tuple(round(float(c), 4) for c in m.outcome), "p =", round(float(m.probability), 6), "mode", m.mode)
print("entropy after measuring a member:", round(float(after.values["P"].entropy_bits), 4), "bits")
"""),
    md("The same seed reproduces the outcome in a fresh container; another seed moves the pointer:"),
    code("""
def measure(seed, container):
    lab.run(states.replace("@seed 11", f"@seed {seed}"), container=container)
    return tuple(round(float(c), 4) for c in lab.run("m = ⧖a", container=container).values["m"].outcome)

print("seed 11 again:", measure(11, "again"), "| equal:", measure(11, "again2") == tuple(round(float(c), 4) for c in m.outcome))
print("seed 12:      ", measure(12, "seed12"))
"""),
    md("Every `↔` and `⧖` beam carries the eid, so `lab.replay(eid)` returns the pair's history:"),
    code("""
for b in lab.replay(run.eids[0], n=10, container_id="bell"):
    print(f"{b.stage:9s} {b.token}")
"""),
]

# ------------------------------------------------------------------------------------------------ 04
NOTEBOOKS["04_beams_lineage_replay"] = [
    md("""
# Beams, lineage and replay

Every executed operation is a **beam**: a row with its parents, a result summary, a hash-chain link,
drift, qscore and verdict. `lab.replay` returns a run's (or an eid's) newest beams, `lab.lineage` walks
parents with a recursive query, and `lab.store.frame("beams")` is the whole table as a polars DataFrame.
"""),
    code(SETUP),
    code("""
run = lab.run('''
@grid x:-1..1:64, y:-1..1:64
@seed 3
ψ := gaussian(x, y, σ=0.2)
E = ∇ψ • ∇ψ
n = ‖E‖
M = ⧖ψ
''')
print(len(run.beams), "beams")
"""),
    md("Replay by the run's GHX id (oldest first):"),
    code("""
for b in lab.replay(run.ghx_id, n=20):
    print(f"{b.stage:9s} {b.token:5s} {str(b.result.get('name', '')):3s} parents={len(b.parents)} verdict={b.verdict}")
"""),
    md("Lineage of the norm `n`: every ancestor beam, oldest first."),
    code("""
n_beam = next(b for b in reversed(run.beams) if b.stage == "wave" and b.token == "norm")
for b in lab.lineage(n_beam.beam_id):
    print(f"{b.stage:9s} {b.token:5s} {b.result.get('name', '')}".rstrip())
print("descendants of ψ:", len(lab.lineage(run.beams_of("ψ")[0].beam_id, direction="descendants", ids_only=True)))
"""),
    md("The store as polars — group, filter, pick fields out of the JSON `result` column:"),
    code("""
beams = lab.store.frame("beams")
print(beams.shape, beams.columns[:8])
beams.group_by("stage").agg(pl.len().alias("beams"), pl.col("qscore").mean().round(3).alias("mean_qscore")).sort("stage")
"""),
    code("""
(beams.filter(pl.col("stage") == "wave")
      .select("token", pl.col("result").str.json_path_match("$.shape").alias("shape"), "verdict"))
"""),
    md("The hash chain of each run can be verified end to end (`codexlab verify` does the same from a shell):"),
    code("""
problems = lab.store.verify_chain(run.run_id)
print("hash chain intact" if not problems else problems)
"""),
]

# ------------------------------------------------------------------------------------------------ 05
NOTEBOOKS["05_sqi_and_soullaw"] = [
    md("""
# SQI scores and SoulLaw

Each approved beam gets a **qscore** (goal match, rewrite success, entropy change, drift against the exact
form). **SoulLaw** vets each beam: a vetoed value is never bound and says which law and why. `Goal` glyph
records are checked, and `lab.status` sums a container's drift and gaps into CLOSED / OPEN / DRIFTING.
"""),
    code(SETUP),
    code("""
run = lab.run('''
@grid x:-1..1:64, y:-1..1:64
f := exp(-(x^2 + y^2)/0.1)
L1 = Δf
L2 = ∇·∇f
gap = ‖L1 - L2‖
⟦ Goal | agree : gap < 1e-6 ⟧
''', container="sqi")
names = {b.beam_id: b.result.get("name") or b.token for b in run.beams}
for s in run.scores:
    d = "—" if s.drift is None else f"{s.drift:.3g}"
    print(f"{names[s.beam_id]:>4}  qscore {s.qscore:.3f}  {s.rating:12s} drift {d}")
"""),
    md("The `Goal` record is kept as an intent, with its condition:"),
    code("""
for it in run.intents:
    print(it.type, it.tag, ":", it.text)
print("gap =", run.values["gap"])
print(lab.status("sqi"))
"""),
    md("A veto: `log` of a field that is zero everywhere is not finite."),
    code("""
bad = lab.run('''
@grid x:-1..1:16, y:-1..1:16
f0 := x - x
Q = log(f0)
''', container="veto")
q = bad.values["Q"]
print(type(q).__name__, "| law:", q.law, "| reason:", q.reason)
print([v.law for v in bad.verdicts if v.outcome == "veto"])
"""),
    md("Unmet goals open a container; the gap names the goal and its weight:"),
    code("""
lab.run('''
@grid x:-1..1:32, y:-1..1:32
u := gaussian(x, y, σ=0.2)
⟦ Goal | small : max(u) < 0.5 ⟧
''', container="goals")
print(lab.status("goals"))
"""),
    md("Scores are also rows in the store's `sqi_scores` table, ready for polars:"),
    code("""
scores = lab.store.frame("sqi_scores")
scores.group_by("container_id", "rating").agg(pl.len().alias("beams"), pl.col("qscore").min().round(3).alias("min_qscore")).sort("container_id", "rating")
"""),
]

# ------------------------------------------------------------------------------------------------ 06
NOTEBOOKS["06_patterns_fusion_repair"] = [
    md("""
# Patterns: motifs, fusion glyphs, repairs

`codexlab.patterns` mines a container's beams: frequent op chains (n-grams), attractors and entanglement
topology (`mine_patterns`); the most frequent fusable chain becomes one jitted **fusion glyph**
(`recombine_from_beams`); and `repair_from_drift` proposes ranked patches for a cell's drift report.
"""),
    code(SETUP),
    code("""
from codexlab.patterns import mine_patterns, recombine_from_beams, repair_from_drift
cell = '''
@grid x:-1..1:32, y:-1..1:32
ψ := gaussian(x, y, σ=0.2)
E = ∇ψ • ∇ψ
'''
for k in range(3):   # the same motif three times: ∇ then •
    lab.run(cell.replace("σ=0.2", f"σ=0.{k + 2}"), container="spe")
pats = mine_patterns(lab.store, "spe")
sorted(pats)
"""),
    code("""
pats["ngrams"].drop("duration_ms", "time_share")   # timings vary from run to run
"""),
    md("The most frequent fusable chain becomes a named glyph (timing skipped here with `measure=False`):"),
    code("""
from codexlab.patterns.motifs import container_beams
beams = container_beams(lab.store, "spe")
(glyph,) = recombine_from_beams(beams, min_support=3, measure=False)
print("chain:", " → ".join(glyph.chain), "| support:", glyph.support)
print("template:", glyph.text, "| inputs:", glyph.inputs)
"""),
    md("The fused kernel runs on any grid and matches the op-by-op result:"),
    code("""
from codexlab.qwave.grid import Grid
psi = lab.run(cell, container="spe").values
E_ref, psi0 = psi["E"], psi["ψ"]
fused = glyph.kernel(Grid.from_spec([("x", -1, 1, 32), ("y", -1, 1, 32)]))
out = fused(psi0)
print(out.shape, "max diff:", float(abs(out - E_ref).max()) < 1e-10)
"""),
    md(
        "Repairs: for a discretization drift, candidates are a higher FD order, a finer grid, spectral, fp64, symbolic — ranked by predicted qscore. Every patch parses."
    ),
    code("""
from codexlab.sqi.drift import DriftComponent, DriftReport
scroll = "@grid x:-1..1:64, y:-1..1:64\\n@precision fp32\\nf := gaussian(x, y, σ=0.2)\\nL = Δf\\n"
report = DriftReport(components=(DriftComponent("discretization", 0.05), DriftComponent("precision", 0.01)))
for c in repair_from_drift(report, scroll):
    d = "—" if c.predicted_drift is None else f"{c.predicted_drift:.3g}"
    print(f"{c.kind:12s} q={c.predicted_qscore:.3f} drift→{d:8s} {c.description}")
"""),
    code("""
cands = {c.kind: c for c in repair_from_drift(report, scroll)}
print("symbolic needs flags:", dict(cands["symbolic"].flags))
print(cands["fd_order"].patched_scroll)
"""),
]

# ------------------------------------------------------------------------------------------------ 07
NOTEBOOKS["07_precision_profiling"] = [
    md("""
# Precision profiling

With `profile=True` every wave op runs in every precision format (fp64 … fp8, fp4, int8) against the fp64
result; `lab.profiler.table()` collects mean errors. `recommend_precision_for_opcode` picks the cheapest
format whose expected error (κ·ε, or measured) meets a tolerance.
"""),
    code(SETUP),
    code("""
run = lab.run('''
@grid x:-1..1:64, y:-1..1:64
ψ := gaussian(x, y, σ=0.2)
L = Δψ
G = ∇ψ
''', profile=True)
table = lab.profiler.table()
print(table.shape, table.columns)
"""),
    md("Mean relative error per op and format (timings vary run to run, so they are not shown):"),
    code("""
table.select("op", "format", "bits", pl.col("mean_rel_err").map_elements(lambda v: float(f"{v:.2g}"), return_dtype=pl.Float64).alias("rel_err"), "nonfinite")
"""),
    md("The cheapest format for Δ at a relative tolerance of 1e-3 on a 64² grid, and the reason:"),
    code("""
from codexlab.qwave.precision import recommend_precision_for_opcode
rec = recommend_precision_for_opcode("Δ", 1e-3, (64, 64), profiler=lab.profiler)
print(rec.format, f"(expected rel. error {rec.predicted_rel_err:.2g}, κ={rec.kappa:.3g}, {rec.source})")
print(rec.reason)
"""),
    code("""
for tol in (1e-1, 1e-2, 1e-4, 1e-8):
    r = recommend_precision_for_opcode("Δ", tol, (64, 64), profiler=lab.profiler)
    print(f"tol {tol:g}: {r.format}")
"""),
    md("`@precision auto` lets the runtime choose a format per op the same way:"),
    code("""
auto = lab.run('''
@precision auto
L2 = Δψ
''')
print([ (b.token, b.result.get("precision")) for b in auto.beams if b.stage == "wave"])
"""),
]

# ------------------------------------------------------------------------------------------------ 08
NOTEBOOKS["08_knowledge_graph_sparql"] = [
    md("""
# The knowledge graph: PROV-O and SPARQL

Approved beams are exported to a PROV-O graph (one named graph per run): values are `prov:Entity`s linked
by `prov:wasDerivedFrom`. `lab.kg.query` runs SPARQL over it with `prov`, `cx`, `beam`, `value`, … predeclared.
"""),
    code(SETUP),
    code("""
run = lab.run('''
@grid x:-1..1:64, y:-1..1:64
ψ := gaussian(x, y, σ=0.2)
G = ∇ψ
D = ∇·G
n = ‖D‖
''')
print(len(run.beams), "beams")
"""),
    code("""
lab.kg.query("SELECT (COUNT(DISTINCT ?v) AS ?entities) WHERE { ?v a prov:Entity }", frame=True)
"""),
    md("Everything the norm `n` was derived from, transitively (`prov:wasDerivedFrom+`):"),
    code("""
n_beam = next(b for b in reversed(run.beams) if b.stage == "wave" and b.token == "norm")
q = '''
SELECT (COUNT(DISTINCT ?u) AS ?ancestors) WHERE {
  ?v prov:wasDerivedFrom+ ?u .
  FILTER(CONTAINS(STR(?v), "%s"))
}''' % n_beam.beam_id
lab.kg.query(q, frame=True)
"""),
    md("The same walk in the SQL store agrees with the graph:"),
    code("""
via_kg = lab.kg.lineage_query(n_beam.beam_id)
via_sql = lab.lineage(n_beam.beam_id, ids_only=True)
print(len(via_kg), len(via_sql), set(via_kg) == set(via_sql))
"""),
    md("An ASK query returns a bool:"),
    code("""
lab.kg.query("ASK { ?v prov:wasDerivedFrom ?u }")
"""),
]


# ------------------------------------------------------------------------------------------------ run


def build(name: str, cells: list[nbformat.NotebookNode]) -> float:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    took = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            for out in cell.outputs:
                out.get("metadata", {}).pop("application/vnd.jupyter.widget-view+json", None)
                out.get("data", {}).pop("application/vnd.jupyter.widget-view+json", None)
    nbformat.validate(nb)
    path = HERE / f"{name}.ipynb"
    nbformat.write(nb, path)
    return took


def main(prefixes: list[str]) -> None:
    for name, cells in NOTEBOOKS.items():
        if prefixes and not any(name.startswith(p) for p in prefixes):
            continue
        took = build(name, cells)
        size = (HERE / f"{name}.ipynb").stat().st_size
        print(f"{name}: {took:.1f} s, {size / 1024:.1f} KB", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
