// The HUD's Plotly, loaded once per kernel session by `codexlab.hud.library.PlotlyLibrary` (an anywidget
// whose model is created once; every Hud and ReplayWidget draws with it). Build: `make hud-bundle`.
import Plotly from "plotly.js-cartesian-dist-min";

// The handshake both sides use: a promise on globalThis that resolves to Plotly.
function slot() {
  const g = globalThis;
  if (!g.__codexlabPlotly) {
    let resolve;
    const promise = new Promise((r) => { resolve = r; });
    g.__codexlabPlotly = { promise, resolve, value: null };
  }
  return g.__codexlabPlotly;
}

function provide() {
  const s = slot();
  if (!s.value) {
    s.value = Plotly;
    s.resolve(Plotly);
  }
}

export default {
  initialize() { provide(); },
  render({ el }) {
    provide();
    el.textContent = "";
  },
};
