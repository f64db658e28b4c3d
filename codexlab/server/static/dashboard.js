// codexlab dashboard: the HUD's own module (hud.js) rendered in a page. This file is only the host: a
// model with the anywidget API the HUD uses (get/set/on/off/save_changes), fed over the service's
// WebSocket (`panels` messages) and its REST API (replay of a clicked beam, a pinned run's panels),
// plus the list of stored runs to pick from.
import hud from "./hud.js";

const config = JSON.parse(document.getElementById("cx-config").textContent);
const api = (path) => `${config.base_url}codexlab/api/${path}`;
const $ = (id) => document.getElementById(id);

class HostModel {
  constructor(state, onSave) {
    this.state = { ...state };
    this.handlers = new Map();
    this.changed = new Set();
    this.onSave = onSave;
  }
  get(name) { return this.state[name]; }
  set(name, value) {
    this.state[name] = value;
    this.changed.add(name);
    for (const cb of this.handlers.get(`change:${name}`) || []) cb();
  }
  save_changes() {
    const names = [...this.changed];
    this.changed.clear();
    this.onSave(names);
  }
  on(event, cb) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(cb);
  }
  off(event, cb) { (this.handlers.get(event) || new Set()).delete(cb); }
}

async function getJSON(path) {
  const response = await fetch(api(path), { credentials: "same-origin" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.message || response.statusText);
  return body;
}

const view = { pinned: null, live: null, filter: "*", dropped: 0 };

const model = new HostModel({ view: "hud", panels: {}, selected: "", replay: {} }, async (names) => {
  if (!names.includes("selected")) return;
  const beam = model.get("selected");
  if (!beam) { model.set("replay", {}); return; }
  try {
    const state = await getJSON(`hud/replay/${encodeURIComponent(beam)}?n=20`);
    if (model.get("selected") === beam) model.set("replay", { ...state, selected: beam });
  } catch (err) {
    model.set("replay", { ref: beam, steps: [], fields: {}, selected: beam, error: String(err.message || err) });
  }
});
hud.render({ model, el: $("cx-hud") });

function showPanels() {
  const panels = view.pinned ? view.pinned.panels : view.live;
  if (panels) model.set("panels", panels);
  $("cx-mode").replaceChildren(view.pinned
    ? Object.assign(document.createElement("button"), { textContent: `pinned ${view.pinned.run_id} · follow live`,
      onclick: () => { view.pinned = null; showPanels(); refreshRuns(); } })
    : Object.assign(document.createElement("span"), { textContent: "following live" }));
}

function cell(tr, text) {
  const td = document.createElement("td");
  td.textContent = text;
  tr.append(td);
}

let runsTimer = null;
function refreshRuns() {
  clearTimeout(runsTimer);
  runsTimer = setTimeout(async () => {
    const filter = view.filter === "*" ? "" : `&container=${encodeURIComponent(view.filter)}`;
    let data;
    try { data = await getJSON(`runs?limit=40${filter}`); } catch { return; }
    const rows = [];
    for (const a of data.active) {
      const tr = document.createElement("tr");
      tr.className = "cx-active";
      tr.dataset.activeRunId = a.run_id;
      for (const t of [a.run_id, a.container, a.state, "", ""]) cell(tr, t);
      rows.push(tr);
    }
    for (const r of data.runs) {
      const tr = document.createElement("tr");
      tr.dataset.runId = r.run_id;
      if (r.status === "failed") tr.classList.add("cx-failed");
      if (view.pinned && view.pinned.run_id === r.run_id) tr.classList.add("cx-pinned");
      for (const t of [r.run_id, r.container_id, r.status, String(r.beams), r.started.slice(11, 19)]) cell(tr, t);
      tr.onclick = () => pin(r);
      rows.push(tr);
    }
    $("cx-runs-body").replaceChildren(...rows);
    const known = new Set([...$("cx-filter").options].map((o) => o.value));
    for (const r of data.runs) {
      if (!known.has(r.container_id)) {
        known.add(r.container_id);
        $("cx-filter").append(new Option(r.container_id, r.container_id));
      }
    }
  }, 300);
}

async function pin(run) {
  if (!run.qfc_id) {  // a failed run has no panels: replay its error beam instead
    view.pinned = { run_id: run.run_id, panels: { run_id: run.run_id, container: run.container_id, timeline: [] } };
    showPanels();
    model.set("selected", "");
    return;
  }
  const data = await getJSON(`hud/panels/${encodeURIComponent(run.qfc_id)}`);
  view.pinned = { run_id: run.run_id, panels: data.panels };
  showPanels();
  refreshRuns();
}

let socket = null, retry = 1000;
function setStatus(state, text) {
  $("cx-status").dataset.state = state;
  $("cx-status").textContent = text;
}

function subscribe() {
  if (socket && socket.readyState === WebSocket.OPEN) {
    const containers = view.filter === "*" ? "*" : [view.filter];
    socket.send(JSON.stringify({ type: "subscribe", containers, panels: true }));
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}${api("ws")}`);
  setStatus("connecting", "connecting…");
  socket.onopen = () => { retry = 1000; setStatus("open", "connected"); subscribe(); refreshRuns(); };
  socket.onclose = () => {
    setStatus("closed", `disconnected, retrying in ${retry / 1000} s`);
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 10000);
  };
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "panels") {
      const before = view.live ? view.live.run_id : null;
      view.live = message.panels;
      if (!view.pinned) model.set("panels", view.live);
      if (message.panels.run_id !== before || !message.panels.live) refreshRuns();
    } else if (message.type === "dropped") {
      view.dropped += message.count;
      setStatus("open", `connected · ${view.dropped} updates skipped (slow link)`);
    } else if (message.type === "result" || message.type === "error") {
      refreshRuns();
    }
  };
}

$("cx-filter").onchange = () => {
  view.filter = $("cx-filter").value;
  view.pinned = null;
  view.live = null;
  showPanels();
  subscribe();
  refreshRuns();
};
showPanels();
connect();
