// codexlab GHX replay: a step slider, play/pause on a timer, the current beam's details, and its field
// (a uint8-quantized heatmap or line, dequantized with min/max) drawn on a <canvas>. No dependencies.
const fmt = (v) => (v === null || v === undefined || v === "" ? "–" : typeof v === "number" ? Number(v.toPrecision(4)).toString() : String(v));
const ENT = "#b279a2";

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// viridis-like ramp through five stops, t in [0, 1]
const STOPS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function ramp(t) {
  const x = Math.max(0, Math.min(1, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x)), f = x - i, a = STOPS[i], b = STOPS[i + 1];
  return [0, 1, 2].map((k) => Math.round(a[k] + f * (b[k] - a[k])));
}

function drawHeatmap(canvas, field) {
  const [rows, cols] = field.shape;
  canvas.width = cols;
  canvas.height = rows;
  const scale = Math.max(1, Math.floor(256 / Math.max(rows, cols)));
  canvas.style.width = `${cols * scale}px`;
  canvas.style.height = `${rows * scale}px`;
  canvas.style.imageRendering = "pixelated";
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(cols, rows);
  // data is row-major over (dim0, dim1); draw dim0 down, dim1 across
  field.data.forEach((q, i) => {
    const [r, g, b] = q < 0 ? [200, 200, 200] : ramp(q / 255);
    img.data.set([r, g, b, 255], i * 4);
  });
  ctx.putImageData(img, 0, 0);
}

function drawLine(canvas, field) {
  const w = 256, h = 96, n = field.data.length;
  canvas.width = w;
  canvas.height = h;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext("2d");
  ctx.strokeStyle = "#4c78a8";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let pen = false;
  field.data.forEach((q, i) => {
    if (q < 0) { pen = false; return; }
    const x = n > 1 ? (i * (w - 4)) / (n - 1) + 2 : w / 2, y = h - 2 - (q / 255) * (h - 4);
    if (pen) ctx.lineTo(x, y); else ctx.moveTo(x, y);
    pen = true;
  });
  ctx.stroke();
}

function details(parent, s) {
  const t = el("table");
  const rows = [
    ["beam", s.beam_id], ["stage", s.stage], ["token", s.token], ["name", s.name], ["timestamp", s.timestamp],
    ["eid", s.eid], ["entangled", s.entangled ? `member${s.role ? ` (${s.role})` : ""}${(s.member_of || []).length ? ` of ${s.member_of.join(", ")}` : ""}` : "no"],
    ["qscore", s.qscore], ["verdict", s.verdict],
  ];
  for (const [k, v] of rows) {
    const tr = el("tr");
    tr.append(el("th", {}, k), el("td", {}, fmt(v)));
    if (k === "entangled" && s.entangled) tr.style.background = "rgba(178,121,162,0.18)";
    if (k === "verdict" && v === "veto") tr.className = "cx-veto";
    t.append(tr);
  }
  parent.append(t);
}

function render(root, model) {
  const steps = model.get("steps") || [], fields = model.get("fields") || {}, n = steps.length;
  const k = Math.max(0, Math.min(model.get("step") || 0, n - 1)), playing = !!model.get("playing");
  const go = (j) => { model.set("step", Math.max(0, Math.min(j, n - 1))); model.save_changes(); };
  root.replaceChildren();
  root.append(el("div", { class: "cx-head" }, `codexlab replay · ${model.get("ref") || "–"} · ${n} steps`));
  if (!n) { root.append(el("div", { class: "cx-dim" }, "No beams for this reference.")); return; }

  const bar = el("div");
  bar.style.cssText = "display:flex;gap:6px;align-items:center;margin:4px 0";
  const prev = el("button", { title: "previous step" }, "◀"), next = el("button", { title: "next step" }, "▶");
  const play = el("button", { title: playing ? "pause" : "play" }, playing ? "⏸ pause" : "⏵ play");
  const slider = el("input", { type: "range", min: "0", max: String(n - 1), step: "1", value: String(k) });
  slider.style.flex = "1";
  prev.onclick = () => go(k - 1);
  next.onclick = () => go(k + 1);
  play.onclick = () => {
    if (!playing && k >= n - 1) model.set("step", 0);
    model.set("playing", !playing && n > 1);
    model.save_changes();
  };
  slider.oninput = () => go(Number(slider.value));
  bar.append(prev, play, next, slider, el("span", {}, `${k + 1} / ${n}`));
  root.append(bar);

  // a strip of all steps: click to jump; entangled members outlined
  const strip = el("div");
  strip.style.cssText = "display:flex;flex-wrap:wrap;gap:2px;margin:2px 0 6px";
  steps.forEach((s, i) => {
    const chip = el("span", { title: `${s.stage} ${s.token} · ${s.beam_id}${s.eid ? `\n${s.eid}` : ""}` }, s.token);
    chip.style.cssText = `cursor:pointer;padding:0 4px;border-radius:3px;border:2px solid ${s.entangled ? ENT : "transparent"};` +
      `background:${i === k ? "rgba(76,120,168,0.3)" : "rgba(128,128,128,0.12)"}`;
    chip.onclick = () => go(i);
    strip.append(chip);
  });
  root.append(strip);

  const s = steps[k];
  const body = el("div");
  body.style.cssText = "display:flex;gap:12px;align-items:flex-start;flex-wrap:wrap";
  details(body, s);
  const f = s.vault_ref ? fields[s.vault_ref] : null;
  const box = el("div");
  if (f && f.data) {
    const canvas = el("canvas");
    if (f.kind === "line") drawLine(canvas, f); else drawHeatmap(canvas, f);
    box.append(canvas);
    const src = (f.source_shape || []).join("×"), shown = (f.shape || []).join("×");
    box.append(el("div", { class: "cx-dim" },
      `${f.magnitude ? "|·| " : ""}${(f.dims || []).join(", ")} · ${src}${src !== shown ? ` → ${shown}` : ""} · min ${fmt(f.min)} · max ${fmt(f.max)}`));
  } else if (f && f.error) {
    box.append(el("div", { class: "cx-dim" }, `field unavailable: ${f.error}`));
  } else {
    box.append(el("div", { class: "cx-dim" }, "no field for this step"));
  }
  body.append(box);
  root.append(body);
}

function renderWidget({ model, el: host }) {
  const root = document.createElement("div");
  root.className = "cx-hud cx-replay";
  host.append(root);
  let timer = null;
  const tick = () => {
    const n = (model.get("steps") || []).length, k = model.get("step") || 0;
    if (k < n - 1) model.set("step", k + 1);
    if (k + 1 >= n - 1) model.set("playing", false);
    model.save_changes();
  };
  const sync = () => {
    if (model.get("playing") && timer === null) timer = setInterval(tick, Math.max(50, model.get("interval_ms") || 800));
    if (!model.get("playing") && timer !== null) { clearInterval(timer); timer = null; }
  };
  const draw = () => { sync(); render(root, model); };
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

export default { render: renderWidget };
