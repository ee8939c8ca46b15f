"""Where the paper bot's signals come from (CONTRACT §4, §5), and how each is acknowledged.

A source is pulled: `next_batch()` waits at most about a second and answers the signals that
arrived (possibly none); `ack(delivery)` once the service has answered the fill; `close()`.

- `StreamSignals`: the Redis stream through a consumer group. XREADGROUP; XACK once the
  service has answered the fill; at start, first what this consumer was delivered and never
  acknowledged (a crash); every `claim_idle_s / 2`, XAUTOCLAIM of what any consumer left
  unacknowledged for `claim_idle_s` (a dead bot). Redis down or restarted empty: it waits,
  re-creates the group and resumes.
- `SocketSignals`: the service's `/v1/ws/signals`, catching up through
  `GET /v1/hedge/signals?after=SEQ` after each reconnect.

Either may deliver a signal twice (after a crash, a claim, a replay): the bot's exec_id,
derived from the signal id, makes the repeat harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

import httpx
import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus, WebSocketException

from app.bus_names import PAPER_BOT_GROUP, STREAM_FIELD

log = logging.getLogger("dynhedge.paper_bot")
RETRY_MAX_S = 2.0
WAIT_S = 1.0  # how long next_batch() waits for a signal


def raise_if_cancelling() -> None:
    """Raise CancelledError when this task was asked to stop. redis-py 8.1 sometimes lets a
    blocking read return normally although its task was cancelled (the cancel is lost), and
    a library may turn a cancel into its own error: loops check this after each call."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class KeyRefused(Exception):
    """The service refused the bot's API key (401/403): a configuration error, not the
    signal's fault — the bot stops without acknowledging anything."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One signal as read; `entry_id` is its Redis stream entry (None over the WebSocket)."""

    signal: dict[str, Any]
    entry_id: bytes | None = None


# XREADGROUP's answer (RESP2, bytes): [(stream, [(entry id, {field: value} or None)])];
# a None is an entry trimmed from the stream while it was pending.
StreamReply = list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes] | None]]]]


class SignalSource(Protocol):
    async def next_batch(self) -> list[Delivery]: ...

    async def ack(self, delivery: Delivery) -> None: ...

    async def close(self) -> None: ...


class StreamSignals:
    """Signals from the Redis stream through a consumer group (CONTRACT §5: stream
    `hedge:signals:stream`, field `data`). `consumer` names this bot: keep it across restarts
    so a restart re-reads its own unacknowledged entries at once; entries another consumer
    left unacknowledged for `claim_idle_s` seconds are claimed (XAUTOCLAIM). The client is
    the caller's (it closes it)."""

    def __init__(
        self,
        client: aioredis.Redis,
        stream: str,
        *,
        group: str = PAPER_BOT_GROUP,
        consumer: str = "paper-bot",
        claim_idle_s: float = 30.0,
        block_ms: int = int(WAIT_S * 1000),
        batch: int = 100,
    ) -> None:
        self.client = client
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.claim_idle_s = claim_idle_s
        self.block_ms = block_ms
        self.batch = batch
        self._ready = False
        self._own_after: str | None = "0"  # reading our own pending entries from here
        self._claim_from: bytes | None = None  # a claim sweep in progress
        self._next_claim = 0.0
        self._backoff = 0.1

    async def ensure_group(self) -> None:
        """Create the group at the stream's start (and the stream when missing). A new group
        sees what is already in the stream; the bot's age limit skips what is stale."""
        try:
            await self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def next_batch(self) -> list[Delivery]:
        """Our own unacknowledged entries first (after a restart), then claims when due, then
        new entries (blocking up to `block_ms`)."""
        try:
            batch = await self._next_batch()
            self._backoff = 0.1
        except (RedisError, OSError) as exc:
            raise_if_cancelling()
            # Redis down, or restarted empty (NOGROUP): wait, re-create the group, resume.
            log.warning("redis: %s: %s; retrying in %.1fs", type(exc).__name__, exc,
                        self._backoff)
            self._ready = False
            self._own_after = "0"
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, RETRY_MAX_S)
            batch = []
        raise_if_cancelling()
        return batch

    async def _next_batch(self) -> list[Delivery]:
        if not self._ready:
            await self.ensure_group()
            self._ready = True
        if self._own_after is not None:
            batch, last = await self._read(self._own_after, block=False)
            self._own_after = None if last is None else last.decode()
            if batch or last is not None:
                return batch
        if self._claim_from is None and time.monotonic() >= self._next_claim:
            self._next_claim = time.monotonic() + self.claim_idle_s / 2
            self._claim_from = b"0-0"
        if self._claim_from is not None:
            batch, cursor = await self._claim(self._claim_from)
            self._claim_from = None if cursor == b"0-0" else cursor
            if batch:
                return batch
        batch, _ = await self._read(">", block=True)
        return batch

    async def _read(self, start: str, *, block: bool) -> tuple[list[Delivery], bytes | None]:
        """One XREADGROUP: (deliveries, id of the last entry read or None when none was)."""
        reply = cast(StreamReply | None, await self.client.xreadgroup(
            self.group, self.consumer, {self.stream: start}, count=self.batch,
            block=self.block_ms if block else None))
        out: list[Delivery] = []
        last: bytes | None = None
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id
                d = await self._decode(entry_id, fields)
                if d is not None:
                    out.append(d)
        return out, last

    async def _claim(self, start: bytes) -> tuple[list[Delivery], bytes]:
        """One XAUTOCLAIM page of entries idle over `claim_idle_s`: (deliveries, the cursor
        to go on from, b"0-0" at the end)."""
        reply = await self.client.xautoclaim(
            self.stream, self.group, self.consumer, int(self.claim_idle_s * 1000),
            start_id=start, count=self.batch)
        cursor, entries = reply[0], reply[1]
        if entries:
            log.info("claimed %d signal(s) left pending by another consumer", len(entries))
        out: list[Delivery] = []
        for entry_id, fields in entries:
            d = await self._decode(entry_id, fields)
            if d is not None:
                out.append(d)
        return out, cursor if isinstance(cursor, bytes) else str(cursor).encode()

    async def _decode(self, entry_id: bytes, fields: dict[bytes, bytes] | None) -> Delivery | None:
        raw = (fields or {}).get(STREAM_FIELD.encode())
        if raw is None:  # trimmed from the stream before it was read: nothing to execute
            await self.ack(Delivery({}, entry_id))
            return None
        try:
            signal = orjson.loads(raw)
        except orjson.JSONDecodeError:
            log.error("stream entry %s is not JSON: skipped", entry_id)
            await self.ack(Delivery({}, entry_id))
            return None
        return Delivery(signal, entry_id)

    async def ack(self, delivery: Delivery) -> None:
        """XACK; a failure is logged, not raised: the entry is executed again later and the
        service answers that replay `duplicate`."""
        if delivery.entry_id is None:
            return
        try:
            await self.client.xack(self.stream, self.group, delivery.entry_id)
        except (RedisError, OSError) as exc:
            log.warning("XACK %s failed (%s): it will be replayed as a duplicate",
                        delivery.entry_id, type(exc).__name__)

    async def close(self) -> None:
        return None


class SocketSignals:
    """Signals from `/v1/ws/signals` (the service without Redis). After each (re)connect it
    catches up through `GET /v1/hedge/signals?after=SEQ` and skips what it has seen.
    `after_seq` None starts from the first signal that arrives; 0 replays all the service
    holds. `on_connect` is called once the socket is open."""

    def __init__(self, http: httpx.AsyncClient, ws_url: str, *,
                 after_seq: int | None = None, on_connect: Callable[[], None] | None = None
                 ) -> None:
        self.http = http
        self.ws_url = ws_url
        self.last_seq = after_seq
        self.on_connect = on_connect
        self._ws: ClientConnection | None = None
        self._backoff = 0.1

    async def next_batch(self) -> list[Delivery]:
        try:
            if self._ws is None:
                self._ws = await connect(self.ws_url, open_timeout=5, close_timeout=1)
                if self.on_connect is not None:
                    self.on_connect()
                batch = [Delivery(s) for s in await self._backlog()]
            else:
                batch = await self._receive()
            self._backoff = 0.1
        except (OSError, WebSocketException, httpx.HTTPError) as exc:
            raise_if_cancelling()
            refused = _refusal(exc)
            if refused:
                raise KeyRefused(f"signal feed: {refused}") from exc
            log.warning("signal feed: %s; reconnecting in %.1fs", type(exc).__name__,
                        self._backoff)
            await self.close()
            await asyncio.sleep(self._backoff)
            self._backoff = min(self._backoff * 2, RETRY_MAX_S)
            batch = []
        raise_if_cancelling()
        return batch

    async def _receive(self) -> list[Delivery]:
        assert self._ws is not None
        try:
            raw = await asyncio.wait_for(self._ws.recv(), WAIT_S)
        except TimeoutError:
            return []
        signal = orjson.loads(raw)
        seq = int(signal["seq"])
        if self.last_seq is not None and seq <= self.last_seq:
            return []
        self.last_seq = seq
        return [Delivery(signal)]

    async def _backlog(self) -> list[dict[str, Any]]:
        """Signals after `last_seq`, oldest first, paged."""
        out: list[dict[str, Any]] = []
        if self.last_seq is None:
            return out
        while True:
            r = await self.http.get("/v1/hedge/signals",
                                    params={"after": self.last_seq, "limit": 1000})
            r.raise_for_status()
            page = r.json()
            if not page:
                return out
            out.extend(page)
            self.last_seq = int(page[-1]["seq"])

    async def ack(self, delivery: Delivery) -> None:
        return None

    async def close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            with contextlib.suppress(OSError, WebSocketException):
                await ws.close()


def _refusal(exc: Exception) -> str | None:
    """'401'/'403' when `exc` is the service refusing the API key, else None."""
    status = None
    if isinstance(exc, InvalidStatus | httpx.HTTPStatusError):
        status = exc.response.status_code
    return str(status) if status in (401, 403) else None


def ws_url(base_url: str, path: str, api_key: str | None) -> str:
    """ws(s):// URL of a service WebSocket; the API key goes in `?api_key=`."""
    url = httpx.URL(base_url.rstrip("/") + path)
    url = url.copy_with(scheme="wss" if url.scheme == "https" else "ws")
    if api_key:
        url = url.copy_add_param("api_key", api_key)
    return str(url)
