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
os.environ.setdefault("CODEXLAB_CACHE_DIR", os.path.join(tempfile.gettempdir(), "codexlab-cache"))  # kept
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

The first cell points `CODEXLAB_HOME` at a temporary folder, so this notebook never writes into the repository,
and keeps compiled kernels in a cache folder that later kernels reuse (`CODEXLAB_CACHE_DIR`), so the next
kernel's first cell does not compile them again.
"""),
    code("""
import os, tempfile, warnings
os.environ["CODEXLAB_HOME"] = tempfile.mkdtemp(prefix="codexlab-nb-")
os.environ.setdefault("CODEXLAB_CACHE_DIR", os.path.join(tempfile.gettempdir(), "codexlab-cache"))
warnings.filterwarnings("ignore")
%load_ext codexlab
"""),
    md("""
A Gaussian wave packet ψ, its Laplacian written as `∇·∇ψ` (Photon rewrites it to `Δψ`), a superposition,
an entangled pair, a seeded measurement and a goal. Below the cell: the live HUD (click a beam in its
timeline to replay it) and the `Run` — each value's kind, shape and range, a picture of each field (|ψ| and
arg ψ for complex ones, one per component for vectors; `run.plot("ψ")` gives an interactive Plotly figure),
qscores, derivations and the ids that `lab.replay` resolves. (HUD cells carry the `nbval-ignore-output` tag: timings differ per run.)
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
        "Repairs: for a discretization drift, candidates are a higher FD order, a finer grid, spectral, fp64, exact evaluation (`@method exact`) — ranked by predicted qscore. Every patch parses."
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
print(cands["exact"].patched_scroll)
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


# ------------------------------------------------------------------------------------------------ 09
NOTEBOOKS["09_sweeps_dask"] = [
    md("""
# Parameter sweeps on Dask

`lab.sweep(scroll, params, client)` runs one scroll for every combination of parameter values — each point a
task on a Dask worker — and returns an `xarray.Dataset` with one dimension per parameter. Workers never write
the Lab's store: each point runs against a throwaway store and sends its beams back, and this process commits
every finished point in one transaction, so each point keeps its lineage and replay. See `docs/scale.md` for
taking the same code from a laptop to a cluster.
"""),
    code(SETUP),
    md("""
Two worker processes on this machine. `local_cluster` starts them with `spawn` (never `fork` after JAX has
loaded) and limits each one's XLA threads to its share of the cores.
"""),
    code(
        """
from distributed import Client
from codexlab.scale import free_names, local_cluster
cluster = local_cluster(2, dashboard_address=None)
client = Client(cluster)
len(client.scheduler_info()["workers"])
""",
        "nbval-ignore-output",
    ),
    md("""
A heat scroll with two names it reads but never binds — its **free names**, which a sweep may set: the width
`s` of the initial Gaussian and the time step `dt`.
"""),
    code("""
scroll = '''
@grid x:-1..1:64, y:-1..1:64, bc=dirichlet
u := gaussian(x, y, σ=s)
u0 = u
⟲ 200 { u = u + dt*Δu }
m = ‖u‖
loss = 1 - m/‖u0‖
'''
free_names(scroll)
"""),
    code("""
ds = lab.sweep(scroll, {"s": [0.1, 0.15, 0.2, 0.3], "dt": [1e-4, 2e-4]}, client, sweep_id="heat_study")
print(ds)
"""),
    md("""
Fields stack to `(s, dt, x, y)`, numbers to `(s, dt)`; `qscore` and `verdict` per bound name, and `run_id` per
point. Plotting is xarray's own: the fraction of the norm the diffusion removed, per width and step —
"""),
    code("""
lines = ds["loss"].plot.line(x="s", hue="dt", marker="o")
"""),
    md("— and the diffused fields of the larger step, one panel per width:"),
    code("""
facets = ds["u"].sel(dt=2e-4).plot(col="s", cmap="magma", size=2.2)
"""),
    md("Any point's run is one call away: its beams, its replay and its lineage in the store."),
    code("""
run_id = str(ds.run_id.sel(s=0.2, dt=1e-4).item())
beams = lab.replay(run_id, n=100)
norm = next(b for b in beams if b.token == "norm")
[(b.stage, b.token, b.result.get("name")) for b in lab.lineage(norm.beam_id)]
"""),
    md("The Dataset round-trips through NetCDF:"),
    code("""
import pathlib, xarray as xr
path = pathlib.Path(os.environ["CODEXLAB_HOME"]) / "heat_study.nc"
ds.to_netcdf(path)
xr.load_dataset(path).identical(ds)
"""),
    md("""
## Fields larger than memory

The `.cx` operators on a Dask-backed field run chunk by chunk (`map_overlap`), with ghost cells as wide as the
stencil — wrapped on periodic axes, reflected at Dirichlet and Neumann walls — and give the in-memory result.
"""),
    code("""
from codexlab.qwave.fields import make_field
from codexlab.qwave.grid import Grid
g = Grid.from_spec([("x", -1, 1, 1024), ("y", -1, 1, 1024)], "dirichlet")
X, Y = g.mesh()
f = make_field(np.exp(-(X**2 + Y**2) / 0.05), g, name="f")
lazy = f.chunk({"x": 256, "y": 256})
lap = lazy.cx.lap(order=4)
print(type(lap.data).__name__, lap.data.npartitions, "chunks")
eager = f.cx.lap(order=4)
print("max difference / max value:", float(abs(lap - eager).max() / abs(eager).max()) < 1e-14)
"""),
    code(
        """
client.close()
cluster.close()
""",
        "nbval-ignore-output",
    ),
]


# ------------------------------------------------------------------------------------------------ 10
NOTEBOOKS["10_sheets_containers"] = [
    md("""
# Sheets and containers

A **sheet** is a `.codex` file whose cells start at `# %% <cell id>` lines (or a notebook's `%%codex`
cells). `lab.run_sheet` runs it as a dependency graph: independent cells in parallel, each in a private
memory, with the same values and lineage as running the cells in order — and the next run reuses every
cell whose code and inputs did not change. A **container** can be exported to xarray (NetCDF, Zarr) with
each field's provenance, brought back, and given a stored program to run.
"""),
    code(SETUP),
    md("A small heat-equation study in five cells: the grid, an initial field, its diffusion, and two diagnostics."),
    code("""
from pathlib import Path
sheet = Path(os.environ["CODEXLAB_HOME"]) / "heat.codex"
sheet.write_text('''\\
# %% grid
@grid x:-1..1:64, y:-1..1:64
@container heat

# %% initial
u0 := gaussian(x, y, σ=0.2)

# %% diffuse
u = u0
⟲ 200 { u = u + 0.00001*Δu }

# %% peak
p = max(u)

# %% energy
E = ‖∇u0‖
''', encoding="utf-8")
run = lab.run_sheet(sheet, jobs=2)
print("ran:", run.ran)
print("reused:", run.reused)
for name, value in run.values.items():
    print(f"  {name}:", getattr(value, "shape", None) or round(float(value), 6))
"""),
    md("""
The graph: each edge says which name (or persistent directive, like `@grid`) a cell reads from another.
`diffuse` and `energy` only need `initial`, so they can run side by side.
"""),
    code("""
from codexlab.qpu import build_graph, load_sheet
graph = build_graph(load_sheet(sheet))
for edge in graph.edges:
    print(f"{edge.parent:8s} → {edge.child:8s} ({edge.what})")
"""),
    md("Timings (they differ per run): the wall time beside the sum of cell times, and the critical path."),
    code(
        """
m = run.metrics
print(f"wall {m['wall_ms']:.0f} ms · cells {m['cells_ms']:.0f} ms · speedup {m['speedup']:.2f}×")
print(f"critical path {' → '.join(m['critical_path'])}: {m['critical_path_ms']:.0f} ms")
""",
        "nbval-ignore-output",
    ),
    md("""
Running it again reuses every cell: each gets a `cached` beam whose parent is the beam it reuses, so
lineage stays whole. Edit one cell and only it and its dependants run.
"""),
    code("""
again = lab.run_sheet(sheet, jobs=2)
print("ran:", again.ran, "· reused:", again.reused)
sheet.write_text(sheet.read_text(encoding="utf-8").replace("⟲ 200", "⟲ 400"), encoding="utf-8")
third = lab.run_sheet(sheet, jobs=2)
print("after editing `diffuse` → ran:", third.ran, "· reused:", third.reused)
cached = next(b for b in third.beams if b.stage == "cached" and b.result.get("name") == "u0")
print("the cached beam of u0 links to the", lab.store.get_beam(cached.parents[0]).stage, "beam it reuses")
print("u0 equal to the first run's:", bool((third.values["u0"] == run.values["u0"]).all()))
"""),
    md("""
## A container, exported and opened with plain xarray

`lab.container("heat")` is the sheet's container. Its fields go to NetCDF with their units, boundary
conditions and, per variable, the beam and run each value came from.
"""),
    code("""
import xarray as xr
box = lab.container("heat")
print(box)
path = box.to_netcdf(Path(os.environ["CODEXLAB_HOME"]) / "heat.nc")
ds = xr.open_dataset(path)
print(sorted(ds.data_vars), dict(ds.sizes))
print(ds["u"].attrs)
print("container attrs:", ds.attrs["codexlab_container"], "·", ds.attrs["codexlab_grid"])
"""),
    md("Plain xarray from here on: the diffused field along `y = 0`, and its mean."),
    code("""
profile = ds["u"].sel(y=0.0, method="nearest")
print(profile.dims, profile.shape, "mean:", round(float(ds["u"].mean()), 6))
ds.close()
"""),
    md("""
Bring the file back as a new container: one `ingest` beam per field, its parent the exported beam, its
result the file's SHA-256. Then run a stored program — the fused QGlyph program a cell compiled — over
the imported fields: its beams carry `"source": "qfc_container_exec"`.
"""),
    code("""
import hashlib
copy = lab.container_from_dataset(path, "copy")
beam = lab.store.get_beam(copy.memory.bindings["u"].value.beam_id)
print("ingest parent is the exported beam:", beam.parents == [box.memory.bindings["u"].value.beam_id])
file_hash = hashlib.sha256(path.read_bytes()).hexdigest()
print("source hash is the file's sha256:", beam.result["source_sha256"] == file_hash)
step = lab.run("F = ∇u • ∇u + Δu", container="heat")
program = lab.qglyph(next(b.result["qglyph_id"] for b in step.beams if "qglyph_id" in b.result))
print(program)
from codexlab.container import execute_qfc_container_beams
done = execute_qfc_container_beams(copy, program, outputs="F")
print("sources:", sorted({b.source for b in done.beams}))
print("same values as in `heat`:", bool((done.values["F"] == step.values["F"]).all()))
"""),
    md("""
## Stale cells

In a notebook, a `%%codex` cell that redefines a name makes the container's cells that read it stale;
the HUD lists them, and `%codex rerun` (here `lab.rerun_stale`) runs them again in order.
"""),
    code("""
lab.run("@grid x:-1..1:32, y:-1..1:32\\na := gaussian(x, y, σ=0.3)", container="nb")
reader = lab.run("b = a * 2", container="nb")
lab.run("a := gaussian(x, y, σ=0.2)", container="nb")
label = {reader.cell_id: "the `b = a * 2` cell"}
print("stale:", {label[c]: names for c, names in lab.stale_cells("nb").items()})
print("re-ran:", [label[r.cell_id] for r in lab.rerun_stale("nb")])
print("stale now:", lab.stale_cells("nb"))
"""),
    md("""
## The program, the debugger and the profiler

A cell compiles to a program of instructions — what the executor runs. `lab.compile` prints it like
`dis`: each statement's line, then its instructions (`LOAD`/`CONST` fill registers, `EXACT`, `GRID`,
`FUSED` and `HOST` run ops, `BIND` vets and binds, `LOOP` … `ENDLOOP` a `⟲`).
"""),
    code("""
HEAT = "\\n".join([
    "@grid x:0..1:32, y:0..1:32",
    "u = exp(-((x - 0.5)^2 + (y - 0.5)^2) / 0.02)",
    "⟲ 3 { u = u + 0.0001*Δu }",
    "E = ‖u‖",
])
print(lab.compile(HEAT, container="vm"))
"""),
    md("""
`lab.debug` pauses that same machine before each instruction. Stepping by line visits the loop's line
once per iteration; `registers` are the current statement's registers as DataArrays. An abandoned debug
run keeps only its `error` beam; one run to the end commits like any run. (`%codex debug` shows the
same as a panel with step / continue buttons, the register table and a heatmap.)
"""),
    code("""
debugger = lab.debug(HEAT, container="vm")
lines = []
while debugger.next_line().reason == "line":
    ins = debugger.current
    lines.append(f"line {debugger.line} · iteration {debugger.iteration} · {ins.opcode} {ins.operation}")
print("\\n".join(lines))
print(debugger.stop.reason, "· E =", round(float(debugger.run.values["E"]), 6))

debugger = lab.debug(HEAT, container="vm", breakpoints=[3])
debugger.cont()
while debugger.current.opcode != "FUSED":
    debugger.step()
print(debugger.current.opcode, debugger.current.operation)
print({name: (da.dims, da.shape) for name, da in debugger.registers.items()})
debugger.abort()
print(debugger.stop.detail)
"""),
    md("The debugger stops at the first non-finite value and names the instruction that made it:"),
    code("""
blowup = lab.debug("a = 1.0\\n⟲ 400 { a = a * 1e100 }", container="vm")
stop = blowup.cont()
print(stop.reason, "at iteration", stop.iteration, "·", stop.detail)
blowup.abort()
"""),
    md("""
The instruction profiler (`lab.profile`, `%%codex --profile`, `codexlab run --profile`, `python -m
codexlab.vcpu FILE`) times every instruction, with its FLOPs and bytes from the op specs and the achieved
GB/s beside this machine's NumPy copy bandwidth. Timings differ per run, so this output is not compared.
"""),
    code(
        """
profile = lab.profile(HEAT.replace(":32", ":128").replace("⟲ 3", "⟲ 100"), container="vm128")
print(profile.table(limit=6))
print(f"instructions sum to {profile.total_s / profile.execute_s:.1%} of the execute stage")
""",
        "nbval-ignore-output",
    ),
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
