"""Drivers for the end-to-end service benchmarks: ticks over `/v1/ws/ingest` at a fixed rate
or as fast as the acks allow, and a Redis subscriber in another process timing the signals.

Ticks alternate each underlying's spot between $99 and $101 (round-robin over the
underlyings) so every recompute sees a new need; each tick's `ts` is its send time in epoch
seconds, which the signal carries back as its `ts` — the subscriber's arrival time minus it
is the tick-to-signal latency over the whole stack (same machine, same clock).
"""

from __future__ import annotations

import contextlib
import math
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from websockets.sync.client import ClientConnection, connect

from app.bench.service_stack import SPOTS, Stack, _repo_root


@dataclass
class SendStats:
    frames: int = 0
    ticks: int = 0
    acks: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = math.nan  # first send to last ack
    max_behind_s: float = 0.0  # how far the paced sender fell behind its schedule

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds > 0 else math.nan


class TickSource:
    """Round-robin ticks over the underlyings, each one's spot alternating between two
    levels (99/101 unless `levels` gives an underlying its own) every `repeat` rounds — so
    that with frames holding several ticks of one underlying, the last one of each frame
    (the one a coalescing recompute sees) still alternates."""

    def __init__(self, underlyings: list[str], repeat: int = 1,
                 levels: dict[str, tuple[float, float]] | None = None) -> None:
        self.underlyings = underlyings
        self.period = len(underlyings) * max(1, repeat)
        self.levels = [levels.get(u, SPOTS) if levels else SPOTS for u in underlyings]
        self.i = 0

    def take(self, n: int, ts: float) -> list[dict[str, Any]]:
        out = []
        us = self.underlyings
        levels = self.levels
        m = len(us)
        period = self.period
        for _ in range(n):
            i = self.i
            out.append({"type": "tick", "symbol": us[i % m], "ts": ts,
                        "price": levels[i % m][(i // period) % 2]})
            self.i = i + 1
        return out


@contextlib.contextmanager
def _ingest(stack: Stack, timeout_s: float = 10.0) -> Iterator[ClientConnection]:
    """`/v1/ws/ingest` in ack mode (hello answered). No permessage-deflate: a feed handler on
    loopback would not pay for compression."""
    with connect(stack.ws_url("/v1/ws/ingest"), open_timeout=timeout_s, close_timeout=2,
                 compression=None, max_size=None) as ws:
        ws.send(orjson.dumps({"type": "hello", "ack": True}).decode())
        hello = orjson.loads(ws.recv(timeout=timeout_s))
        if hello != {"type": "hello", "ack": True}:
            raise RuntimeError(f"unexpected answer to hello: {hello}")
        yield ws


class _AckReader(threading.Thread):
    """Counts the server's acks; releases one window slot per ack."""

    def __init__(self, ws: ClientConnection, stats: SendStats,
                 window: threading.Semaphore | None) -> None:
        super().__init__(daemon=True, name="ack-reader")
        self.ws = ws
        self.stats = stats
        self.window = window
        self.last_ack = math.nan
        self.done = threading.Event()

    def run(self) -> None:
        st = self.stats
        try:
            while True:
                raw = self.ws.recv()
                msg = orjson.loads(raw)
                if isinstance(msg, dict) and msg.get("type") == "ack":
                    st.acks += 1
                    st.accepted += int(msg["accepted"])
                    bad = msg.get("rejected") or []
                    st.rejected += len(bad)
                    if bad and len(st.errors) < 10:
                        st.errors.append(str(bad[0]))
                    self.last_ack = time.perf_counter()
                    if self.window is not None:
                        self.window.release()
                elif len(st.errors) < 10:
                    st.errors.append(str(msg)[:200])
        except Exception as exc:  # the socket closed: normal at the end
            if not self.done.is_set() and len(st.errors) < 10:
                st.errors.append(f"{type(exc).__name__}: {exc}")


def _wait_acks(reader: _AckReader, stats: SendStats, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while stats.acks < stats.frames and time.monotonic() < deadline and reader.is_alive():
        time.sleep(0.005)
    if stats.acks < stats.frames:
        stats.errors.append(f"{stats.frames - stats.acks} frames never acknowledged")


def send_paced(stack: Stack, underlyings: list[str], rate: float, seconds: float,
               per_frame: int = 1, ack_timeout_s: float = 10.0,
               levels: dict[str, tuple[float, float]] | None = None,
               stop: threading.Event | None = None) -> SendStats:
    """`rate` ticks/s for `seconds`, `per_frame` ticks per frame, on a fixed schedule (a late
    frame is sent at once, never skipped). Bounded: rate × seconds ticks, then the acks;
    `stop` ends it early."""
    stats = SendStats()
    source = TickSource(underlyings, repeat=-(-per_frame // len(underlyings)), levels=levels)
    frames = max(1, int(rate * seconds / per_frame))
    period = per_frame / rate
    with _ingest(stack) as ws:
        reader = _AckReader(ws, stats, None)
        reader.start()
        try:
            t0 = time.perf_counter()
            for k in range(frames):
                if stop is not None and stop.is_set():
                    break
                due = t0 + k * period
                now = time.perf_counter()
                if due > now:
                    time.sleep(due - now)
                else:
                    stats.max_behind_s = max(stats.max_behind_s, now - due)
                ws.send(orjson.dumps(source.take(per_frame, time.time())).decode())
                stats.frames += 1
                stats.ticks += per_frame
            _wait_acks(reader, stats, ack_timeout_s)
            stats.seconds = (reader.last_ack if stats.acks else time.perf_counter()) - t0
        finally:
            reader.done.set()
    reader.join(5)
    return stats


def send_max(stack: Stack, underlyings: list[str], seconds: float, per_frame: int = 100,
             window: int = 4, ack_timeout_s: float = 10.0) -> SendStats:
    """As fast as the server acknowledges: at most `window` frames of `per_frame` ticks
    unacknowledged (the ack is the back-pressure), for `seconds`."""
    stats = SendStats()
    source = TickSource(underlyings, repeat=-(-per_frame // len(underlyings)))
    slots = threading.Semaphore(window)
    with _ingest(stack) as ws:
        reader = _AckReader(ws, stats, slots)
        reader.start()
        try:
            t0 = time.perf_counter()
            end = t0 + seconds
            while time.perf_counter() < end:
                if not slots.acquire(timeout=ack_timeout_s):
                    stats.errors.append(f"no ack within {ack_timeout_s:g} s")
                    break
                ws.send(orjson.dumps(source.take(per_frame, time.time())).decode())
                stats.frames += 1
                stats.ticks += per_frame
            _wait_acks(reader, stats, ack_timeout_s)
            stats.seconds = (reader.last_ack if stats.acks else time.perf_counter()) - t0
        finally:
            reader.done.set()
    reader.join(5)
    return stats


class Subscriber:
    """`app.bench.service_sub` in its own process, subscribed before any tick is sent."""

    def __init__(self, stack: Stack, max_s: float, ws_url: str | None = None) -> None:
        """Subscribes to `stack`'s Redis channel, or to `ws_url` (`/v1/ws/signals`)."""
        self.tmp = Path(tempfile.mkdtemp(prefix="dynhedge-sub-"))
        self.out = self.tmp / "latency.json"
        self.err_path = self.tmp / "stderr.txt"
        source = (["--ws", ws_url] if ws_url else
                  ["--redis", stack.redis_url, "--channel", stack.channel])
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.bench.service_sub", *source, "--out", str(self.out),
                 "--max-s", str(max_s)],
                stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                cwd=_repo_root(),
            )
        assert self.proc.stdout is not None
        line = b""
        deadline = time.monotonic() + 20
        # the child prints "ready" once subscribed; readline is bounded by the child's own
        # 5 s subscribe wait
        while time.monotonic() < deadline and self.proc.poll() is None:
            line = self.proc.stdout.readline()
            if line.strip() == b"ready":
                return
        self.stop()
        raise RuntimeError(f"the subscriber did not start: {self.err_path.read_text()[-500:]}")

    def collect(self, settle_s: float = 0.5, timeout_s: float = 20.0) -> dict[str, Any]:
        """Let the last signals arrive, stop the subscriber, return its record."""
        time.sleep(settle_s)
        self.stop(timeout_s)
        try:
            if not self.out.exists():
                raise RuntimeError("the subscriber wrote no record: "
                                   + self.err_path.read_text()[-500:])
            return dict(orjson.loads(self.out.read_bytes()))
        finally:
            import shutil

            shutil.rmtree(self.tmp, ignore_errors=True)

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def bare_redis_hop(redis_url: str, rate: float, seconds: float) -> dict[str, Any]:
    """The floor under the end-to-end figure: redis-py PUBLISH at `rate`/s from this process
    to the same subscriber process, messages shaped like signals (`ts` = send time).
    Returns the subscriber's record."""
    import uuid

    import redis

    from app.bench.service_stack import Stack
    from app.domain import iso_utc

    channel = f"bench:{uuid.uuid4().hex[:8]}:bare"
    probe = Stack("", "", 0, channel, "", redis_url, None, None)
    sub = Subscriber(probe, max_s=seconds + 30)
    client = redis.Redis.from_url(redis_url, socket_timeout=2)
    try:
        n = max(1, int(rate * seconds))
        t0 = time.perf_counter()
        for k in range(n):
            due = t0 + k / rate
            now = time.perf_counter()
            if due > now:
                time.sleep(due - now)
            client.publish(channel, orjson.dumps({"ts": iso_utc(time.time()), "seq": k + 1,
                                                  "underlying": "BARE"}))
    finally:
        client.close()
        record = sub.collect(settle_s=0.3)
    return record
