"""The gateway's WebSockets: the same three as a single service (docs/contract.md §12).

- `/v1/ws/signals`, `/v1/ws/risk`: one upstream socket per shard, every frame passed on as it
  comes (a shard that goes away is reconnected every half second, its frames resume when it
  is back);
- `/v1/ws/ingest`: each frame's messages are split by owning shard (ticks by symbol, fills
  by `underlying` or symbol; a message with nothing to route by goes to shard 0, whose own
  validation answers it) and sent as one frame to that shard's ingest socket (opened once per
  client, in ack mode); the shards' acks are merged with the original indexes. Messages of a
  shard that is down are rejected naming it.

The API key (`?api_key=` or `X-API-Key`) is passed on: the shards check it; a refusal closes
the client's socket with 1008."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from fastapi import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from app.domain.shard import shard_of, underlying_of
from app.gateway.shards import ShardDown, ShardMap

log = logging.getLogger("dynhedge.gateway.ws")
POLICY_VIOLATION = 1008
RECONNECT_S = 0.5


def _ws_url(base: str, path: str, key: str | None) -> str:
    url = base.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + path
    return url if not key else f"{url}?api_key={key}"


def _key(ws: WebSocket) -> str | None:
    return ws.query_params.get("api_key") or ws.headers.get("x-api-key")


async def _refused(ws: WebSocket, exc: InvalidStatus) -> None:
    with contextlib.suppress(Exception):
        await ws.close(code=POLICY_VIOLATION,
                       reason=f"refused by the shard: {exc.response.status_code}")


async def fan_in(ws: WebSocket, shards: ShardMap, path: str) -> None:
    """Every shard's frames of `path` to one client, until it leaves."""
    await ws.accept()
    key = _key(ws)
    lock = asyncio.Lock()

    async def follow(k: int) -> None:
        while True:
            try:
                url = _ws_url(await shards.url(k), path, key)
                async with connect(url, max_size=None, open_timeout=5) as upstream:
                    async for frame in upstream:
                        async with lock:
                            await ws.send_text(frame if isinstance(frame, str)
                                               else frame.decode())
            except InvalidStatus as exc:
                if exc.response.status_code in (401, 403):
                    await _refused(ws, exc)
                    return
            except (ShardDown, OSError, TimeoutError) as exc:
                log.debug("shard %d feed %s: %s", k, path, exc)
            except Exception as exc:  # the client went away, or the shard closed on us
                if not isinstance(exc, (ConnectionError,)) and ws.client_state.name != \
                        "CONNECTED":
                    return
            await asyncio.sleep(RECONNECT_S)

    tasks = [asyncio.create_task(follow(k)) for k in range(shards.count)]
    try:
        while True:  # frames the client sends on a feed are ignored, as on a shard
            message = await ws.receive()
            if message["type"] == "websocket.disconnect" or all(t.done() for t in tasks):
                return
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _owner(item: Any, count: int) -> int:
    if isinstance(item, dict):
        u = item.get("underlying") if item.get("type") == "fill" else None
        symbol = item.get("symbol")
        if isinstance(u, str) and u:
            return shard_of(u, count)
        if isinstance(symbol, str) and symbol:
            return shard_of(underlying_of(symbol), count)
    return 0


class _Upstreams:
    """One ingest socket per shard for one client, opened on first use, in ack mode."""

    def __init__(self, shards: ShardMap, key: str | None) -> None:
        self.shards = shards
        self.key = key
        self.open: dict[int, ClientConnection] = {}

    async def exchange(self, k: int, items: list[Any]) -> dict[str, Any]:
        up = self.open.get(k)
        try:
            if up is None:
                url = _ws_url(await self.shards.url(k), "/v1/ws/ingest", self.key)
                up = await connect(url, max_size=None, open_timeout=5)
                await up.send(orjson.dumps({"type": "hello", "ack": True}).decode())
                await asyncio.wait_for(up.recv(), self.shards.timeout_s)
                self.open[k] = up
            await up.send(orjson.dumps(items).decode())
            answer = orjson.loads(await asyncio.wait_for(up.recv(), 10.0))
            return answer if isinstance(answer, dict) else {"accepted": 0, "rejected": []}
        except InvalidStatus:
            raise
        except (ShardDown, OSError, TimeoutError, Exception) as exc:
            dropped = self.open.pop(k, None)
            if dropped is not None:
                with contextlib.suppress(Exception):
                    await dropped.close()
            reason = exc if isinstance(exc, ShardDown) else ShardDown(
                k, self.shards.count, type(exc).__name__)
            return {"accepted": 0, "rejected": [{"index": i, "error": f"{reason} (503)"}
                                                for i in range(len(items))]}

    async def close(self) -> None:
        for up in self.open.values():
            with contextlib.suppress(Exception):
                await up.close()


async def ingest(ws: WebSocket, shards: ShardMap, max_bytes: int) -> None:
    await ws.accept()
    ups = _Upstreams(shards, _key(ws))
    ack = False
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                text = (message.get("bytes") or b"").decode("utf-8", "replace")
            if len(text) > max_bytes:
                await ws.close(code=1009, reason="frame too large")
                return
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError:
                await ws.send_text(orjson.dumps({"type": "error", "index": 0,
                                                 "error": "body: not valid JSON"}).decode())
                continue
            items = data if isinstance(data, list) else [data]
            if items and isinstance(items[0], dict) and items[0].get("type") == "hello":
                ack = bool(items[0].get("ack"))
                await ws.send_text(orjson.dumps({"type": "hello", "ack": ack}).decode())
                items = items[1:]
                if not items:
                    continue
            per: dict[int, list[int]] = {}
            for i, item in enumerate(items):
                per.setdefault(_owner(item, shards.count), []).append(i)
            try:
                answers = await asyncio.gather(*(
                    ups.exchange(k, [items[i] for i in idx]) for k, idx in per.items()))
            except InvalidStatus as exc:
                await _refused(ws, exc)
                return
            accepted, rejected = 0, []
            for (_, idx), answer in zip(per.items(), answers, strict=True):
                accepted += int(answer.get("accepted", 0))
                rejected += [{"index": idx[int(r["index"])], "error": r["error"]}
                             for r in answer.get("rejected", [])]
            rejected.sort(key=lambda r: r["index"])
            if ack:
                await ws.send_text(orjson.dumps({"type": "ack", "accepted": accepted,
                                                 "rejected": rejected}).decode())
            elif rejected:
                await ws.send_text(orjson.dumps([{"type": "error", **r} for r in rejected]
                                                ).decode())
    except WebSocketDisconnect:
        return
    finally:
        await ups.close()
