// What the page knows, filled by the feeds and the polls; the views read it once per
// animation frame. Handlers only store and mark panels dirty: no DOM work per message, so a
// busy feed costs one JSON.parse and a Map.set per frame it sends.

export const MAX_ROWS = 50; // signals, fills, alerts kept (newest first)
const MAX_POINTS = 20_000; // chart points; past it every other old point is dropped
const SAMPLE_MS = 250; // at most one chart point per 250 ms while risk moves
const IDLE_SAMPLE_MS = 2000; // and one every 2 s while it does not

export const store = {
  risk: new Map(), // underlying -> the latest risk message (GET /v1/risk entry or feed frame)
  policies: new Map(), // underlying -> GET /v1/hedge/policies entry
  signals: [], // newest first
  fills: [], // newest first, as GET /v1/fills answers
  alerts: [], // newest first
  limits: [],
  scenario: null,
  history: { t: [], dollarDelta: [], betaDollarDelta: [], pnl: [] },
  seen: { beta: false, pnl: false },
  admin: false,
  dirty: new Set(["book", "signals", "fills", "alerts", "limits", "scenario", "chart"]),
  riskChanged: false,
  lastSample: 0,
};

export function markDirty(...panels) {
  for (const p of panels) store.dirty.add(p);
}

export function putRisk(message) {
  if (!message || typeof message.underlying !== "string") return;
  store.risk.set(message.underlying, message);
  if (message.beta_dollar_delta !== undefined) store.seen.beta = true;
  if (message.pnl !== undefined) store.seen.pnl = true;
  store.riskChanged = true;
  markDirty("book");
}

export function putPolicies(policies) {
  store.policies = new Map(Object.entries(policies || {}));
  markDirty("book");
}

/** Merge by `key` (seq, exec_id), newest (highest `order`) first, at most MAX_ROWS. */
function merge(list, items, key, order) {
  const byKey = new Map(list.map((x) => [x[key], x]));
  for (const item of items) {
    if (item && item[key] !== undefined) byKey.set(item[key], item);
  }
  return [...byKey.values()].sort(order).slice(0, MAX_ROWS);
}

export function putSignals(items) {
  store.signals = merge(store.signals, items, "seq", (a, b) => b.seq - a.seq);
  markDirty("signals");
}

export function lastSignalSeq() {
  return store.signals.length ? store.signals[0].seq : 0;
}

export function putFills(items) {
  store.fills = (items || []).slice(0, MAX_ROWS); // the API answers newest first
  markDirty("fills");
}

export function putAlerts(items) {
  store.alerts = merge(store.alerts, items, "seq", (a, b) => b.seq - a.seq);
  markDirty("alerts");
}

export function putLimits(items) {
  store.limits = items || [];
  markDirty("limits");
}

function sum(field) {
  let total = 0;
  let any = false;
  for (const r of store.risk.values()) {
    const v = r[field];
    if (typeof v === "number" && Number.isFinite(v)) {
      total += v;
      any = true;
    }
  }
  return any ? total : null;
}

/** The book's totals from the per-underlying figures the page holds now. */
export function bookTotals() {
  return {
    dollarDelta: sum("dollar_delta"),
    betaDollarDelta: store.seen.beta ? sum("beta_dollar_delta") : null,
    dollarGamma: sum("dollar_gamma"),
    vega: sum("vega"),
    theta: sum("theta"),
    pnl: store.seen.pnl ? sum("pnl") : null,
  };
}

/** Add a chart point when risk moved (≤ 4/s) or every 2 s; `total` overrides the sums
 * (the first GET /v1/risk's book total). `nowMs`: the browser's clock. */
export function sample(nowMs, total = null) {
  const since = nowMs - store.lastSample;
  if (!total && !(store.riskChanged && since >= SAMPLE_MS) && since < IDLE_SAMPLE_MS) return;
  const t = total ? { ...bookTotals(), ...total } : bookTotals();
  const h = store.history;
  h.t.push(nowMs / 1000);
  h.dollarDelta.push(t.dollarDelta);
  h.betaDollarDelta.push(t.betaDollarDelta);
  h.pnl.push(t.pnl);
  if (h.t.length > MAX_POINTS) {
    for (const k of Object.keys(h)) h[k] = h[k].filter((_, i) => i % 2 === 1 || i > MAX_POINTS / 2);
  }
  store.lastSample = nowMs;
  store.riskChanged = false;
  markDirty("chart");
}
