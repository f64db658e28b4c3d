// The HUD's Plotly, loaded once per kernel session by `codexlab.hud.library.PlotlyLibrary` (an anywidget
// whose model is created once; every Hud and ReplayWidget draws with it). Build: `make hud-bundle`.
import Plotly from "plotly.js-cartesian-dist-min";
import { plotlySlot } from "../../codexlab/hud/static/hud.js";

function provide() {
  const s = plotlySlot();
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
