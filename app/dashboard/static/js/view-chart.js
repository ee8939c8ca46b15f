// The book's dollar delta (and beta-weighted dollar delta) and P&L since the page opened,
// from the samples the store takes of the risk feed. uPlot (vendored, global `uPlot`).

import { store } from "./store.js";
import { compact, setText } from "./format.js";

const REDRAW_MS = 500;

export class ChartView {
  constructor(container, note) {
    this.container = container;
    this.note = note;
    this.plot = null;
    this.last = 0;
    if (typeof ResizeObserver !== "undefined") {
      new ResizeObserver(() => this.resize()).observe(container);
    }
  }

  size() {
    return { width: Math.max(300, this.container.clientWidth), height: 240 };
  }

  resize() {
    if (this.plot) this.plot.setSize(this.size());
  }

  create() {
    const axisStyle = { stroke: "#8591a0", grid: { stroke: "#263040", width: 1 },
      ticks: { stroke: "#263040" } };
    const money = (u, values) => values.map((v) => (v === null ? "" : compact(v)));
    this.plot = new uPlot({
      ...this.size(),
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, usd: {}, pnl: {} },
      axes: [
        { ...axisStyle },
        { ...axisStyle, scale: "usd", values: money, size: 60, label: "$Δ" },
        { ...axisStyle, scale: "pnl", side: 1, values: money, size: 60, label: "P&L",
          grid: { show: false } },
      ],
      series: [
        { label: "time (this browser)" },
        { label: "$Δ", scale: "usd", stroke: "#58a6ff", width: 1.5,
          value: (u, v) => (v === null ? "—" : compact(v)) },
        { label: "β $Δ", scale: "usd", stroke: "#d2a8ff", width: 1, dash: [4, 3],
          value: (u, v) => (v === null ? "—" : compact(v)) },
        { label: "P&L", scale: "pnl", stroke: "#3fb950", width: 1.5,
          value: (u, v) => (v === null ? "—" : compact(v)) },
      ],
    }, this.data(), this.container);
  }

  data() {
    const h = store.history;
    return [h.t, h.dollarDelta, h.betaDollarDelta, h.pnl];
  }

  render(nowMs) {
    if (!store.dirty.has("chart") || nowMs - this.last < REDRAW_MS) return;
    store.dirty.delete("chart");
    this.last = nowMs;
    const missing = [];
    if (!store.seen.pnl) missing.push("P&L");
    if (!store.seen.beta) missing.push("β $Δ");
    setText(this.note, missing.length ? `${missing.join(", ")}: not available yet` : "");
    if (typeof uPlot === "undefined") {
      setText(this.note, "chart library not loaded");
      return;
    }
    if (!this.plot) this.create();
    else this.plot.setData(this.data());
  }
}
