// The service's API as the page uses it: JSON over fetch with the key in X-API-Key, and
// WebSocket URLs with the key in ?api_key= (what browsers can send on a WebSocket).
// Paths are relative ("v1/risk"), resolved against the directory the page was served from,
// so the page works behind a reverse proxy that adds a path prefix.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** 404 or 405: the endpoint is not there (yet) — its panel says "not available yet". */
export const isMissing = (e) => e instanceof ApiError && (e.status === 404 || e.status === 405);
/** 401 or 403: the key is missing, unknown, or lacks the scope. */
export const isRefused = (e) => e instanceof ApiError && (e.status === 401 || e.status === 403);

function messageOf(data, fallback) {
  if (data && typeof data === "object") {
    const detail = Array.isArray(data.detail) && data.detail.length
      ? ": " + data.detail.map((d) => `${d.field ?? ""} ${d.reason ?? ""}`.trim()).join("; ")
      : "";
    if (data.error) return `${data.error}${detail}`;
  }
  return typeof data === "string" && data ? data : fallback;
}

export class Api {
  constructor(base, key) {
    this.base = base;
    this.key = key || "";
  }

  url(path) {
    return new URL(path, this.base);
  }

  async request(method, path, body) {
    const headers = { Accept: "application/json" };
    if (this.key) headers["X-API-Key"] = this.key;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(this.url(path), {
        method, headers, cache: "no-store", credentials: "omit",
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, `service unreachable (${e.message})`);
    }
    const text = await response.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    if (!response.ok) {
      throw new ApiError(response.status, messageOf(data, response.statusText || "error"));
    }
    return data;
  }

  get(path) {
    return this.request("GET", path);
  }

  post(path, body) {
    return this.request("POST", path, body ?? {});
  }

  wsUrl(path) {
    const u = this.url(path);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    if (this.key) u.searchParams.set("api_key", this.key);
    return u.href;
  }
}

/**
 * The newest `n` signals, oldest first. The API pages forward from a seq; seqs are
 * contiguous from 1, so the highest one is found by a galloping then binary search of
 * one-signal pages (about 2·log2(seq) small requests), then the last page is read.
 */
export async function latestSignals(api, n) {
  const exists = async (after) =>
    (await api.get(`v1/hedge/signals?after=${after}&limit=1`)).length > 0;
  if (!(await exists(0))) return [];
  let lo = 0; // a signal with seq > lo exists
  let hi = 1;
  while (await exists(hi)) {
    lo = hi;
    hi *= 2;
  } // none beyond hi
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await exists(mid)) lo = mid;
    else hi = mid;
  }
  const last = hi; // the highest seq
  return api.get(`v1/hedge/signals?after=${Math.max(0, last - n)}&limit=${n}`);
}
