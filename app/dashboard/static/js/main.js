// The page's entry: find the API (the directory the page came from), ask for a key when the
// service wants one, check it, and only then show the board. A missing, unknown or
// under-scoped key shows the prompt and the error, and nothing else.

import { Api, isMissing, isRefused } from "./api.js";
import { startBoard } from "./live.js";

const KEY = "dynhedge.apiKey";
const ERROR = "dynhedge.loginError"; // carried across the reload that follows a refusal
const $ = (id) => document.getElementById(id);
const base = new URL(".", document.baseURI).href;

export function banner(text, kind = "") {
  const node = $("banner");
  node.hidden = !text;
  node.textContent = text || "";
  node.className = kind ? `banner ${kind}` : "banner";
}

function showLogin(error) {
  $("board").hidden = true;
  $("kill").hidden = true;
  $("feeds").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = error || "";
  $("key").focus();
}

/** A 401 while the board runs (the key was revoked, the service restarted with others):
 * forget the key and start again from the prompt, saying why. */
export function refusedWhileRunning(e) {
  sessionStorage.removeItem(KEY);
  sessionStorage.setItem(ERROR, `The key was refused: ${e.message} (HTTP ${e.status}).`);
  location.reload();
}

async function whoami(api) {
  try {
    return await api.get("v1/whoami");
  } catch (e) {
    if (isMissing(e)) return null; // not there yet: who the key is stays unknown
    throw e;
  }
}

async function boot() {
  const key = sessionStorage.getItem(KEY) || "";
  const carried = sessionStorage.getItem(ERROR) || "";
  sessionStorage.removeItem(ERROR);
  const api = new Api(base, key);
  let who;
  let risk;
  try {
    who = await whoami(api);
    risk = await api.get("v1/risk"); // the read scope is what the board needs
  } catch (e) {
    if (isRefused(e)) {
      sessionStorage.removeItem(KEY);
      const why = key ? `The key was refused: ${e.message} (HTTP ${e.status}).` : carried;
      showLogin(why);
      return;
    }
    banner(`Cannot reach the service (${e.message}); retrying…`, "error");
    setTimeout(boot, 3000);
    return;
  }
  banner("");
  $("login").hidden = true;
  $("board").hidden = false;
  $("feeds").hidden = false;
  const forget = $("forget-key");
  forget.hidden = !key;
  forget.onclick = () => {
    sessionStorage.removeItem(KEY);
    location.reload();
  };
  startBoard(api, who, risk, { banner, refused: refusedWhileRunning });
}

$("login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("key").value.trim();
  if (!key) return;
  sessionStorage.setItem(KEY, key);
  location.reload();
});

boot();
