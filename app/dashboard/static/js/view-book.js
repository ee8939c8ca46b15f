// The book: one row per underlying, from the risk feed and the policies poll. Rows are built
// once and then only the cells whose text changed are touched.

import { bookTotals, store } from "./store.js";
import { NA, age, el, num, qty, setClass, setText, signClass } from "./format.js";

const NOT_YET = "not available yet";
// field → how it shows; `optional`: a field the backend adds later (shown as — until then)
const COLUMNS = [
  { field: "spot", fmt: (v) => num(v, 2) },
  { field: "age" },
  { field: "delta", fmt: (v) => num(v, 1), sign: true },
  { field: "dollar_delta", fmt: (v) => num(v, 0), sign: true },
  { field: "beta_dollar_delta", fmt: (v) => num(v, 0), sign: true, optional: true },
  { field: "gamma", fmt: (v) => num(v, 2) },
  { field: "vega", fmt: (v) => num(v, 0) },
  { field: "theta", fmt: (v) => num(v, 0) },
  { field: "hedge_position", fmt: qty },
  { field: "pending", fmt: qty },
  { field: "pnl", fmt: (v) => num(v, 0), sign: true, optional: true },
];

export class BookView {
  constructor({ tbody, totals, killHeader, onHalt }) {
    this.tbody = tbody;
    this.totals = totals;
    this.killHeader = killHeader;
    this.onHalt = onHalt; // (underlying, halt: bool) => Promise
    this.rows = new Map(); // underlying -> { tr, cells: {field: td}, policy, state, kill }
    this.order = "";
  }

  row(underlying) {
    let row = this.rows.get(underlying);
    if (row) return row;
    const cells = {};
    const tr = el("tr", { data: { underlying } }, el("td", { class: "sym", text: underlying }));
    for (const c of COLUMNS) {
      cells[c.field] = el("td", { class: "num", data: { field: c.field } });
      tr.append(cells[c.field]);
    }
    const policy = el("td", { data: { field: "policy" } });
    const state = el("td", { data: { field: "state" } });
    const kill = el("button", { type: "button", class: "small", data: { action: "halt" } });
    kill.addEventListener("click", () => this.toggle(underlying, kill));
    const killCell = el("td", { class: "admin-only", hidden: !store.admin }, kill);
    tr.append(policy, state, killCell);
    row = { tr, cells, policy, state, kill, killCell, stateKey: "" };
    this.rows.set(underlying, row);
    return row;
  }

  async toggle(underlying, button) {
    const halt = button.dataset.action === "halt";
    button.disabled = true;
    try {
      await this.onHalt(underlying, halt);
    } finally {
      button.disabled = false;
    }
  }

  render(nowMs) {
    const names = [...new Set([...store.risk.keys(), ...store.policies.keys()])].sort();
    const order = names.join("\u0000");
    if (order !== this.order) {
      this.order = order;
      const frag = document.createDocumentFragment();
      for (const u of names) frag.append(this.row(u).tr);
      this.tbody.replaceChildren(frag);
    }
    for (const u of names) this.fill(this.row(u), store.risk.get(u), store.policies.get(u), nowMs);
    this.killHeader.hidden = !store.admin;
    this.renderTotals();
  }

  fill(row, risk, policy, nowMs) {
    for (const c of COLUMNS) {
      const td = row.cells[c.field];
      if (c.field === "age") {
        const t = risk && risk.as_of ? Date.parse(risk.as_of) : NaN;
        setText(td, risk && risk.spot !== null ? age((nowMs - t) / 1000) : NA);
        continue;
      }
      const v = risk ? risk[c.field] : undefined;
      if (v === undefined && c.optional) {
        setText(td, NA);
        if (td.title !== NOT_YET) td.title = NOT_YET;
        continue;
      }
      setText(td, c.fmt(v));
      const raw = v === null || v === undefined ? "" : String(v);
      if (td.dataset.value !== raw) td.dataset.value = raw;
      setClass(td, c.sign ? `num ${signClass(v)}` : "num");
    }
    const sym = row.tr.firstChild;
    const why = risk && risk.unpriced ? `unpriced: ${risk.unpriced}` : "";
    if (sym.title !== why) sym.title = why;
    this.fillPolicy(row, policy);
    row.killCell.hidden = !store.admin;
  }

  fillPolicy(row, p) {
    const key = p ? JSON.stringify([p.mode, p.band, p.interval_s, p.state]) : "";
    if (key === row.stateKey) return;
    row.stateKey = key;
    if (!p) {
      setText(row.policy, NA);
      row.state.replaceChildren();
      row.kill.hidden = true;
      return;
    }
    setText(row.policy, policyText(p));
    row.state.replaceChildren(...badges(p));
    const halted = p.state && p.state.halted;
    row.kill.hidden = false;
    row.kill.dataset.action = halted ? "resume" : "halt";
    row.kill.className = halted ? "small" : "small danger";
    setText(row.kill, halted ? "Resume" : "Halt");
  }

  renderTotals() {
    const t = bookTotalsText();
    if (this.totals.dataset.key === t.key) return;
    this.totals.dataset.key = t.key;
    this.totals.replaceChildren(...t.parts.map(([label, value, field]) =>
      el("span", { data: { field } }, el("b", { text: label }), value)));
  }
}

function bookTotalsText() {
  const t = bookTotals();
  const parts = [
    ["$Δ", num(t.dollarDelta, 0), "dollar_delta"],
    ["β $Δ", store.seen.beta ? num(t.betaDollarDelta, 0) : NOT_YET, "beta_dollar_delta"],
    ["$Γ", num(t.dollarGamma, 0), "dollar_gamma"],
    ["Vega", num(t.vega, 0), "vega"],
    ["Θ", num(t.theta, 0), "theta"],
    ["P&L", store.seen.pnl ? num(t.pnl, 0) : NOT_YET, "pnl"],
  ];
  return { parts, key: parts.map((p) => p[1]).join("|") };
}

function policyText(p) {
  const band = p.state && Number.isFinite(p.state.band) ? ` ±${num(p.state.band, 0)}` : "";
  switch (p.mode) {
    case "band":
      return `band${band}${p.rebalance_to === "edge" ? " → edge" : ""}`;
    case "interval":
      return `interval ${num(p.interval_s, 0)}s`;
    case "whalley_wilmott":
      return `Whalley–Wilmott${band}`;
    default:
      return p.mode || NA;
  }
}

const LOUD = new Set(["halted", "system_halt", "stale", "reduce_only", "off"]);

/** hedging, quiet and why, halted, reduce-only, stale, breach — as badges. */
function badges(p) {
  const s = p.state || {};
  const out = [];
  const badge = (cls, text, title) => out.push(el("span", { class: `badge ${cls}`, text, title }));
  if (p.mode === "off") badge("off", "off", "no policy: not hedged");
  if (s.halted) badge("halted", "halted", "kill switch on: no signal goes out");
  if (s.stale) badge("stale", "stale", `no tick for more than ${p.stale_after_s} s`);
  if (s.reduce_only) {
    const reasons = (s.reduce_only_reasons || []).join(", ") || "policy";
    badge("reduce-only", "reduce-only", `reduce-only: ${reasons}`);
  }
  if (s.breach) badge("breach", "breach", s.breach);
  if (p.mode !== "off" && !s.halted && !s.stale) {
    const last = s.last_decision;
    const counts = Object.entries(s.quiet || {}).map(([k, n]) => `${k}: ${n}`).join(", ");
    if (last === "signal") badge("hedging", "hedging", counts && `quiet so far: ${counts}`);
    else if (last && last !== "none" && !LOUD.has(last)) {
      badge("quiet", `quiet · ${last}`, counts && `decisions not to trade: ${counts}`);
    } else if (!s.reduce_only) badge("quiet", "waiting", "no decision yet");
  }
  return out;
}
