// The scenario heat map: P&L by full revaluation on the `grid` preset, spot moves across,
// vol moves down, rate unchanged — for the book or one underlying (the select).

import { compact, el, num, setText, signed } from "./format.js";

function volLabel(v, mode) {
  if (!Number.isFinite(v)) return String(v);
  if (mode === "absolute") {
    const pts = Math.abs(v) < 1 ? v * 100 : v; // vol as a fraction or in points
    return `vol ${signed(pts, 0)} pts`;
  }
  const pct = Math.abs(v) <= 1.5 ? v * 100 : v; // relative move as a fraction or in %
  return `vol ${signed(pct, 0)}%`;
}

const key = (spot, vol) => `${spot}|${vol}`;

/** Red for losses, green for gains, the stronger the larger |P&L| against the map's max. */
function colour(pnl, max) {
  if (!Number.isFinite(pnl) || max <= 0) return "#30363d";
  const a = Math.min(1, Math.abs(pnl) / max);
  const light = 22 + 18 * a;
  return pnl < 0 ? `hsl(2, ${35 + 45 * a}%, ${light}%)` : `hsl(135, ${25 + 40 * a}%, ${light}%)`;
}

export function renderHeatmap(container, answer, scope) {
  const part = scope ? answer.underlyings && answer.underlyings[scope] : answer.total;
  if (!part || !Array.isArray(part.cells)) {
    container.replaceChildren(el("p", { class: "note", text: `no scenarios for ${scope || "the book"}` }));
    return;
  }
  const spots = (answer.axes && answer.axes.spot_moves_pct) || [];
  const vols = [...((answer.axes && answer.axes.vol_moves) || [])].sort((a, b) => b - a);
  const cells = new Map();
  for (const c of part.cells) {
    if ((c.rate_move_bp ?? 0) === 0) cells.set(key(c.spot_move_pct, c.vol_move), c);
  }
  let max = 0;
  let lowest = null; // the worst cell on this map (the answer's `worst` may be at another rate)
  for (const c of cells.values()) {
    if (!Number.isFinite(c.pnl)) continue;
    max = Math.max(max, Math.abs(c.pnl));
    if (!lowest || c.pnl < lowest.pnl) lowest = c;
  }
  const worst = part.worst;
  const head = el("tr", {}, el("th", { text: "" }),
    ...spots.map((s) => el("th", { text: `${signed(s, Number.isInteger(s) ? 0 : 1)}%` })));
  const rows = vols.map((v) => el("tr", {}, el("th", { text: volLabel(v, answer.vol_mode) }),
    ...spots.map((s) => {
      const c = cells.get(key(s, v));
      if (!c) return el("td", { text: "—" });
      const isWorst = c === lowest && c.pnl < 0;
      const cell = el("td", {
        class: isWorst ? "worst" : "",
        data: { spot: s, vol: v, pnl: c.pnl },
        title: `spot ${signed(s, 1)}%, ${volLabel(v, answer.vol_mode)}: P&L ${num(c.pnl, 0)}; ` +
          `after: Δ ${num(c.delta, 0)}, Γ ${num(c.gamma, 2)}, vega ${num(c.vega, 0)}`,
        text: compact(c.pnl),
      });
      cell.style.backgroundColor = colour(c.pnl, max);
      return cell;
    })));
  const worstText = worst
    ? `worst of all ${answer.preset || ""} scenarios: ${num(worst.pnl, 0)} at spot ${signed(worst.spot_move_pct, 1)}%, ` +
      `${volLabel(worst.vol_move, answer.vol_mode)}` +
      (worst.rate_move_bp ? `, rate ${signed(worst.rate_move_bp, 0)} bp` : "")
    : "";
  container.replaceChildren(el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows)),
    el("div", { class: "worst-line", text: worstText }));
}

/** Keep the select's options in step with the underlyings the page knows. */
export function syncScopes(select, names) {
  const want = ["", ...names];
  const have = [...select.options].map((o) => o.value);
  if (want.join("|") === have.join("|")) return;
  const current = select.value;
  select.replaceChildren(...want.map((u) => el("option", { value: u, text: u || "Book" })));
  select.value = want.includes(current) ? current : "";
}

export function stamp(node, asOf) {
  setText(node, asOf ? `as of ${asOf.slice(11, 19)} UTC` : "");
}
