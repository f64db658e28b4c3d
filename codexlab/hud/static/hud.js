// codexlab HUD and GHX replay (one ES module for both widgets; `view` says which).
// Panels draw as HTML/SVG at once; charts switch to Plotly when the kernel's PlotlyLibrary widget has
// loaded plotly.js (from the Python `plotly` package; see codexlab/hud/library.py). No CDN, no npm.
const NS = "http://www.w3.org/2000/svg";
const STAGE_COLORS = {
  ingest: "#4c78a8", rewrite: "#9d755d", schedule: "#bab0ac", symbolic: "#72b7b2", wave: "#54a24b",
  entangle: "#b279a2", collapse: "#ff9da6", loop: "#eeca3b", sqi: "#f58518", policy: "#e45756",
  fusion: "#79706e", repair: "#d67195", kg: "#439894", cpu: "#83bcb6", container: "#a0cbe8", error: "#e45756",
};
const ENT = "#b279a2";
const color = (stage) => STAGE_COLORS[stage] || "#999";
const fmt = (v) => (v === null || v === undefined || v === "" ? "–" : typeof v === "number" ? Number(v.toPrecision(4)).toString() : String(v));

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

// ------------------------------------------------------------------------------------------ Plotly
// The handshake with PlotlyLibrary (static/plotly_library.js builds the same object on globalThis):
// a promise that resolves to Plotly once the kernel's PlotlyLibrary model has loaded.
function plotlySlot() {
  const g = globalThis;
  if (!g.__codexlabPlotly) {
    let resolve;
    const promise = new Promise((r) => { resolve = r; });
    g.__codexlabPlotly = { promise, resolve, value: null };
  }
  return g.__codexlabPlotly;
}

const PLOT_CONFIG = { displayModeBar: false, responsive: true };
const baseLayout = (extra) => ({
  height: 220, margin: { l: 48, r: 48, t: 8, b: 36 }, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
  font: { size: 10 }, legend: { orientation: "h", y: -0.25 }, ...extra,
});

// Draw with Plotly when it is loaded, else with the fallback now and Plotly once it arrives.
function chart(parent, fallback, plot) {
  const box = el("div", { class: "cx-chart" });
  parent.append(box);
  const slot = plotlySlot();
  const withPlotly = (Plotly) => {
    box.replaceChildren();
    box.dataset.renderer = "plotly";
    const div = el("div");
    box.append(div);
    plot(div, Plotly);
  };
  if (slot.value) { withPlotly(slot.value); return; }
  box.dataset.renderer = "svg";
  fallback(box);
  slot.promise.then((Plotly) => { if (box.isConnected) withPlotly(Plotly); });
}

// ------------------------------------------------------------------------------------------ pieces
function section(root, title, count, state) {
  const det = el("details");
  if (!state.closed.has(title)) det.setAttribute("open", "");
  det.addEventListener("toggle", () => { if (det.open) state.closed.delete(title); else state.closed.add(title); });
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

function progressBar(parent, progress) {
  const box = el("div", { class: "cx-progress" });
  const frac = progress.total > 0 ? Math.min(1, progress.done / progress.total) : 0;
  const bar = el("div", { class: "cx-progress-bar" });
  const fill = el("div", { class: "cx-progress-fill" });
  fill.style.width = `${(100 * frac).toFixed(1)}%`;
  bar.append(fill);
  box.append(bar, el("span", {}, `${progress.label} · ${progress.done} / ${progress.total}${progress.fused ? " · fused" : ""}`));
  parent.append(box);
}

// Beam timeline: one clickable row per beam (the HUD's replay panel follows the selected beam).
function timeline(parent, beams, selected, onPick) {
  const rowH = 14, labelW = 150, barW = 320;
  const maxMs = Math.max(1e-9, ...beams.map((b) => b.ms || 0));
  const s = svg("svg", { class: "cx-timeline", width: labelW + barW + 120, height: beams.length * rowH + 4 });
  beams.forEach((b, i) => {
    const y = i * rowH + 2;
    const g = svg("g", { "data-beam-id": b.id, "data-stage": b.stage, class: b.id === selected ? "cx-selected" : "" });
    g.style.cursor = onPick ? "pointer" : "default";
    g.append(svg("title", {}, `${b.id}\n${b.stage} ${b.token} · ${fmt(b.ms)} ms · q ${fmt(b.q)} · ${b.verdict || ""}`));
    // the whole row is the click target (a transparent background unless selected)
    g.append(svg("rect", { x: 0, y: y - 1, width: labelW + barW + 118, height: rowH,
      fill: b.id === selected ? "rgba(76,120,168,0.18)" : "transparent" }));
    g.append(svg("text", { x: 0, y: y + 10 }, `${b.stage} ${b.token}`.slice(0, 26)));
    const w = b.ms ? Math.max(2, (barW * b.ms) / maxMs) : 2;
    g.append(svg("rect", { x: labelW, y, width: w, height: rowH - 3, fill: color(b.stage),
      stroke: b.verdict === "veto" ? "#d00" : "none", "stroke-width": 2 }));
    g.append(svg("text", { x: labelW + w + 4, y: y + 10 }, `${fmt(b.ms)} ms${b.q !== null ? ` q=${fmt(b.q)}` : ""}${b.verdict === "veto" ? " VETO" : ""}`));
    if (onPick) g.addEventListener("click", () => onPick(b.id));
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

function sqiSvg(parent, runs) {
  const w = 360, h = 90, n = runs.length;
  const s = svg("svg", { width: w + 40, height: h + 20 });
  const x = (i) => 30 + (n > 1 ? (i * w) / (n - 1) : w / 2);
  const y = (v) => 5 + h - h * Math.max(0, Math.min(1, v));
  s.append(svg("line", { x1: 30, y1: y(0), x2: 30 + w, y2: y(0), stroke: "#ccc" }));
  s.append(svg("text", { x: 0, y: y(1) + 4 }, "1"), svg("text", { x: 0, y: y(0) + 4 }, "0"));
  for (const [key, stroke] of [["qscore_mean", "#4c78a8"], ["qscore_min", "#e45756"]]) {
    const pts = runs.map((r, i) => (r[key] === null || r[key] === undefined ? null : `${x(i)},${y(r[key])}`)).filter(Boolean);
    if (pts.length) s.append(svg("polyline", { points: pts.join(" "), fill: "none", stroke }));
  }
  parent.append(s);
}

function sqiPlot(div, Plotly, runs) {
  const xs = runs.map((_, i) => i + 1);
  const line = (key, name, extra) => ({ x: xs, y: runs.map((r) => r[key]), name, mode: "lines+markers", ...extra });
  Plotly.newPlot(div, [
    line("qscore_mean", "qscore mean", { line: { color: "#4c78a8" } }),
    line("qscore_min", "qscore min", { line: { color: "#e45756" } }),
    line("drift_max", "max drift", { yaxis: "y2", line: { color: "#54a24b", dash: "dot" } }),
  ], baseLayout({
    xaxis: { title: { text: "run" }, dtick: 1 }, yaxis: { title: { text: "qscore" }, range: [0, 1.05] },
    yaxis2: { title: { text: "drift" }, overlaying: "y", side: "right", type: "log", tickformat: ".0e", showgrid: false },
  }), PLOT_CONFIG);
}

// Per opcode, means per beam: compile time (XLA, inside the measured time), the rest (steady state) and
// the prediction. An op whose compile time is unknown has no compile bar (it is not zero).
function costPlot(div, Plotly, costs) {
  const ops = costs.map((c) => c.op);
  Plotly.newPlot(div, [
    { type: "bar", x: ops, y: costs.map((c) => c.mean_ms), name: "measured ms", marker: { color: "#72b7b2" } },
    { type: "bar", x: ops, y: costs.map((c) => c.compile_ms), name: "compile ms", marker: { color: "#bab0ac" } },
    { type: "bar", x: ops, y: costs.map((c) => c.run_ms), name: "run ms (no compile)", marker: { color: "#4c78a8" } },
    { type: "bar", x: ops, y: costs.map((c) => c.predicted_ms), name: "predicted ms", marker: { color: "#f58518" } },
  ], baseLayout({ barmode: "group", yaxis: { title: { text: "ms per beam" }, type: "log" } }), PLOT_CONFIG);
}

const costRows = (costs) => costs.map((c) => ({ ...c, compile_ms: c.compile_ms === null ? "unknown" : c.compile_ms }));

function precisionSvg(parent, prec) {
  const ops = prec.ops || [], formats = prec.formats || [], cellW = 64, cellH = 16, left = 90;
  const s = svg("svg", { width: left + formats.length * cellW + 10, height: (ops.length + 1) * cellH + 6 });
  formats.forEach((f, j) => s.append(svg("text", { x: left + j * cellW + 3, y: 12 }, f)));
  ops.forEach((o, i) => s.append(svg("text", { x: 0, y: (i + 1) * cellH + 12 }, o.slice(0, 14))));
  for (const c of prec.cells || []) {
    const i = ops.indexOf(c.op), j = formats.indexOf(c.format);
    const err = c.rel_err;
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

function precisionPlot(div, Plotly, prec) {
  const ops = prec.ops || [], formats = prec.formats || [];
  const z = ops.map(() => formats.map(() => null)), text = ops.map(() => formats.map(() => ""));
  for (const c of prec.cells || []) {
    const i = ops.indexOf(c.op), j = formats.indexOf(c.format);
    if (i < 0 || j < 0) continue;
    z[i][j] = c.rel_err === null ? null : Math.log10(Math.max(c.rel_err, 1e-16));
    text[i][j] = `rel err ${fmt(c.rel_err)} · ${fmt(c.ms)} ms · nonfinite ${c.nonfinite}`;
  }
  Plotly.newPlot(div, [{
    type: "heatmap", x: formats, y: ops, z, text, hoverinfo: "x+y+text", colorscale: "RdYlGn", reversescale: true,
    zmin: -16, zmax: 0, colorbar: { title: { text: "log10 err" } },
  }], baseLayout({ height: 60 + 26 * Math.max(2, ops.length), margin: { l: 90, r: 20, t: 8, b: 36 } }), PLOT_CONFIG);
}

// ------------------------------------------------------------------------------------------ fields
// A field picture from Python (codexlab.qwave.pictures.picture): a PNG heatmap (first dim → right, second
// dim ↑ up) or polylines of a 1-D field, with its title, range, colour bar and extents.
function pictureEl(pic) {
  const fig = el("figure", { class: "cx-pic", "data-title": pic.title });
  if (pic.kind === "line") {
    const s = svg("svg", { width: pic.width, height: pic.height, viewBox: `0 0 ${pic.width} ${pic.height}` });
    for (const line of pic.lines) {
      s.append(svg("polyline", { points: line.map(([x, y]) => `${x},${y}`).join(" "), fill: "none", stroke: "#4c78a8", "stroke-width": 1.2 }));
    }
    fig.append(s);
  } else {
    const img = el("img", { src: pic.src, width: String(pic.width), height: String(pic.height), alt: pic.title });
    img.style.imageRendering = "pixelated";
    fig.append(img);
  }
  const cap = el("figcaption");
  cap.append(el("b", {}, pic.title), el("br"), document.createTextNode(fmt(pic.min)));
  if (pic.colorbar) cap.append(el("img", { src: pic.colorbar, width: "48", height: "7", alt: "", class: "cx-cbar" }));
  else cap.append(document.createTextNode(" … "));
  cap.append(document.createTextNode(fmt(pic.max)), el("br"));
  const arrows = ["→", "↑"];
  cap.append(document.createTextNode(pic.dims.map((d, k) => `${d} ${arrows[k]} [${fmt(pic.extent[k][0])}, ${fmt(pic.extent[k][1])}]`).join(" · ")));
  fig.append(cap);
  return fig;
}

function fieldsPanel(parent, groups, left) {
  const row = el("div", { class: "cx-pictures" });
  for (const g of groups) for (const pic of g.pictures) row.append(pictureEl(pic));
  parent.append(row);
  if (left) parent.append(el("div", { class: "cx-dim" }, `… ${left} more pictures (run.plot(name) draws any field)`));
}

// ------------------------------------------------------------------------------------------ replay
const STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function ramp(t) {
  const x = Math.max(0, Math.min(1, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x)), f = x - i, a = STOPS[i], b = STOPS[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + f * (b[k] - a[k])));
}

// Dequantize the uint8 codes of a field (−1 = not finite).
const dequantize = (f) => f.data.map((q) => (q < 0 || f.min === null ? null : f.min + (q / 255) * (f.max - f.min)));

function fieldCanvas(parent, f) {
  const canvas = el("canvas");
  if (f.kind === "line") {
    const w = 256, h = 96, n = f.data.length;
    Object.assign(canvas, { width: w, height: h });
    const ctx = canvas.getContext("2d");
    ctx.strokeStyle = "#4c78a8";
    ctx.beginPath();
    let pen = false;
    f.data.forEach((q, i) => {
      if (q < 0) { pen = false; return; }
      const x = n > 1 ? (i * (w - 4)) / (n - 1) + 2 : w / 2, y = h - 2 - (q / 255) * (h - 4);
      if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      pen = true;
    });
    ctx.stroke();
  } else {
    const [rows, cols] = f.shape;
    Object.assign(canvas, { width: cols, height: rows });
    const scale = Math.max(1, Math.floor(256 / Math.max(rows, cols)));
    canvas.style.cssText = `width:${cols * scale}px;height:${rows * scale}px;image-rendering:pixelated`;
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(cols, rows);
    f.data.forEach((q, i) => img.data.set([...(q < 0 ? [200, 200, 200] : ramp(q / 255)), 255], i * 4));
    ctx.putImageData(img, 0, 0);
  }
  parent.append(canvas);
}

// `f.data` is in image order (first row on top); Plotly puts z's first row at the bottom.
function fieldPlot(div, Plotly, f) {
  const values = dequantize(f);
  if (f.kind === "line") {
    Plotly.newPlot(div, [{ y: values, mode: "lines", line: { color: "#4c78a8" } }],
      baseLayout({ height: 200, width: 320, xaxis: { title: { text: f.dims[0] || "" } } }), PLOT_CONFIG);
    return;
  }
  const [rows, cols] = f.shape;
  const z = Array.from({ length: rows }, (_, r) => values.slice((rows - 1 - r) * cols, (rows - r) * cols));
  Plotly.newPlot(div, [{ type: "heatmap", z, colorscale: "Viridis", colorbar: { thickness: 10 } }],
    baseLayout({ height: 280, width: 320, margin: { l: 36, r: 8, t: 8, b: 30 },
      xaxis: { title: { text: f.dims[0] || "" } }, yaxis: { title: { text: f.dims[1] || "" }, scaleanchor: "x" } }), PLOT_CONFIG);
}

function stepDetails(parent, s) {
  const t = el("table");
  const member = s.entangled ? `member${s.role ? ` (${s.role})` : ""}${(s.member_of || []).length ? ` of ${s.member_of.join(", ")}` : ""}` : "no";
  for (const [k, v] of [["beam", s.beam_id], ["stage", s.stage], ["token", s.token], ["name", s.name], ["timestamp", s.timestamp],
    ["eid", s.eid], ["entangled", member], ["qscore", s.qscore], ["verdict", s.verdict]]) {
    const tr = el("tr");
    tr.append(el("th", {}, k), el("td", {}, fmt(v)));
    if (k === "entangled" && s.entangled) tr.style.background = "rgba(178,121,162,0.18)";
    if (k === "verdict" && v === "veto") tr.className = "cx-veto";
    t.append(tr);
  }
  parent.append(t);
}

// One replay view: controls, a strip of steps (entangled members outlined), the step's beam and field.
// `state` = {ref, steps, fields, step, playing}; `act` = {go(j), toggle()} (toggle null: no play button).
function replayView(root, state, act) {
  const { steps = [], fields = {} } = state, n = steps.length;
  const k = Math.max(0, Math.min(state.step || 0, n - 1));
  root.dataset.step = String(k);
  root.append(el("div", { class: "cx-head" }, `replay · ${state.ref || "–"} · ${n} steps`));
  if (!n) { root.append(el("div", { class: "cx-dim" }, "No beams for this reference.")); return; }
  const bar = el("div", { class: "cx-bar" });
  const prev = el("button", { title: "previous step" }, "◀"), next = el("button", { title: "next step" }, "▶");
  const slider = el("input", { type: "range", min: "0", max: String(n - 1), step: "1", value: String(k) });
  slider.style.flex = "1";
  prev.onclick = () => act.go(k - 1);
  next.onclick = () => act.go(k + 1);
  slider.oninput = () => act.go(Number(slider.value));
  bar.append(prev);
  if (act.toggle) {
    const play = el("button", { title: state.playing ? "pause" : "play" }, state.playing ? "⏸ pause" : "⏵ play");
    play.onclick = act.toggle;
    bar.append(play);
  }
  bar.append(next, slider, el("span", {}, `${k + 1} / ${n}`));
  root.append(bar);
  const strip = el("div", { class: "cx-strip" });
  steps.forEach((s, i) => {
    const chip = el("span", { title: `${s.stage} ${s.token} · ${s.beam_id}${s.eid ? `\n${s.eid}` : ""}`, "data-beam-id": s.beam_id }, s.token);
    chip.style.cssText = `border:2px solid ${s.entangled ? ENT : "transparent"};background:${i === k ? "rgba(76,120,168,0.3)" : "rgba(128,128,128,0.12)"}`;
    chip.onclick = () => act.go(i);
    strip.append(chip);
  });
  root.append(strip);
  const s = steps[k];
  const body = el("div", { class: "cx-row" });
  stepDetails(body, s);
  const f = s.vault_ref ? fields[s.vault_ref] : null;
  const box = el("div");
  if (f && f.data) {
    chart(box, (b) => fieldCanvas(b, f), (div, Plotly) => fieldPlot(div, Plotly, f));
    const src = (f.source_shape || []).join("×"), shown = (f.shape || []).join("×");
    box.append(el("div", { class: "cx-dim" },
      `${f.magnitude ? "|·| " : ""}${(f.dims || []).join(", ")} · ${src}${src !== shown ? ` → ${shown}` : ""} · min ${fmt(f.min)} · max ${fmt(f.max)}`));
  } else {
    box.append(el("div", { class: "cx-dim" }, f && f.error ? `field unavailable: ${f.error}` : "no field for this step"));
  }
  body.append(box);
  root.append(body);
}

// ------------------------------------------------------------------------------------------ HUD
function renderHud(root, model, state) {
  const p = model.get("panels") || {};
  const selected = model.get("selected") || "";
  root.replaceChildren();
  const beams = p.timeline || [];
  root.dataset.run = p.run_id || "";
  root.dataset.live = p.live ? "1" : "0";
  root.append(el("div", { class: "cx-head" },
    `codexlab HUD · run ${p.run_id || "–"} · container ${p.container || "any"} · ${beams.length} beams${p.live ? " · running…" : ""}`));
  if (!p.run_id) { root.append(el("div", { class: "cx-dim" }, "No run yet.")); return; }
  const tl = section(root, "Beam timeline", beams.length, state);
  if (p.progress) progressBar(tl, p.progress);
  const pick = (id) => { model.set("selected", id); model.save_changes(); };
  timeline(tl, beams, selected, pick);
  const replay = model.get("replay") || {};
  if (replay.steps && replay.steps.length) {
    const box = el("div", { class: "cx-replay-panel", "data-selected": replay.selected || "" });
    if (state.replayFor !== replay) { state.replayFor = replay; state.replayStep = replay.step || 0; }
    const draw = () => {
      box.replaceChildren();
      replayView(box, { ...replay, step: state.replayStep }, {
        go: (j) => { state.replayStep = Math.max(0, Math.min(j, replay.steps.length - 1)); draw(); },
        toggle: null,
      });
    };
    draw();
    section(root, "Replay of the selected beam", replay.steps.length, state).append(box);
  } else if (!p.live) {
    tl.append(el("div", { class: "cx-dim" }, "Click a beam to replay its entanglement (or its run) here."));
  }
  const groups = p.fields || [];
  if (groups.length) {
    const count = groups.reduce((n, g) => n + g.pictures.length, 0);
    fieldsPanel(section(root, "Fields", count, state), groups, p.fields_left || 0);
  }
  const runs = p.sqi || [];
  const sq = section(root, "SQI / drift per run", runs.length, state);
  if (runs.length) {
    chart(sq, (b) => sqiSvg(b, runs), (div, Plotly) => sqiPlot(div, Plotly, runs));
    table(sq, ["run_id", "beams", "vetoes", "qscore_mean", "qscore_min", "drift_max"], runs.slice(-10));
  } else {
    sq.append(el("div", { class: "cx-dim" }, "Scores appear when the run commits."));
  }
  const vetoes = p.vetoes || [];
  if (vetoes.length) table(section(root, "SoulLaw vetoes", vetoes.length, state), ["name", "law", "reason"], vetoes, () => "cx-veto");
  dag(section(root, "Lineage", ((p.lineage || {}).nodes || []).length, state), p.lineage || {});
  const costs = p.costs || [];
  if (costs.length) {
    const c = section(root, "Cost per opcode", costs.length, state);
    c.append(el("div", { class: "cx-dim" }, "ms per beam: compile (XLA, unknown when not reported) apart from run; predicted ÷ run compares the cost model with the steady state."));
    chart(c, () => {}, (div, Plotly) => costPlot(div, Plotly, costs));
    table(c, ["op", "count", "mean_ms", "compile_ms", "run_ms", "predicted_ms", "pred_ratio", "total_ms"], costRows(costs));
  }
  const muts = p.mutations || [];
  if (muts.length) table(section(root, "DNA mutations", muts.length, state), ["mutation_id", "reason", "original", "mutated", "accepted", "qscore_before", "qscore_after"], muts);
  const ent = p.entanglement || [];
  if (ent.length) table(section(root, "Entanglement", ent.length, state), ["eid", "members"], ent);
  const prec = p.precision || {};
  if ((prec.cells || []).length) {
    chart(section(root, "Precision profile (mean rel. error)", prec.cells.length, state),
      (b) => precisionSvg(b, prec), (div, Plotly) => precisionPlot(div, Plotly, prec));
  }
}

function hudWidget({ model, el: host }) {
  const root = el("div", { class: "cx-hud" });
  host.append(root);
  const state = { closed: new Set(), replayFor: null, replayStep: 0 };
  let queued = false;
  const draw = () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; renderHud(root, model, state); });
  };
  const events = ["change:panels", "change:replay", "change:selected"];
  for (const e of events) model.on(e, draw);
  renderHud(root, model, state);
  return () => { for (const e of events) model.off(e, draw); };
}

// ------------------------------------------------------------------------------------------ ReplayWidget
function replayWidget({ model, el: host }) {
  const root = el("div", { class: "cx-hud cx-replay" });
  host.append(root);
  let timer = null;
  const n = () => (model.get("steps") || []).length;
  const go = (j) => { model.set("step", Math.max(0, Math.min(j, n() - 1))); model.save_changes(); };
  const toggle = () => {
    const playing = !!model.get("playing");
    if (!playing && (model.get("step") || 0) >= n() - 1) model.set("step", 0);
    model.set("playing", !playing && n() > 1);
    model.save_changes();
  };
  const tick = () => {
    const k = model.get("step") || 0;
    if (k < n() - 1) model.set("step", k + 1);
    if (k + 1 >= n() - 1) model.set("playing", false);
    model.save_changes();
  };
  const sync = () => {
    if (model.get("playing") && timer === null) timer = setInterval(tick, Math.max(50, model.get("interval_ms") || 800));
    if (!model.get("playing") && timer !== null) { clearInterval(timer); timer = null; }
  };
  const draw = () => {
    sync();
    root.replaceChildren();
    replayView(root, { ref: model.get("ref"), steps: model.get("steps"), fields: model.get("fields"),
      step: model.get("step"), playing: model.get("playing") }, { go, toggle });
  };
  const events = ["change:steps", "change:fields", "change:step", "change:playing", "change:ref"];
  for (const e of events) model.on(e, draw);
  const restart = () => { if (timer !== null) { clearInterval(timer); timer = null; } sync(); };
  model.on("change:interval_ms", restart);
  draw();
  return () => {
    for (const e of events) model.off(e, draw);
    model.off("change:interval_ms", restart);
    if (timer !== null) clearInterval(timer);
  };
}

export default { render: (ctx) => (ctx.model.get("view") === "replay" ? replayWidget(ctx) : hudWidget(ctx)) };
