// Number, time and DOM helpers. Numbers use "," for thousands and "-" for minus whatever the
// browser's locale, so what the page shows reads the same everywhere (and in the tests).

export const NA = "—";

export function num(x, decimals = 0) {
  if (x === null || x === undefined || !Number.isFinite(x)) return NA;
  const fixed = Math.abs(x).toFixed(decimals);
  const [whole, frac] = fixed.split(".");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const sign = x < 0 && Number(fixed) !== 0 ? "-" : "";
  return sign + grouped + (frac ? "." + frac : "");
}

/** Quantities (hedge units, fills): whole numbers as they are, fractions to 2 places. */
export function qty(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return NA;
  return Number.isInteger(x) ? num(x, 0) : num(x, 2);
}

export function signed(x, decimals = 0) {
  const s = num(x, decimals);
  return Number.isFinite(x) && x > 0 ? "+" + s : s;
}

/** $1.2k, $-3.4M: for the heat map's small cells. */
export function compact(x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return NA;
  const a = Math.abs(x);
  const sign = x < 0 ? "-" : "";
  if (a >= 1e9) return sign + (a / 1e9).toFixed(1) + "B";
  if (a >= 1e6) return sign + (a / 1e6).toFixed(1) + "M";
  if (a >= 1e3) return sign + (a / 1e3).toFixed(1) + "k";
  return sign + a.toFixed(0);
}

export function percent(x, decimals = 0) {
  return Number.isFinite(x) ? `${num(x, decimals)}%` : NA;
}

/** An ISO-8601 time as HH:MM:SS.mmm UTC (the service's timestamps are UTC). */
export function clock(iso) {
  if (!iso) return NA;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toISOString().slice(11, 23);
}

/** Seconds as 0.4s, 12s, 5m, 3h, 2d. */
export function age(seconds) {
  if (!Number.isFinite(seconds)) return NA;
  const s = Math.max(0, seconds);
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 120) return `${Math.round(s)}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

export function signClass(x) {
  return !Number.isFinite(x) || x === 0 ? "" : x > 0 ? "pos" : "neg";
}

/** document.createElement with attributes (class, dataset, title, ...) and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "data") Object.assign(node.dataset, v);
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c !== null && c !== undefined) node.append(c);
  }
  return node;
}

/** Set a node's text only when it changed: the cheap path for cells updated every frame. */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

export function setClass(node, cls) {
  if (node.className !== cls) node.className = cls;
}
