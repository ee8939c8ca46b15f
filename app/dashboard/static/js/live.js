// The board once the key is good: the WebSocket feeds (risk, signals, alerts), the polls
// (policies, fills, limits, scenarios), the kill switch, and one render per animation frame.

import { isMissing, latestSignals } from "./api.js";
import { Feed } from "./feed.js";
import {
  MAX_ROWS, lastSignalSeq, markDirty, putAlerts, putFills, putLimits, putPolicies, putRisk,
  putSignals, sample, store,
} from "./store.js";
import { el, setText } from "./format.js";
import { BookView } from "./view-book.js";
import { ChartView } from "./view-chart.js";
import { renderHeatmap, stamp, syncScopes } from "./view-scenario.js";
import { NOT_AVAILABLE, TapeView, panelStatus } from "./view-tape.js";

const $ = (id) => document.getElementById(id);
const POLICIES_MS = 1000;
const FILLS_MS = 1000;
const LIMITS_MS = 2000;
const SCENARIO_MS = 5000;
const RETRY_MISSING_MS = 30_000; // an endpoint not there yet is asked again this often
const AGES_MS = 500;

export function startBoard(api, who, firstRisk, { banner, refused }) {
  const feeds = [];

  /** An error from a panel's request: 401 ends the session; 404/405 "not available yet". */
  function failed(panel, e) {
    if (e.status === 401) {
      for (const f of feeds) f.stop();
      refused(e);
      return "refused";
    }
    if (isMissing(e)) {
      if (panel) panelStatus(panel, "unavailable", NOT_AVAILABLE);
      return "missing";
    }
    if (panel) panelStatus(panel, "error", `${e.message}${e.status ? ` (HTTP ${e.status})` : ""}`);
    return "error";
  }

  /** Run `fn` every `ms`; while its endpoint is missing, only every RETRY_MISSING_MS. */
  function every(ms, panel, fn) {
    const run = async () => {
      let wait = ms;
      try {
        await fn();
        if (panel) panelStatus(panel, "", "");
      } catch (e) {
        const how = failed(panel, e);
        if (how === "refused") return;
        if (how === "missing") wait = RETRY_MISSING_MS;
      }
      setTimeout(run, wait);
    };
    run();
  }

  // --- who: the kill switch only for an admin key, or with no auth configured ------------
  store.admin = !!who && (who.auth === false || (who.scopes || []).includes("admin"));
  setText($("who"), !who ? "key scopes: unknown"
    : who.auth === false ? "no auth configured: everyone is admin"
      : `key: ${(who.scopes || []).join(", ") || "no scopes"}`);
  $("kill").hidden = !store.admin;

  async function killSwitch(underlying, halt) {
    try {
      await api.post(halt ? "v1/hedge/halt" : "v1/hedge/resume", underlying ? { underlying } : {});
      putPolicies(await api.get("v1/hedge/policies"));
      banner("");
    } catch (e) {
      if (failed(null, e) !== "refused") {
        banner(`${halt ? "Halt" : "Resume"} failed: ${e.message} (HTTP ${e.status})`, "error");
      }
    }
  }
  $("halt-all").onclick = () => killSwitch(null, true);
  $("resume-all").onclick = () => killSwitch(null, false);

  // --- the first risk view: the rows and the chart's first point ------------------------
  for (const [u, r] of Object.entries(firstRisk.underlyings || {})) putRisk({ underlying: u, ...r });
  const total = firstRisk.total || {};
  sample(Date.now(), {
    dollarDelta: total.dollar_delta ?? null,
    betaDollarDelta: total.beta_dollar_delta ?? null,
    pnl: total.pnl ?? null,
  });
  if (total.pnl !== undefined) store.seen.pnl = true;
  if (total.beta_dollar_delta !== undefined) store.seen.beta = true;

  // --- feeds -----------------------------------------------------------------------------
  const pills = $("feeds");
  function showFeed(feed) {
    let pill = pills.querySelector(`[data-feed="${feed.name}"]`);
    if (!pill) {
      pill = el("span", { class: "pill", data: { feed: feed.name } });
      pills.append(pill);
    }
    pill.className = `pill ${feed.state}`;
    pill.dataset.state = feed.state;
    setText(pill, `${feed.name}: ${feed.state}`);
    const polling = feeds.some((f) => f.state === "polling");
    const current = $("banner");
    if (polling) {
      banner("Live feeds cannot connect: polling the REST API every second meanwhile. With " +
        "REST working, the usual cause is a proxy between here and the service: one that " +
        "does not pass WebSockets, or rewrites the host (then list this page's origin, " +
        `${location.origin}, in HEDGE_ALLOWED_ORIGINS).`);
      current.dataset.source = "feeds";
    } else if (current.dataset.source === "feeds") {
      banner("");
      current.dataset.source = "";
    }
  }
  const onError = (panel) => (e) => failed(panel, e);

  const riskFeed = new Feed({
    name: "risk", url: () => api.wsUrl("v1/ws/risk"), onState: showFeed, onError: onError(null),
    onMessage: (m) => (Array.isArray(m) ? m.forEach(putRisk) : putRisk(m)),
    poll: async () => {
      const r = await api.get("v1/risk");
      for (const [u, x] of Object.entries(r.underlyings || {})) putRisk({ underlying: u, ...x });
    },
  });

  async function signalGap() {
    const got = await api.get(`v1/hedge/signals?after=${lastSignalSeq()}&limit=${MAX_ROWS}`);
    putSignals(got.length === MAX_ROWS ? await latestSignals(api, MAX_ROWS) : got);
    panelStatus("signals", "", "");
  }
  const signalFeed = new Feed({
    name: "signals", url: () => api.wsUrl("v1/ws/signals"), onState: showFeed,
    onError: onError("signals"),
    onMessage: (m) => putSignals(Array.isArray(m) ? m : [m]),
    onOpen: () => signalGap().catch(onError("signals")),
    poll: signalGap,
  });
  feeds.push(riskFeed, signalFeed);
  riskFeed.start();
  latestSignals(api, MAX_ROWS).then(putSignals, onError("signals"))
    .finally(() => signalFeed.start());

  api.get(`v1/alerts?limit=${MAX_ROWS}`).then((items) => {
    putAlerts(items);
    const alertFeed = new Feed({
      name: "alerts", url: () => api.wsUrl("v1/ws/alerts"), onState: showFeed,
      onError: onError("alerts"),
      onMessage: (m) => putAlerts(Array.isArray(m) ? m : [m]),
      onOpen: () => api.get(`v1/alerts?limit=${MAX_ROWS}`).then(putAlerts, onError("alerts")),
      poll: async () => putAlerts(await api.get(`v1/alerts?limit=${MAX_ROWS}`)),
    });
    feeds.push(alertFeed);
    alertFeed.start();
  }, (e) => failed("alerts", e));

  // --- polls -------------------------------------------------------------------------------
  every(POLICIES_MS, null, async () => putPolicies(await api.get("v1/hedge/policies")));
  every(FILLS_MS, "fills", async () => putFills(await api.get(`v1/fills?limit=${MAX_ROWS}`)));
  every(LIMITS_MS, "limits", async () => putLimits(await api.get("v1/limits")));

  const select = $("scenario-scope");
  let scenarioBusy = false;
  let scenarioMissing = false;
  async function refreshScenario(force) {
    if (scenarioBusy || (!force && (document.hidden || scenarioMissing))) return;
    scenarioBusy = true;
    const scope = select.value;
    try {
      const body = scope ? { preset: "grid", underlyings: [scope] } : { preset: "grid" };
      const answer = await api.post("v1/risk/scenarios", body);
      scenarioMissing = false;
      panelStatus("scenarios", "", "");
      if (select.value === scope) {
        renderHeatmap($("heatmap"), answer, scope);
        stamp($("scenario-note"), answer.as_of);
      }
    } catch (e) {
      if (failed("scenarios", e) === "missing") {
        scenarioMissing = true;
        $("heatmap").replaceChildren();
        setTimeout(() => { scenarioMissing = false; }, RETRY_MISSING_MS);
      }
    } finally {
      scenarioBusy = false;
    }
  }
  select.onchange = () => refreshScenario(true);
  $("scenario-refresh").onclick = () => refreshScenario(true);
  refreshScenario(true);
  setInterval(() => refreshScenario(false), SCENARIO_MS);

  // --- rendering: everything changed since the last frame, once per frame ----------------
  const book = new BookView({
    tbody: $("book-rows"), totals: $("totals"),
    killHeader: document.querySelector("#book-table th.admin-only"), onHalt: killSwitch,
  });
  const tape = new TapeView({
    signals: $("signal-rows"), fills: $("fill-rows"), limits: $("limits"), alerts: $("alerts"),
  });
  const chart = new ChartView($("chart"), $("chart-note"));
  setInterval(() => sample(Date.now()), 250); // timers, not frames: a hidden tab still samples
  let lastBook = 0;
  function frame() {
    const now = Date.now();
    if (store.dirty.has("book") || now - lastBook >= AGES_MS) {
      store.dirty.delete("book");
      lastBook = now;
      book.render(now);
      syncScopes(select, [...store.risk.keys()].sort());
    }
    tape.render(now);
    chart.render(now);
    requestAnimationFrame(frame);
  }
  markDirty("book", "chart");
  requestAnimationFrame(frame);
}
