"""create_gateway(settings): the REST API of a single service, in front of N shards.

Every request is routed by `app.gateway.routing.route`; the shard's answer goes back as it
came (status and body) when one shard answers, or merged when several do. A shard that is
down answers 503 naming it: `{error, status: 503, shard: "K/N"}`. The gateway holds no book:
any number of them may run side by side."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request, WebSocket
from starlette.responses import Response

from app import __version__
from app.adapters.risk_publisher import stored_risk
from app.adapters.shard_registry import ShardRegistry
from app.api.errors import error_body
from app.api.ingest import parse_tick
from app.domain import iso_utc
from app.domain.shard import shard_of, underlying_of
from app.gateway import book, limits, routing
from app.gateway import ws as gateway_ws
from app.gateway.answers import down, invalid, json_answer, merged, passed
from app.gateway.shards import FORWARDED, Answer, ShardDown, ShardMap
from app.settings import Settings

log = logging.getLogger("dynhedge.gateway")


def create_gateway(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if not settings.redis_url or not settings.shards:
        raise ValueError("the gateway needs HEDGE_REDIS_URL (where shards register) and "
                         "HEDGE_SHARDS (how many)")
    count = settings.shards
    registry = ShardRegistry(settings.redis_url, settings.registry_prefix,
                             timeout_s=settings.redis_timeout_ms / 1000.0)
    shards = ShardMap(registry, count, settings.gateway_timeout_s)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("dynhedge gateway %s: %d shards, registry %s:{K}", __version__, count,
                 settings.registry_prefix)
        try:
            yield
        finally:
            await shards.close()

    app = FastAPI(title="dynhedge gateway", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None, openapi_url=None)
    app.state.shards = shards

    @app.get("/healthz")
    async def healthz() -> Response:
        return json_answer({"status": "ok", "role": "gateway", "shards": count})

    @app.get("/readyz")
    async def readyz() -> Response:
        status = await shard_status(shards, {})
        down = [k for k, s in status.items() if s["status"] != "up"]
        problem = shards.registry_problem or (f"shard(s) {', '.join(down)} down" if down
                                              else None)
        return json_answer({"status": "ready" if problem is None else "not ready",
                      "reason": problem, "shards": status}, 200 if problem is None else 503)

    @app.websocket("/v1/ws/signals")
    async def ws_signals(ws: WebSocket) -> None:
        await gateway_ws.fan_in(ws, shards, "/v1/ws/signals")

    @app.websocket("/v1/ws/risk")
    async def ws_risk(ws: WebSocket) -> None:
        await gateway_ws.fan_in(ws, shards, "/v1/ws/risk")

    @app.websocket("/v1/ws/ingest")
    async def ws_ingest(ws: WebSocket) -> None:
        await gateway_ws.ingest(ws, shards, settings.max_body_bytes)

    async def forward(request: Request) -> Response:
        path = request.url.path
        method = request.method
        headers = {k: v for k, v in request.headers.items() if k.lower() in FORWARDED}
        params = list(request.query_params.multi_items())
        body = await request.body()
        if len(body) > settings.max_body_bytes:  # the shards' own limit, before any work
            return json_answer(error_body(413, f"body over {settings.max_body_bytes} bytes"), 413)
        one = request.query_params.get("shard")
        if one is not None and method == "GET":  # ?shard=K: that shard's own answer
            if not one.isdigit() or int(one) >= count:
                return invalid("shard", f"must be a shard index 0..{count - 1}")
            params = [(k, v) for k, v in params if k != "shard"]
            return await _one(shards, int(one), method, path, headers, body, params)
        r = routing.route(method, path, count)
        if not path.startswith("/v1/"):
            return json_answer(error_body(404, f"{path} is not served by the gateway: ask a shard "
                                    "with ?shard=K"), 404)
        if r.kind == "owner":
            assert r.shard is not None
            return await _one(shards, r.shard, method, path, headers, body, params,
                              r.underlying)
        if r.kind == "signal":
            if r.shard is None:
                return json_answer(error_body(404, f"unknown signal {path.split('/')[4]!r}"), 404)
            return await _one(shards, r.shard, method, path, headers, body, params)
        if r.kind == "reconcile":
            return await book.reconcile(shards, body, headers, params)
        if r.kind == "limit_ack":
            return await limits.ack_limit(shards, path, headers, params)
        if r.kind == "limits" and method == "GET":
            return await limits.get_limits(shards, headers, params)
        if r.kind in ("ticks", "positions", "limits", "body"):
            try:
                data = orjson.loads(body) if body else None
            except orjson.JSONDecodeError:
                return invalid("body", "not valid JSON")
            if r.kind == "ticks":
                return await _ticks(shards, data, body, headers, params)
            if r.kind == "positions":
                return await book.load_positions(shards, data, headers, params)
            if r.kind == "limits":
                return await limits.put_limits(shards, data, headers, params)
            underlying = routing.body_underlying(path, data)
            if underlying is not None:
                k = shard_of(underlying, count)
                answer = await _one(shards, k, method, path, headers, body, params,
                                    underlying)
                if path == "/v1/fills" and answer.status_code == 404:
                    # an instrument whose id does not name its underlying (a future, a
                    # hedge instrument): the shard whose book has it; a refusal changes
                    # nothing, so asking the others is safe
                    return await _find(shards, method, path, headers, body, params,
                                       first=answer, skip=k)
                return answer
            if path in ("/v1/hedge/halt", "/v1/hedge/resume") and not (
                    isinstance(data, dict) and data.get("underlying")):
                return await _every(shards, method, path, headers, body, params, write=True)
            if path == "/v1/hedge/signals" and isinstance(data, list):
                return invalid("body", "a set of manual signals must be of one underlying "
                                "through the gateway (send one set per underlying)")
            return await _one(shards, 0, method, path, headers, body, params)  # its 4xx
        if r.kind == "find":
            return await _find(shards, method, path, headers, body, params)
        if method == "GET" and path == "/v1/risk":
            return await _risk(shards, headers, params, settings.risk_prefix)
        if method == "GET" and path == "/v1/hedge/signals":
            return await _signals(shards, headers, params, request)
        return await _every(shards, method, path, headers, body, params,
                            write=method != "GET")

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    async def proxy(request: Request) -> Response:
        return await forward(request)

    app.add_middleware(TickFastPath, forward=forward)
    return app


class TickFastPath:
    """`POST /v1/ticks`, the hot path, straight to the forwarding (a plain ASGI middleware):
    past FastAPI's routing, dependency solving and exit stack, which cost a tick about as
    much as the forwarding itself. Every other request goes through FastAPI."""

    def __init__(self, app: Any, forward: Callable[[Request], Awaitable[Response]]) -> None:
        self.app = app
        self.forward = forward

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/v1/ticks" \
                and scope["method"] == "POST":
            response = await self.forward(Request(scope, receive))
            await response(scope, receive, send)
        else:
            await self.app(scope, receive, send)


async def _one(shards: ShardMap, k: int, method: str, path: str, headers: dict[str, str],
               body: bytes, params: Any, underlying: str | None = None) -> Response:
    try:
        return passed(await shards.send(k, method, path, headers, body or None, params))
    except ShardDown as d:
        return down(d, f" (owner of {underlying!r})" if underlying else "")


async def _ticks(shards: ShardMap, data: Any, raw: bytes, headers: dict[str, str],
                 params: Any) -> Response:
    if isinstance(data, dict):  # one tick: its owner's answer as it is (422, 404, 421…)
        symbol = data.get("symbol")
        k = shard_of(underlying_of(symbol), shards.count) if isinstance(symbol, str) else 0
        answer = await _one(shards, k, "POST", "/v1/ticks", headers, raw, params,
                            underlying_of(symbol) if isinstance(symbol, str) else None)
        if answer.status_code == 404 and shards.count > 1:  # an id naming no underlying
            return await _find(shards, "POST", "/v1/ticks", headers, raw, params,
                               first=answer, skip=k)
        return answer
    if not isinstance(data, list):
        return invalid("body", "expected a tick object or a list of ticks")
    per, unroutable = routing.split_ticks(data, shards.count)
    rejected = []
    for i in unroutable:  # no symbol to route by: the shard's own validation, here
        error = parse_tick(data[i], 0.0)
        rejected.append({"index": i, "error": str(error)})
    bodies = {k: orjson.dumps([data[i] for i in idx]) for k, idx in per.items()}
    parts = []
    for got in await shards.send_all("POST", "/v1/ticks", headers, bodies, params):
        if isinstance(got, ShardDown):
            rejected += [{"index": i, "error": f"{got} (503)"} for i in per[got.index]]
        elif got.status != 200:
            return passed(got)  # the whole request was refused (key, scope, size…)
        else:
            parts.append((per[got.index], got.json()))
    out = routing.merge_ticks(parts, rejected)
    if shards.count > 1:
        await _second_pass(shards, data, out, headers, params)
    return json_answer(out)


async def _second_pass(shards: ShardMap, data: list[Any], out: dict[str, Any],
                       headers: dict[str, str], params: Any) -> None:
    """Ticks their hashed owner does not know (an instrument whose id names no underlying)
    are offered to the other shards: the one whose book has it takes it, the others refuse
    it and change nothing."""
    unknown = [r["index"] for r in out["rejected"] if "unknown symbol" in r["error"]]
    if not unknown:
        return
    bodies = {k: orjson.dumps([data[i] for i in unknown]) for k in range(shards.count)}
    taken: set[int] = set()
    for got in await shards.send_all("POST", "/v1/ticks", headers, bodies, params):
        if isinstance(got, Answer) and got.status == 200:
            refused = {int(r["index"]) for r in got.json().get("rejected", [])}
            taken |= {unknown[j] for j in range(len(unknown)) if j not in refused}
    if taken:
        out["accepted"] += len(taken)
        out["rejected"] = [r for r in out["rejected"] if r["index"] not in taken]


async def _every(shards: ShardMap, method: str, path: str, headers: dict[str, str],
                 body: bytes, params: Any, write: bool) -> Response:
    return merged(await shards.send_all(method, path, headers,
                                         None if not body else dict.fromkeys(
                                             range(shards.count), body), params), write)


async def _find(shards: ShardMap, method: str, path: str, headers: dict[str, str],
                body: bytes, params: Any, first: Response | None = None,
                skip: int | None = None) -> Response:
    """The answer of the one shard that knows what is asked for (any answer but 404, or
    421: a shard that does not own it); 404 when none does, 503 when one that might is down."""
    others = [k for k in range(shards.count) if k != skip]
    answers = await shards.send_all(method, path, headers, dict.fromkeys(others, body or None),
                                    params)
    for a in answers:
        if isinstance(a, Answer) and a.status not in (404, 421):
            return passed(a)
    gone = [a for a in answers if isinstance(a, ShardDown)]
    if gone:
        return down(gone[0], " (it may hold what was asked for)")
    if first is not None:
        return first
    return next(passed(a) for a in answers if isinstance(a, Answer))


async def shard_status(shards: ShardMap, answers: dict[int, Any]) -> dict[str, Any]:
    records = await shards.records()
    out = {}
    for k, record in enumerate(records):
        out[str(k)] = {"status": "up" if record is not None else "down",
                       "url": None if record is None else record.get("url"),
                       "as_of": answers.get(k, {}).get("as_of")}
    return out


async def _risk(shards: ShardMap, headers: dict[str, str], params: Any,
                risk_prefix: str) -> Response:
    """Live figures of the shards that answer; for a shard that is down, the last figures it
    wrote to Redis, each underlying marked `stale` (app.adapters.risk_publisher)."""
    answers = await shards.send_all("GET", "/v1/risk", headers, params=params)
    good: dict[int, Any] = {}
    for a in answers:
        if isinstance(a, Answer):
            if a.status != 200:
                return passed(a)
            good[a.index] = a.json()
    status = await shard_status(shards, good)
    for a in answers:
        if isinstance(a, ShardDown):
            last: dict[str, Any] = {}
            try:
                last = await stored_risk(shards.registry.client, risk_prefix, a.index)
            except Exception as exc:
                log.warning("last figures of shard %s not read: %s", a.label, exc)
            figures = {u: {**v["risk"], "stale": True} for u, v in last.items()}
            good[a.index] = {"as_of": None, "underlyings": figures,
                             "total": routing.total_of(figures.values())}
            stamps = [v["published_at"] for v in last.values()]
            status[str(a.index)].update(
                status="down", reason=a.reason, stale=True,
                as_of=max((f["as_of"] for f in figures.values() if f.get("as_of")),
                          default=None),
                published_at=iso_utc(max(stamps)) if stamps else None)
    return json_answer(routing.merge_risk(good, status))


async def _signals(shards: ShardMap, headers: dict[str, str], params: Any,
                   request: Request) -> Response:
    """Every shard's signals after a cursor, ordered by time. `after` is one seq for every
    shard, or a cursor `K:SEQ,K:SEQ,…` (seq is per shard; a shard not named: 0). The answer's
    `X-Next-After` header is the cursor to poll with next."""
    q = request.query_params
    try:
        limit = int(q.get("limit", 1000))
        cursor = routing.parse_cursor(q.get("after", "0"), shards.count)
    except ValueError as exc:
        return invalid("after" if "after" in str(exc) else "limit", str(exc).split(": ")[-1])
    rest = [(k, v) for k, v in params if k != "after"]

    async def one(k: int) -> Answer | ShardDown:
        try:
            return await shards.send(k, "GET", "/v1/hedge/signals", headers, None,
                                     [*rest, ("after", str(cursor[k]))])
        except ShardDown as down:
            return down

    lists = []
    for a in await asyncio.gather(*(one(k) for k in range(shards.count))):
        if isinstance(a, ShardDown):
            return down(a, ": the firm-wide listing would miss its signals")
        if a.status != 200:
            return passed(a)
        lists.append(a.json())
    listed = routing.merge_signals(lists, limit)
    answer = json_answer(listed)
    answer.headers["X-Next-After"] = routing.next_cursor(cursor, listed, lists)
    return answer
