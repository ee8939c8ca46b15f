"""The real stack for the service benchmarks and `scripts/loadtest.py`: the service as a
subprocess (`python -m app serve`) on a loopback port with its journal in a temp dir and its
own Redis names, a book of underlyings × options loaded over REST, `/metrics` histograms, and
the RSS of the service process.

Everything here stays on 127.0.0.1 and every wait is bounded in time.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from app.bench.service_metrics import counter, scrape, total

REDIS_URL = (os.environ.get("HEDGE_BENCH_REDIS_URL") or os.environ.get("HEDGE_TEST_REDIS_URL")
             or "redis://127.0.0.1:6379/15")
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
#: Future expiries (OCC yymmdd) for the bench book; they are years away on purpose.
EXPIRIES = ("271217", "280616", "281215", "290615", "291214")
STRIKES = tuple(80.0 + 2.0 * j for j in range(20))  # 20 strikes 80..118 around the $100 spot
SPOTS = (99.0, 101.0)  # ticks alternate these, so every recompute has a new need


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def root_of(i: int) -> str:
    """A 3-letter OCC root for underlying i (BAA, BAB, …): letters only, no OCC ambiguity."""
    return "B" + chr(65 + (i // 26) % 26) + chr(65 + i % 26)


def occ(root: str, yymmdd: str, is_call: bool, strike: float) -> str:
    return f"{root:<6}{yymmdd}{'C' if is_call else 'P'}{round(strike * 1000):08d}"


def book_positions(underlyings: list[str], options_per: int) -> list[dict[str, Any]]:
    """`options_per` options on each underlying: expiries × strikes × call/put, all long
    (1..9 contracts) so that gamma is large and a $2 move always leaves the band."""
    out = []
    for u in underlyings:
        k = 0
        for yymmdd in EXPIRIES:
            for strike in STRIKES:
                for is_call in (True, False):
                    if k >= options_per:
                        break
                    out.append({"symbol": occ(u, yymmdd, is_call, strike),
                                "quantity": 1 + (k * 7) % 9})
                    k += 1
        if k < options_per:
            raise ValueError(f"at most {len(EXPIRIES) * len(STRIKES) * 2} options per underlying")
    return out


@dataclass
class Stack:
    """A service subprocess and what it was started with."""

    base: str
    ws: str
    port: int
    channel: str
    stream: str
    redis_url: str
    proc: subprocess.Popen[bytes] | None
    tmp: Path | None
    log_path: Path | None = None
    underlyings: list[str] = field(default_factory=list)
    api_key: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key} if self.api_key else {}

    def ws_url(self, path: str) -> str:
        from urllib.parse import quote

        return self.ws + path + (f"?api_key={quote(self.api_key)}" if self.api_key else "")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def log_tail(self, lines: int = 30) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def start_service(
    *, redis_url: str = REDIS_URL, log_level: str = "warning", ready_timeout_s: float = 60.0,
    extra_env: dict[str, str] | None = None, python: str | None = None,
    prefix: list[str] | None = None,
) -> Stack:
    """`python -m app serve` with its own port, journal (temp dir) and Redis names; returns
    once /readyz answers 200. `prefix` wraps the command (e.g. a profiler)."""
    tag = uuid.uuid4().hex[:8]
    tmp = Path(tempfile.mkdtemp(prefix=f"dynhedge-bench-{tag}-"))
    port = free_port()
    channel, stream = f"bench:{tag}:signals", f"bench:{tag}:stream"
    env = {
        **os.environ,
        "HEDGE_HOST": "127.0.0.1",
        "HEDGE_PORT": str(port),
        "HEDGE_REDIS_URL": redis_url,
        "HEDGE_SIGNAL_CHANNEL": channel,
        "HEDGE_SIGNAL_STREAM": stream,
        "HEDGE_DB_PATH": str(tmp / "journal.db"),
        "HEDGE_LOG_LEVEL": log_level,
        **(extra_env or {}),
    }
    env.pop("HEDGE_API_KEYS", None)
    log_path = tmp / "service.log"
    cmd = [*(prefix or []), python or sys.executable, "-m", "app", "serve"]
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, cwd=_repo_root())
    stack = Stack(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", port, channel, stream,
                  redis_url, proc, tmp, log_path)
    deadline = time.monotonic() + ready_timeout_s
    with httpx.Client(base_url=stack.base, timeout=2.0) as http:
        while True:
            if proc.poll() is not None:
                tail = stack.log_tail()
                stop_service(stack)
                raise RuntimeError(f"the service exited with {proc.returncode}:\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if http.get("/readyz").status_code == 200:
                    return stack
            if time.monotonic() > deadline:
                tail = stack.log_tail()
                stop_service(stack)
                raise RuntimeError(f"the service was not ready in {ready_timeout_s:g} s:\n{tail}")
            time.sleep(0.1)


def attach(base: str, api_key: str | None = None) -> Stack:
    """An existing service at `base` (http://HOST:PORT on a loopback address); nothing is
    started or stopped."""
    base = base.rstrip("/")
    m = re.match(r"^http://(\[::1\]|[^/:]+):(\d+)$", base)
    if m is None:
        raise ValueError(f"expected http://HOST:PORT, got {base!r}")
    if m[1] not in LOOPBACK:
        raise ValueError(f"{m[1]} is not a loopback address: load stays on this machine")
    return Stack(base, "ws" + base[4:], int(m[2]), "", "", "", None, None, api_key=api_key)


def stop_service(stack: Stack, timeout_s: float = 15.0) -> None:
    """SIGINT (uvicorn's graceful stop, so a profiler wrapper can write its output), then
    SIGTERM, then SIGKILL — each bounded — then the Redis stream and temp dir go."""
    proc = stack.proc
    if proc is not None and proc.poll() is None:
        import signal

        for sig, wait_s in ((signal.SIGINT, timeout_s), (signal.SIGTERM, 5.0),
                            (signal.SIGKILL, 5.0)):
            proc.send_signal(sig)
            try:
                proc.wait(wait_s)
                break
            except subprocess.TimeoutExpired:
                continue
    if stack.stream and stack.redis_url:
        with contextlib.suppress(Exception):
            import redis

            client = redis.Redis.from_url(stack.redis_url, socket_timeout=2)
            client.delete(stack.stream)
            client.close()
    if stack.tmp is not None:
        shutil.rmtree(stack.tmp, ignore_errors=True)


def load_book(
    stack: Stack, n_underlyings: int, options_per: int, policy: dict[str, Any],
    *, timeout_s: float = 60.0,
) -> list[str]:
    """PUT the underlyings (spot 100), the whole book in one PUT /v1/positions, and one policy
    per underlying — all over REST. Returns the underlying symbols."""
    underlyings = [root_of(i) for i in range(n_underlyings)]
    with httpx.Client(base_url=stack.base, timeout=timeout_s, headers=stack.headers) as http:
        for u in underlyings:
            r = http.put(f"/v1/underlyings/{u}", json={"spot": 100.0, "rate": 0.03,
                                                      "div_yield": 0.01, "vol": 0.25})
            r.raise_for_status()
        r = http.put("/v1/positions", json=book_positions(underlyings, options_per))
        r.raise_for_status()
        if r.json().get("loaded") != n_underlyings * options_per:
            raise RuntimeError(f"book load answered {r.text[:200]}")
        for u in underlyings:
            http.put(f"/v1/hedge/policies/{u}", json=policy).raise_for_status()
    stack.underlyings = underlyings
    return underlyings


# --- /metrics ---------------------------------------------------------------------------------

def wait_drained(base: str, timeout_s: float = 20.0, poll_s: float = 0.1) -> tuple[bool, float]:
    """Wait until nothing waits for a recompute or a publish and the signal count stands
    still over two polls. Returns (drained, seconds waited); bounded by `timeout_s`."""
    began = time.monotonic()
    last = -1.0
    while time.monotonic() - began < timeout_s:
        m = scrape(base)
        signals = total(m, "dynhedge_signals_total")
        idle = (counter(m, "dynhedge_outbox_depth") == 0
                and counter(m, "dynhedge_inbox_depth") == 0)
        if idle and signals == last:
            return True, time.monotonic() - began
        last = signals
        time.sleep(poll_s)
    return False, time.monotonic() - began


# --- the process -----------------------------------------------------------------------------


def rss_mb(pid: int | None) -> float:
    """VmRSS of a process in MiB from /proc/PID/status (NaN when unreadable)."""
    if pid is None:
        return math.nan
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return math.nan
    m = re.search(r"^VmRSS:\s+(\d+)\s+kB", text, re.M)
    return int(m[1]) / 1024.0 if m else math.nan


def service_pid(stack: Stack) -> int | None:
    """The pid serving `stack.port`: our subprocess, or (attached) the listener found in
    /proc/net/tcp — best effort, None when not found."""
    if stack.proc is not None:
        return stack.proc.pid
    try:
        inode = _listen_inode(stack.port)
        if inode is None:
            return None
        for pid_dir in Path("/proc").iterdir():
            if not pid_dir.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                for fd in (pid_dir / "fd").iterdir():
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return int(pid_dir.name)
    except OSError:
        return None
    return None


def _listen_inode(port: int) -> str | None:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                    return parts[9]
    return None


def load_average() -> str:
    with contextlib.suppress(OSError):
        one, five, fifteen = Path("/proc/loadavg").read_text().split()[:3]
        return f"{one} {five} {fifteen}"
    return "?"


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of a process so far (NaN when unreadable)."""
    if pid is None:
        return math.nan
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_queue_wait_s(pid: int | None) -> float:
    """Seconds the threads of a process have spent runnable but waiting for a CPU so far
    (/proc/PID/task/*/schedstat, second field) — how much a busy machine delayed it."""
    if pid is None:
        return math.nan
    waited = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError, IndexError, ValueError):
                waited += int((task / "schedstat").read_text().split()[1])
    except OSError:
        return math.nan
    return waited / 1e9


def _repo_root() -> str:
    return str(Path(__file__).resolve().parents[2])
