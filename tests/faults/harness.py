"""The processes the fault tests drive: the service as a real `python -m app serve` child, and a
private `redis-server` on a free loopback port that a test may stop, wipe or pause (SIGSTOP)
without touching the shared Redis on 6379.

Every wait here is a poll with a deadline; every process started here is ended here, by its
own pid (never by name)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str, timeout: float) -> httpx.Response:
    """One GET on a fresh connection, never through a proxy of the environment."""
    return httpx.get(url, timeout=timeout, trust_env=False)


def wait_until(predicate: Callable[[], T], timeout: float, what: str,
               interval: float = 0.01) -> T:
    """Poll `predicate` until it returns a truthy value; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (httpx.HTTPError, redis.RedisError, OSError) as exc:
            last_error = exc
        if time.monotonic() > deadline:
            suffix = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"{what}: not within {timeout:g} s{suffix}")
        time.sleep(interval)


def _end(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM, then SIGKILL after `grace_s`; a stopped (SIGSTOP) process is continued first."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGCONT)
        proc.terminate()
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


# --- the service ----------------------------------------------------------------------------


@dataclass
class Service:
    """One `python -m app serve` child. Its log (stdout + stderr, i.e. uvicorn's access and
    error logs and the app's own) goes to `log_path`."""

    port: int
    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    command: list[str] | None = None  # default: python -m app serve

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def client(self, timeout: float = 5.0, **kw: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=timeout, trust_env=False, **kw)

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        log = self.log_path.open("ab")
        log.write(f"\n=== start #{self.starts} ===\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            self.command or [PYTHON, "-m", "app", "serve"], cwd=ROOT, env=self.env,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()

    def wait_listening(self, timeout: float = 120.0) -> None:
        def up() -> bool:
            self.raise_if_dead()
            return get(self.base + "/healthz", 1.0).status_code == 200

        wait_until(up, timeout, f"service on port {self.port} answering /healthz", 0.02)

    def wait_ready(self, timeout: float = 120.0) -> None:
        self.wait_listening(timeout)
        wait_until(lambda: get(self.base + "/readyz", 2.0).status_code == 200,
                   timeout, "/readyz answering 200", 0.02)

    def raise_if_dead(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(
                f"service exited with {self.proc.returncode}; log tail:\n{self.log_tail()}")

    def wait_dead(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            _end(self.proc, 10.0)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


def service_env(tmp_path: Path, port: int, **settings: str | float | int | None) -> dict[str, str]:
    """The child's environment: the parent's, minus any HEDGE_* (a developer's shell must not
    leak into a test), plus a journal in `tmp_path` and unique Redis names."""
    tag = uuid.uuid4().hex[:8]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGE_")}
    env.update({
        "HEDGE_PORT": str(port),
        "HEDGE_DB_PATH": str(tmp_path / "journal.db"),
        "HEDGE_SIGNAL_CHANNEL": f"faults:{tag}:signals",
        "HEDGE_SIGNAL_STREAM": f"faults:{tag}:stream",
        "HEDGE_LOG_LEVEL": "info",
        "PYTHONUNBUFFERED": "1",
    })
    for key, value in settings.items():
        name = "HEDGE_" + key.upper()
        if value is None:
            env.pop(name, None)
        else:
            env[name] = str(value)
    return env


@dataclass
class ServiceFactory:
    """Starts services for one test and ends every one of them at teardown."""

    tmp_path: Path
    started: list[Service] = field(default_factory=list)

    def __call__(self, *, start: bool = True, ready: bool = True,
                 command: list[str] | None = None, extra_env: dict[str, str] | None = None,
                 **settings: str | float | int | None) -> Service:
        port = free_port()
        n = len(self.started)
        env = service_env(self.tmp_path, port, **settings)
        env.update(extra_env or {})
        svc = Service(port, env, self.tmp_path / f"service-{n}.log", command=command)
        self.started.append(svc)
        if start:
            svc.start()
            if ready:
                svc.wait_ready()
            else:
                svc.wait_listening()
        return svc

    def close(self) -> None:
        for svc in self.started:
            svc.stop()


# --- a private redis-server --------------------------------------------------------------------


class PrivateRedis:
    """A redis-server of the test's own, on a free loopback port, without persistence unless
    asked: `stop(save=True)` writes its data to disk so that `start()` brings it back (a Redis
    that was down, not wiped); `wipe()` removes it (a Redis that comes back empty)."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not on PATH")
        self.binary = binary
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.paused = False

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self, timeout: float = 2.0) -> redis.Redis:
        """A client that never retries on its own (a retry would hide an outage)."""
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=timeout,
                           socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        log = (self.dir / "redis.log").open("ab")
        self.proc = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--dbfilename", "dump.rdb",
             "--daemonize", "no", "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()
        with self.client(0.5) as c:
            wait_until(c.ping, 10, f"private redis-server on port {self.port} answering PING")

    def stop(self, save: bool) -> None:
        """SHUTDOWN (SAVE or NOSAVE) and wait for the process to go; the port is then closed."""
        assert self.proc is not None and not self.paused
        with contextlib.suppress(redis.ConnectionError), self.client() as c:
            c.shutdown(save=save, nosave=not save)
        self.proc.wait(10)

    def kill9(self) -> None:
        """SIGKILL: gone at once, whatever it was doing, nothing saved."""
        assert self.proc is not None and not self.paused
        self.proc.kill()
        self.proc.wait(10)

    def wipe(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "stop it first"
        (self.dir / "dump.rdb").unlink(missing_ok=True)

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)
        self.paused = False

    def close(self) -> None:
        if self.proc is not None:
            _end(self.proc, 5.0)
        self.paused = False


# --- the desk's side -----------------------------------------------------------------------------


def occ_call(underlying: str) -> str:
    """The 98 call on `underlying` expiring about half a year after today (OCC: root padded
    to 6). The services here run on the wall clock (their ticks carry no `ts`), so a fixed
    expiry would expire under a moved clock (scripts/test-moved-clock) and hedge nothing."""
    expiry = datetime.now(UTC).date() + timedelta(days=182)
    return f"{underlying:<6}{expiry:%y%m%d}C00098000"


def load_book(http: httpx.Client, underlyings: list[str], *, policy: dict[str, Any] | None = None,
              quantity: float = 100) -> None:
    """Each underlying at spot 100 with 100 calls struck at 98 (about +5,000 shares of delta);
    `policy` (when given) on each."""
    for u in underlyings:
        r = http.put(f"/v1/underlyings/{u}", json={"vol": 0.2, "spot": 100.0})
        assert r.status_code == 200, r.text
    positions = [{"symbol": occ_call(u), "quantity": quantity} for u in underlyings]
    r = http.put("/v1/positions", json=positions)
    assert r.status_code == 200, r.text
    if policy is not None:
        for u in underlyings:
            r = http.put(f"/v1/hedge/policies/{u}", json=policy)
            assert r.status_code == 200, r.text


def stream_entries(client: redis.Redis, stream: str) -> list[tuple[int, dict[str, Any]]]:
    """The stream as [(entry seq, signal)], in stream order."""
    import json

    from app.adapters.keys import seq_of
    from app.bus_names import STREAM_FIELD

    return [(seq_of(eid), json.loads(fields[STREAM_FIELD.encode()]))
            for eid, fields in client.xrange(stream)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def signals(http: httpx.Client) -> list[dict[str, Any]]:
    """GET /v1/hedge/signals: every signal the service lists, oldest first."""
    r = http.get("/v1/hedge/signals", params={"limit": 10_000})
    assert r.status_code == 200, r.text
    return list(r.json())


def stream_matches_log(http: httpx.Client, client: redis.Redis, stream: str) -> bool:
    """The stream holds exactly the signals GET /v1/hedge/signals lists, same order."""
    log = signals(http)
    entries = stream_entries(client, stream)
    return bool(log) and [seq for seq, _ in entries] == [s["seq"] for s in log]


def assert_stream_is_the_log_exactly_once(http: httpx.Client, client: redis.Redis,
                                          stream: str) -> int:
    """Every listed signal on the stream once, in order, seq 1..N without a gap, with the
    same content; returns N."""
    log = signals(http)
    entries = stream_entries(client, stream)
    seqs = [seq for seq, _ in entries]
    assert seqs == list(range(1, len(log) + 1)), (
        f"stream seqs are not 1..{len(log)} once each, in order: "
        f"gaps {sorted(set(range(1, len(log) + 1)) - set(seqs))[:10]}, "
        f"duplicates {len(seqs) - len(set(seqs))}")
    for (seq, data), sig in zip(entries, log, strict=True):
        assert data == sig, f"stream entry {seq} differs from the signal the service lists"
        assert data["seq"] == seq, f"entry id {seq}-1 carries seq {data['seq']}"
    return len(log)


def wait_stream_is_log(http: httpx.Client, client: redis.Redis, stream: str,
                       timeout: float, what: str) -> int:
    """Poll until the stream is the service's signal log exactly once (signals may still be
    arriving); at the deadline, fail with what differs. Returns the number of signals."""
    def holds() -> bool:
        try:
            assert_stream_is_the_log_exactly_once(http, client, stream)
        except AssertionError:
            return False
        return True

    try:
        wait_until(holds, timeout, what)
    except AssertionError:
        assert_stream_is_the_log_exactly_once(http, client, stream)  # says what differs
        raise
    return len(signals(http))


def metric(http: httpx.Client, name: str) -> float:
    """One sample of /metrics (the first series of that name)."""
    for line in http.get("/metrics").text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
