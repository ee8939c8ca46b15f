// Signals and fills, newest first; limits as bars and alerts. Lists are rebuilt whole, at
// most every REBUILD_MS, whatever the rate they change at.

import { store } from "./store.js";
import { clock, el, num, percent, qty, setText } from "./format.js";

const REBUILD_MS = 200;
export const NOT_AVAILABLE = "not available yet";

/** The status line of a panel: "" hides it; kind "unavailable" or "error". */
export function panelStatus(name, kind, text) {
  const node = document.querySelector(`.status[data-for="${name}"]`);
  if (!node) return;
  node.hidden = !text;
  setText(node, text || "");
  node.className = kind === "error" ? "status error" : "status";
  node.dataset.kind = text ? kind : "";
}

class Throttled {
  constructor(render) {
    this.render = render;
    this.last = 0;
  }

  maybe(nowMs) {
    if (nowMs - this.last < REBUILD_MS) return false;
    this.last = nowMs;
    this.render();
    return true;
  }
}

export class TapeView {
  constructor({ signals, fills, limits, alerts }) {
    this.signals = new Throttled(() => signals.replaceChildren(...store.signals.map(signalRow)));
    this.fills = new Throttled(() => fills.replaceChildren(...store.fills.map(fillRow)));
    this.limits = new Throttled(() => limits.replaceChildren(...store.limits.map(limitBar)));
    this.alerts = new Throttled(() => alerts.replaceChildren(...store.alerts.map(alertItem)));
  }

  render(nowMs) {
    for (const name of ["signals", "fills", "limits", "alerts"]) {
      if (store.dirty.has(name) && this[name].maybe(nowMs)) store.dirty.delete(name);
    }
  }
}

function td(text, cls, field) {
  return el("td", { class: cls, text, data: field ? { field } : undefined });
}

function signalRow(s) {
  return el("tr", { data: { seq: s.seq, id: s.id }, title: `signal ${s.id} · spot ${s.spot}` },
    td(clock(s.ts), "", "ts"),
    td(String(s.seq), "num", "seq"),
    td(s.underlying, "sym", "underlying"),
    td(s.side, s.side, "side"),
    td(qty(s.quantity), "num", "quantity"),
    td(s.instrument, "", "instrument"),
    td(num(s.net_delta_before, 0), "num", "net_delta_before"),
    td(num(s.target_delta, 0), "num", "target_delta"),
    td(s.reason, "", "reason"));
}

function fillRow(f) {
  const signal = f.signal_id ? String(f.signal_id) : "";
  return el("tr", { data: { exec: f.exec_id }, title: `exec ${f.exec_id}` },
    td(clock(f.ts), "", "ts"),
    td(f.symbol, "sym", "symbol"),
    td(f.side, f.side, "side"),
    td(qty(f.quantity), "num", "quantity"),
    td(num(f.price, 2), "num", "price"),
    el("td", { data: { field: "signal_id" }, title: signal, text: signal.slice(0, 10) }));
}

function limitBar(l) {
  const usage = Number(l.usage_pct);
  const fill = el("div", { class: "fill" });
  fill.style.width = `${Math.max(0, Math.min(100, Number.isFinite(usage) ? usage : 0))}%`;
  const bar = el("div", { class: "bar", title: `${percent(usage, 1)} of the breach level` }, fill);
  if (Number.isFinite(l.warn) && Number.isFinite(l.breach) && l.breach !== 0) {
    const mark = el("div", { class: "mark", title: `warn at ${num(l.warn, 0)}` });
    mark.style.left = `${Math.max(0, Math.min(100, (100 * l.warn) / l.breach))}%`;
    bar.append(mark);
  }
  const scope = l.scope && l.scope !== "book" ? `${l.scope} ` : "book ";
  return el("div", { class: `limit ${l.state || "ok"}`, data: { limit: l.id } },
    el("div", { class: "name" },
      el("span", { text: `${scope}${l.metric}` }),
      el("span", {
        text: `${num(l.value, 0)} / ${num(l.breach, 0)} · ${percent(usage, 0)} · ` +
          `${(l.state || "ok").replace("_", " ")} → ${l.action}`,
      })),
    bar);
}

function alertItem(a) {
  const who = a.underlying ? `${a.underlying} ` : "";
  return el("li", { data: { seq: a.seq }, title: a.limit_id ? `limit ${a.limit_id}` : "" },
    el("time", { text: clock(a.ts) }),
    el("span", { class: `kind-${a.kind}`, text: a.kind }), " ",
    who, a.message || `${a.metric ?? ""} ${a.value ?? ""}`);
}
