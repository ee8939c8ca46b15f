#!/usr/bin/env python3
"""The dashboard under load, as a picture and a few figures: runs `python -m app demo`
(8 underlyings × 125 ticks/s = 1,000 ticks/s over the ingest WebSocket, a paper bot filling
the signals) on a free loopback port, opens /dashboard in Debian's headless chromium
(Playwright, the same launch as tests/dashboard/), lets it run, measures how the page keeps
up (animation frames per second, the longest frame gap, long tasks), and saves a screenshot.

    python scripts/screenshot_dashboard.py [--out docs/dashboard.png] [--seconds 25]
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
UNDERLYINGS = 8
TICK_HZ = 125.0  # per underlying: 1,000 ticks/s in all

# Counts animation frames and long tasks (> 50 ms of main-thread work) from now on.
PROBE = """() => {
  const p = { frames: 0, maxGapMs: 0, longTasks: 0, longTaskMs: 0, last: performance.now() };
  window.__probe = p;
  const tick = (t) => { p.frames++; p.maxGapMs = Math.max(p.maxGapMs, t - p.last); p.last = t;
                        requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  new PerformanceObserver((list) => { for (const e of list.getEntries()) {
    p.longTasks++; p.longTaskMs += e.duration; } }).observe({ entryTypes: ["longtask"] });
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ticks_accepted(base: str) -> float:
    text = httpx.get(f"{base}/metrics", timeout=5).text
    m = re.search(r'^dynhedge_ticks_total\{outcome="accepted"\} (\S+)$', text, re.MULTILINE)
    return float(m.group(1)) if m else 0.0


def renderer_seconds(cdp: object) -> dict[str, float]:
    """The page's main-thread time so far, by kind (Chrome's Performance domain)."""
    got = cdp.send("Performance.getMetrics")  # type: ignore[attr-defined]
    names = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")
    return {m["name"]: m["value"] for m in got["metrics"] if m["name"] in names}


def wait_ready(base: str, demo: subprocess.Popen[bytes], timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s  # a first run compiles the pricing kernels
    while time.monotonic() < deadline:
        if demo.poll() is not None:
            raise SystemExit(f"the demo stopped (exit {demo.returncode})")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit("the demo did not become ready")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "dashboard.png"))
    ap.add_argument("--seconds", type=float, default=25.0, help="load before the screenshot")
    args = ap.parse_args(argv)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="dash-shot-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGE_")}
        env.update(HEDGE_DB_PATH=f"{tmp}/demo.db", HEDGE_ALLOWED_ORIGINS=base,
                   HEDGE_LOG_LEVEL="warning")
        demo = subprocess.Popen(
            [sys.executable, "-m", "app", "demo", "--no-ui", "--port", str(port),
             "--underlyings", str(UNDERLYINGS), "--tick-hz", str(TICK_HZ),
             "--duration", str(args.seconds + 300)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(base, demo)
            with sync_playwright() as p:
                context = p.chromium.launch_persistent_context(
                    f"{tmp}/profile", executable_path=CHROMIUM, headless=True,
                    args=CHROMIUM_ARGS, viewport={"width": 1600, "height": 1010})
                page = context.pages[0] if context.pages else context.new_page()
                page.goto(f"{base}/dashboard")
                page.locator("#book-rows tr").nth(UNDERLYINGS - 1).wait_for(timeout=30_000)
                time.sleep(3)  # the first scenario answer, the feeds up
                cdp = context.new_cdp_session(page)
                cdp.send("Performance.enable")
                page.evaluate(PROBE)
                t0, n0, m0 = time.monotonic(), ticks_accepted(base), renderer_seconds(cdp)
                time.sleep(args.seconds)
                elapsed, n1, m1 = time.monotonic() - t0, ticks_accepted(base), renderer_seconds(cdp)
                probe = page.evaluate("() => window.__probe")
                page.screenshot(path=args.out)
                context.close()
        finally:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(20)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait()
    print(f"saved {args.out}")
    print(f"load: {(n1 - n0) / elapsed:,.0f} ticks/s accepted over {elapsed:.1f} s "
          f"({UNDERLYINGS} underlyings)")
    print(f"page: {probe['frames'] / elapsed:.1f} frames/s, longest frame gap "
          f"{probe['maxGapMs']:.0f} ms, {probe['longTasks']} long tasks "
          f"({probe['longTaskMs']:.0f} ms in all)")
    busy = {k: (m1[k] - m0[k]) / elapsed for k in m0}
    print("page main thread busy: " + ", ".join(
        f"{k.removesuffix('Duration').lower()} {100 * v:.1f}%" for k, v in busy.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
