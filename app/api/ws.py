"""WebSockets (CONTRACT §4): ingest (client → server), risk, signals and alerts (server →
client).

A consumer that stops reading is dropped once its bounded queue fills; the others never
notice. Frames over HEDGE_MAX_BODY_BYTES close the socket with 1009."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from itertools import repeat
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from app.api.ingest import parse_fill, parse_json
from app.api.responses import Json
from app.api.tick_columns import parse_tick_frame
from app.codec import dumps
from app.domain import Clock
from app.engine.feed import Feed
from app.engine.runner import Runner
from app.engine.views import risk_view
from app.errors import DynhedgeError, InvalidInput

router = APIRouter(prefix="/v1/ws")
log = logging.getLogger("dynhedge.ws")
SEND_TIMEOUT_S = 5.0
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009


async def _admit(ws: WebSocket, scope: str) -> bool:
    """Check Origin and the API key before accepting. A refusal is an HTTP answer that says
    why (403 for a foreign origin or a missing scope, 401 for a missing or unknown key)."""
    app = ws.app
    origin = ws.headers.get("origin")
    if origin is not None and not _origin_allowed(ws, origin.rstrip("/")):
        await _deny(ws, 403, "origin not allowed")
        return False
    keys = app.state.keys
    if keys.enabled:
        key = ws.query_params.get("api_key") or ws.headers.get("x-api-key")
        scopes = keys.scopes_of(key)
        if scopes is None:
            await _deny(ws, 401, "missing API key" if not key else "unknown API key")
            return False
        if scope not in scopes:
            await _deny(ws, 403, f"this key lacks the {scope!r} scope")
            return False
    await ws.accept()
    return True


def _origin_allowed(ws: WebSocket, origin: str) -> bool:
    """A listed origin, or the service's own (a page it served, e.g. /dashboard): that opens
    nothing the page could not already read over REST with the same key."""
    if origin in ws.app.state.origins:
        return True
    host = ws.headers.get("host")
    scheme = "https" if ws.url.scheme == "wss" else "http"
    return host is not None and origin == f"{scheme}://{host}"


async def _deny(ws: WebSocket, status: int, reason: str) -> None:
    body = {"error": reason, "detail": [], "status": status}
    try:
        await ws.send_denial_response(Json(body, status_code=status))
    except RuntimeError:  # a server without the denial extension: a plain close
        await ws.close(code=POLICY_VIOLATION, reason=reason)


@router.websocket("/ingest")
async def ingest(ws: WebSocket) -> None:
    if not await _admit(ws, "trade"):
        return
    runner: Runner = ws.app.state.runner
    limit = ws.app.state.settings.max_body_bytes
    ack = False
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:  # a binary frame: JSON in UTF-8 is read the same
                try:
                    text = (message.get("bytes") or b"").decode("utf-8")
                except UnicodeDecodeError:
                    await ws.send_text(dumps({"type": "error", "index": 0,
                                              "error": "body: not UTF-8 JSON"}).decode())
                    continue
            if len(text) > limit:
                await ws.close(code=MESSAGE_TOO_BIG, reason="frame too large")
                return
            try:
                data = parse_json(text)
            except InvalidInput as exc:
                await ws.send_text(dumps({"type": "error", "index": 0, "error": str(exc)})
                                   .decode())
                continue
            items = data if isinstance(data, list) else [data]
            if items and isinstance(items[0], dict) and items[0].get("type") == "hello":
                ack = bool(items[0].get("ack"))
                await ws.send_text(dumps({"type": "hello", "ack": ack}).decode())
                items = items[1:]
                if not items:
                    continue
            accepted, rejected = await _apply(runner, ws.app.state.clock, items)
            if ack:
                await ws.send_text(dumps({"type": "ack", "accepted": accepted, "rejected": [
                    {"index": i, "error": e} for i, e in rejected]}).decode())
            elif rejected:
                await ws.send_text(dumps([{"type": "error", "index": i, "error": e}
                                          for i, e in rejected]).decode())
    except WebSocketDisconnect:
        return


async def _apply(runner: Runner, clock: Clock,
                 items: list[Any]) -> tuple[int, list[tuple[int, str]]]:
    """Apply a frame's messages in order: runs of ticks in one batch (validated in bulk,
    `app.api.tick_columns`), fills one by one."""
    if _ticks_only(items):  # the feed handler's frame
        ok, bad = runner.ingest_frame(parse_tick_frame(items, clock.now()))
        return ok, [(k, str(e)) for k, e in bad]
    accepted = 0
    rejected: list[tuple[int, str]] = []
    i = 0
    n = len(items)
    while i < n:
        item = items[i]
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "tick":
            j = i
            while j < n and isinstance(items[j], dict) and items[j].get("type") == "tick":
                j += 1
            ok, bad = runner.ingest_frame(parse_tick_frame(items[i:j], clock.now()))
            accepted += ok
            rejected.extend((i + k, str(e)) for k, e in bad)
            i = j
            continue
        if kind == "fill":
            try:
                # `type` is the message's; a fill's instrument type travels as
                # `instrument_type` on this socket
                fields = {k: v for k, v in item.items() if k not in ("type", "instrument_type")}
                if "instrument_type" in item:
                    fields["type"] = item["instrument_type"]
                await runner.submit_fill(parse_fill(fields, clock.now()))
                accepted += 1
            except DynhedgeError as exc:
                rejected.append((i, str(exc)))
        else:
            rejected.append((i, "type: must be tick or fill"))
        i += 1
    return accepted, rejected


def _ticks_only(items: list[Any]) -> bool:
    if not items or not set(map(type, items)) <= {dict}:
        return False
    kinds = list(map(dict.get, items, repeat("type")))
    return kinds.count("tick") == len(kinds)


async def _serve_feed(ws: WebSocket, feed: Feed, first: list[bytes]) -> None:
    """Send a feed until the client leaves or stops reading; frames it sends are ignored."""
    q = feed.subscribe()

    async def drain_incoming() -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                await ws.receive()

    reader = asyncio.create_task(drain_incoming())
    try:
        for frame in first:
            await asyncio.wait_for(ws.send_text(frame.decode()), SEND_TIMEOUT_S)
        while not reader.done():
            get = asyncio.create_task(q.get())
            done, _ = await asyncio.wait({get, reader}, return_when=asyncio.FIRST_COMPLETED)
            if get not in done:
                get.cancel()
                break
            raw = get.result()
            if raw is None:  # dropped: it stopped reading
                await _close(ws, 1013, "consumer too slow")
                break
            await asyncio.wait_for(ws.send_text(raw.decode()), SEND_TIMEOUT_S)
    except (WebSocketDisconnect, TimeoutError, RuntimeError, OSError):
        pass
    finally:
        feed.unsubscribe(q)
        reader.cancel()
        await _close(ws, 1000, "")


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state == WebSocketState.CONNECTED:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(code=code, reason=reason), SEND_TIMEOUT_S)


@router.websocket("/risk")
async def risk_feed(ws: WebSocket) -> None:
    if not await _admit(ws, "read"):
        return
    runner: Runner = ws.app.state.runner
    first = [dumps(risk_view(r, runner.read.pnl_total(u)))
             for u, r in runner.read.risks().items()]
    await _serve_feed(ws, runner.risk_feed, first)


@router.websocket("/signals")
async def signal_feed(ws: WebSocket) -> None:
    if not await _admit(ws, "read"):
        return
    runner: Runner = ws.app.state.runner
    await _serve_feed(ws, runner.egress.signal_feed, [])


@router.websocket("/alerts")
async def alert_feed(ws: WebSocket) -> None:
    """Every alert as it is journaled (limits' warn, breach, ack, clear; halt, resume)."""
    if not await _admit(ws, "read"):
        return
    runner: Runner = ws.app.state.runner
    await _serve_feed(ws, runner.alerts.feed, [])
