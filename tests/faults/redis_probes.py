"""What the Redis fault tests do to and read from a private redis-server besides stopping it:
fill it to its memory limit (`MemoryPressure`), and count what its channel carries per seq
(`ChannelCounter`) — a bot trading from the channel would trade each message it receives."""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import redis

from tests.faults.harness import PrivateRedis, wait_until

FILLER_BYTES = 4 * 1024


@dataclass
class MemoryPressure:
    """Redis at `maxmemory` with `noeviction`, filled by keys of its own (`filler:*`), as
    when other applications share it. Until `free()`, a thread deletes one filler key now
    and then and sets it again a few ms later: between those, Redis takes some writes, and
    refuses the rest with OOM — the state of a Redis at its limit under other traffic."""

    server: PrivateRedis
    seed: int
    headroom_bytes: int = 256 * 1024
    keys: list[str] = field(default_factory=list)
    refused_sets: int = 0
    breaths: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def fill(self) -> None:
        c = self.server.client()
        used = int(c.info("memory")["used_memory"])
        c.config_set("maxmemory-policy", "noeviction")
        c.config_set("maxmemory", used + self.headroom_bytes)
        blob = b"x" * FILLER_BYTES
        for i in range(100_000):
            try:
                c.set(f"filler:{i}", blob)
            except redis.ResponseError as exc:
                assert "maxmemory" in str(exc), exc
                break
            self.keys.append(f"filler:{i}")
        else:
            raise AssertionError("maxmemory never refused a write")
        c.close()
        self._thread = threading.Thread(target=self._breathe, name="redis-breather",
                                        daemon=True)
        self._thread.start()

    def _breathe(self) -> None:
        rng = random.Random(self.seed)
        blob = b"x" * FILLER_BYTES
        c = self.server.client()
        try:
            while not self._stop.is_set():
                key = rng.choice(self.keys)
                with contextlib.suppress(redis.RedisError):
                    c.delete(key)
                    self.breaths += 1
                self._stop.wait(rng.uniform(0.0, 0.002))  # pacing, not a condition
                try:
                    c.set(key, blob)
                except redis.ResponseError:
                    self.refused_sets += 1  # the room went to other writes
                except redis.RedisError:
                    pass
                self._stop.wait(rng.uniform(0.001, 0.005))
        finally:
            c.close()

    def free(self) -> None:
        """Stop breathing, delete every filler key and lift the limit."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            assert not self._thread.is_alive(), "the breather did not stop"
        c = self.server.client()
        for i in range(0, len(self.keys), 500):
            c.delete(*self.keys[i:i + 500])
        c.config_set("maxmemory", 0)
        c.close()


@dataclass
class ChannelCounter:
    """A subscriber of the signal channel that counts each seq it receives, and subscribes
    again (polling every 10 ms) whenever Redis drops it. `connected_at` lists the monotonic
    times of every confirmed subscription."""

    server: PrivateRedis
    channel: str
    counts: Counter[int] = field(default_factory=Counter)
    connected_at: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> ChannelCounter:
        self._thread = threading.Thread(target=self._run, name="channel-counter", daemon=True)
        self._thread.start()
        wait_until(lambda: self.connected_at, 10, "the channel counter subscribed")
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            c = self.server.client(timeout=0.5)
            pubsub = c.pubsub()
            try:
                pubsub.subscribe(self.channel)
                while not self._stop.is_set():
                    msg = pubsub.get_message(timeout=0.05)
                    if msg is None:
                        continue
                    if msg["type"] == "subscribe":
                        self.connected_at.append(time.monotonic())
                    elif msg["type"] == "message":
                        seq = int(json.loads(msg["data"])["seq"])
                        with self._lock:
                            self.counts[seq] += 1
            except (redis.RedisError, OSError):
                self._stop.wait(0.01)  # Redis is away: try again shortly
            finally:
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()
                    c.close()

    def snapshot(self) -> Counter[int]:
        with self._lock:
            return Counter(self.counts)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            assert not self._thread.is_alive(), "the channel counter did not stop"

    def repeated(self) -> dict[int, int]:
        """Seqs received more than once, with their counts."""
        return {seq: n for seq, n in sorted(self.snapshot().items()) if n > 1}
