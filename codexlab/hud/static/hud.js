// codexlab HUD: renders the compact `panels` dict as plain HTML/SVG (no dependencies, no CDN).
const NS = "http://www.w3.org/2000/svg";
const STAGE_COLORS = {
  ingest: "#4c78a8", rewrite: "#9d755d", schedule: "#bab0ac", symbolic: "#72b7b2", wave: "#54a24b",
  entangle: "#b279a2", collapse: "#ff9da6", loop: "#eeca3b", sqi: "#f58518", policy: "#e45756",
  fusion: "#79706e", repair: "#d67195", kg: "#439894", cpu: "#83bcb6", container: "#a0cbe8", error: "#e45756",
};
const color = (stage) => STAGE_COLORS[stage] || "#999";
const fmt = (v) => (v === null || v === undefined ? "–" : typeof v === "number" ? Number(v.toPrecision(4)).toString() : String(v));

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function section(root, title, count) {
  const det = el("details", { open: "" });
  det.append(el("summary", {}, `${title} (${count})`));
  const body = el("div", { class: "cx-scroll" });
  det.append(body);
  root.append(det);
  return body;
}

function table(parent, columns, rows, rowClass) {
  const t = el("table");
  const head = el("tr");
  for (const c of columns) head.append(el("th", {}, c));
  t.append(head);
  for (const r of rows) {
    const tr = el("tr", rowClass ? { class: rowClass(r) } : {});
    for (const c of columns) tr.append(el("td", {}, fmt(Array.isArray(r[c]) ? r[c].join(", ") : r[c])));
    t.append(tr);
  }
  parent.append(t);
}

function timeline(parent, beams) {
  const rowH = 14, labelW = 150, barW = 320;
  const maxMs = Math.max(1e-9, ...beams.map((b) => b.ms || 0));
  const s = svg("svg", { width: labelW + barW + 120, height: beams.length * rowH + 4 });
  beams.forEach((b, i) => {
    const y = i * rowH + 2;
    const g = svg("g");
    g.append(svg("title", {}, `${b.id}\n${b.stage} ${b.token} · ${fmt(b.ms)} ms · q ${fmt(b.q)} · ${b.verdict || ""}`));
    g.append(svg("text", { x: 0, y: y + 10 }, `${b.stage} ${b.token}`.slice(0, 26)));
    const w = b.ms ? Math.max(2, (barW * b.ms) / maxMs) : 2;
    g.append(svg("rect", { x: labelW, y, width: w, height: rowH - 3, fill: color(b.stage),
      stroke: b.verdict === "veto" ? "#d00" : "none", "stroke-width": 2 }));
    g.append(svg("text", { x: labelW + w + 4, y: y + 10 }, `${fmt(b.ms)} ms${b.q !== null ? ` q=${fmt(b.q)}` : ""}${b.verdict === "veto" ? " VETO" : ""}`));
    s.append(g);
  });
  parent.append(s);
}

function dag(parent, lineage) {
  const nodes = lineage.nodes || [];
  const layers = new Map();
  for (const n of nodes) {
    if (!layers.has(n.layer)) layers.set(n.layer, []);
    layers.get(n.layer).push(n);
  }
  const colW = 110, rowH = 22, pos = new Map();
  let maxRows = 1;
  for (const [layer, items] of layers) {
    maxRows = Math.max(maxRows, items.length);
    items.forEach((n, i) => pos.set(n.id, { x: layer * colW + 6, y: i * rowH + 6 }));
  }
  const s = svg("svg", { width: (layers.size || 1) * colW + 20, height: maxRows * rowH + 12 });
  for (const e of lineage.edges || []) {
    const a = pos.get(e.from), b = pos.get(e.to);
    if (a && b) s.append(svg("line", { x1: a.x + 90, y1: a.y + 8, x2: b.x, y2: b.y + 8, stroke: "#999" }));
  }
  for (const n of nodes) {
    const p = pos.get(n.id);
    const g = svg("g");
    g.append(svg("title", {}, n.id));
    g.append(svg("rect", { x: p.x, y: p.y, width: 90, height: 16, rx: 3, fill: color(n.stage), opacity: 0.85 }));
    g.append(svg("text", { x: p.x + 3, y: p.y + 12 }, `${n.token}`.slice(0, 14)));
    s.append(g);
  }
  parent.append(s);
  if (lineage.dropped) parent.append(el("div", { class: "cx-dim" }, `${lineage.dropped} earlier beams not shown`));
}

function sqiChart(parent, runs) {
  const w = 360, h = 90, n = runs.length;
  const s = svg("svg", { width: w + 40, height: h + 20 });
  const x = (i) => 30 + (n > 1 ? (i * w) / (n - 1) : w / 2);
  const y = (v) => 5 + h - h * Math.max(0, Math.min(1, v));
  s.append(svg("line", { x1: 30, y1: y(0), x2: 30 + w, y2: y(0), stroke: "#ccc" }));
  s.append(svg("text", { x: 0, y: y(1) + 4 }, "1"), svg("text", { x: 0, y: y(0) + 4 }, "0"));
  for (const [key, stroke] of [["qscore_mean", "#4c78a8"], ["qscore_min", "#e45756"]]) {
    const pts = runs.map((r, i) => (r[key] === null || r[key] === undefined ? null : `${x(i)},${y(r[key])}`)).filter(Boolean);
    if (pts.length) s.append(svg("polyline", { points: pts.join(" "), fill: "none", stroke }));
    runs.forEach((r, i) => { if (r[key] !== null && r[key] !== undefined) s.append(svg("circle", { cx: x(i), cy: y(r[key]), r: 2.5, fill: stroke })); });
  }
  parent.append(s);
  table(parent, ["run_id", "beams", "vetoes", "qscore_mean", "qscore_min", "drift_max"], runs.slice(-10));
}

function heatmap(parent, prec) {
  const ops = prec.ops || [], formats = prec.formats || [], cellW = 64, cellH = 16, left = 90;
  const s = svg("svg", { width: left + formats.length * cellW + 10, height: (ops.length + 1) * cellH + 6 });
  formats.forEach((f, j) => s.append(svg("text", { x: left + j * cellW + 3, y: 12 }, f)));
  ops.forEach((o, i) => s.append(svg("text", { x: 0, y: (i + 1) * cellH + 12 }, o.slice(0, 14))));
  for (const c of prec.cells || []) {
    const i = ops.indexOf(c.op), j = formats.indexOf(c.format);
    const err = c.rel_err === null ? null : c.rel_err;
    // log-scale error: 1e-16 → green, 1 → red
    const t = err === null ? 1 : Math.max(0, Math.min(1, (Math.log10(Math.max(err, 1e-16)) + 16) / 16));
    const g = svg("g");
    g.append(svg("title", {}, `${c.op} · ${c.format}: rel err ${fmt(err)}, ${fmt(c.ms)} ms, nonfinite ${c.nonfinite}`));
    g.append(svg("rect", { x: left + j * cellW, y: (i + 1) * cellH, width: cellW - 2, height: cellH - 2,
      fill: err === null ? "#ccc" : `hsl(${Math.round(120 * (1 - t))},65%,55%)` }));
    g.append(svg("text", { x: left + j * cellW + 3, y: (i + 1) * cellH + 11 }, fmt(err)));
    s.append(g);
  }
  parent.append(s);
}

function render(root, p) {
  root.replaceChildren();
  root.append(el("div", { class: "cx-head" },
    `codexlab HUD · run ${p.run_id || "–"} · container ${p.container || "any"} · ${(p.timeline || []).length} beams`));
  if (!p.run_id) { root.append(el("div", { class: "cx-dim" }, "No run yet.")); return; }
  sqiChart(section(root, "SQI / drift per run", (p.sqi || []).length), p.sqi || []);
  const vetoes = p.vetoes || [];
  if (vetoes.length) table(section(root, "SoulLaw vetoes", vetoes.length), ["name", "law", "reason"], vetoes, () => "cx-veto");
  timeline(section(root, "Beam timeline", (p.timeline || []).length), p.timeline || []);
  dag(section(root, "Lineage", ((p.lineage || {}).nodes || []).length), p.lineage || {});
  const costs = p.costs || [];
  if (costs.length) table(section(root, "Cost per opcode", costs.length), ["op", "count", "total_ms", "mean_ms", "predicted_ms"], costs);
  const muts = p.mutations || [];
  if (muts.length) table(section(root, "DNA mutations", muts.length), ["mutation_id", "reason", "original", "mutated", "accepted", "qscore_before", "qscore_after"], muts);
  const ent = p.entanglement || [];
  if (ent.length) table(section(root, "Entanglement", ent.length), ["eid", "members"], ent);
  if (p.precision && (p.precision.cells || []).length) heatmap(section(root, "Precision profile (mean rel. error)", p.precision.cells.length), p.precision);
}

function renderWidget({ model, el: host }) {
  const root = document.createElement("div");
  root.className = "cx-hud";
  host.append(root);
  const draw = () => render(root, model.get("panels") || {});
  model.on("change:panels", draw);
  draw();
  return () => model.off("change:panels", draw);
}

export default { render: renderWidget };
