// The end of `PlotlyLibrary`'s ES module (codexlab/hud/library.py puts plotly.js, as the Python `plotly`
// package ships it, in front of this, with a module-scoped `module` that its UMD wrapper fills).
// It hands Plotly to every HUD and replay view through the promise that hud.js's `plotlySlot()` reads;
// the two must agree on `globalThis.__codexlabPlotly`.
const Plotly = module.exports;

function provide() {
  const g = globalThis;
  if (!g.__codexlabPlotly) {
    let resolve;
    const promise = new Promise((r) => { resolve = r; });
    g.__codexlabPlotly = { promise, resolve, value: null };
  }
  const slot = g.__codexlabPlotly;
  if (!slot.value) {
    slot.value = Plotly;
    slot.resolve(Plotly);
  }
}

export default {
  initialize() { provide(); },
  render({ el }) {
    provide();
    el.textContent = "";
  },
};
