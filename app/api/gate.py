"""The request gate: a pure ASGI middleware that decides from a request's line and headers
alone — before a byte of its body is read — whether the service takes it, in this order:

1. the API key and its scope (401 / 403). The scope is the one the route declares (`Read`,
   `Trade`, `Admin` of `app.api.deps`), read from the app's routes on the first request; a
   route that declares none (health, readiness, metrics, the OpenAPI document) needs no key;
   a path or method under /v1/ that no route serves needs a valid key of any scope (the API's
   namespace is keyed as a whole); elsewhere such a path is a plain 404 (the pages' files);
2. the per-key rate limit of the trade and admin routes (429 with Retry-After);
3. where a write comes from: a browser sends `Origin`; a write whose origin is neither the
   service's own (the Host it was sent to) nor in HEDGE_ALLOWED_ORIGINS is refused (403);
4. what a write's body is: JSON — `application/json`, optionally `; charset=utf-8` — or 415
   naming the content type it got. A browser page can send a form or text/plain to any site
   without asking first (no CORS preflight); it cannot send application/json that way.

A refusal answers at once and closes the connection: an unauthenticated client cannot make
the server hold its body (uvicorn buffers at most 64 KiB of an unread body, then stops
reading). A request let through carries its caller in the scope (`CALLER`) and, for the
schemas, the service's HEDGE_MAX_QUANTITY (`MAX_QUANTITY`); WebSockets check their key and
origin themselves (`app.api.ws`), before they accept."""

from __future__ import annotations

import hmac
import math
import time
from typing import Any

from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from app.api.deps import CALLER, ApiKey
from app.api.responses import refuse
from app.api.schemas import MAX_QUANTITY
from app.settings import SCOPES

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_TYPE = "application/json"


class KeyRing:
    """API keys → scopes. Keys are compared in constant time and never logged."""

    def __init__(self, scopes: dict[str, frozenset[str]]) -> None:
        self._keys = [(k.encode(), s) for k, s in scopes.items()]
        self.enabled = bool(self._keys)

    def scopes_of(self, key: str | None) -> frozenset[str] | None:
        if key is None:
            return None
        given = key.encode()
        found: frozenset[str] | None = None
        for candidate, scopes in self._keys:  # no early exit: time does not tell which matched
            if hmac.compare_digest(candidate, given):
                found = scopes
        return found


class RateLimit:
    """A token bucket per key: `rate` requests per second, bursts up to `rate`."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.buckets: dict[str, tuple[float, float]] = {}

    def wait_s(self, who: str) -> int | None:
        """None when `who` may go now (a token taken), else whole seconds to wait."""
        if not self.rate:
            return None
        now = time.monotonic()
        tokens, last = self.buckets.get(who, (self.rate, now))
        tokens = min(self.rate, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            return math.ceil((1.0 - tokens) / self.rate)
        self.buckets[who] = (tokens - 1.0, now)
        return None


PUBLIC = ApiKey("")  # a route that declares no scope
UNROUTED = ApiKey("*")  # no route of the API (/v1/...) serves this path and method: any valid key
API_PREFIX = "/v1/"  # the keyed namespace; outside it a path no route serves is a plain 404


class RouteScopes:
    """method and path → the scope declared by the route that serves them."""

    def __init__(self, routes: list[Any]) -> None:
        tables: dict[str, dict[str, ApiKey]] = {}
        for path, methods, declared in _http_routes(routes):
            table = tables.setdefault(path, {})
            for method in methods:
                table.setdefault(method, declared)
        self.exact = {p: t for p, t in tables.items() if "{" not in p}
        self.templated = [(compile_path(p)[0], t) for p, t in tables.items() if "{" in p]

    def of(self, method: str, path: str) -> ApiKey:
        """The declaration of the first route serving `method` on `path` (no two of the app's
        paths overlap, so an exact path first, then the templated ones in order)."""
        declared = self.exact.get(path, {}).get(method)
        if declared is not None:
            return declared
        for pattern, table in self.templated:
            if method in table and pattern.match(path):
                return table[method]
        return UNROUTED if path.startswith(API_PREFIX) else PUBLIC


def _http_routes(routes: list[Any]) -> list[tuple[str, frozenset[str], ApiKey]]:
    """(path, methods, declared scope) of every HTTP route, whatever way this FastAPI keeps
    included routers (recent versions keep them nested in route contexts)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # a FastAPI that flattens included routers into app.routes
        contexts: list[Any] = list(routes)
    else:
        contexts = list(iter_route_contexts(routes))
    out = []
    for rc in contexts:
        methods = getattr(rc, "methods", None)
        if not methods:  # a WebSocket or a mount
            continue
        route = getattr(rc, "route", None) or getattr(rc, "original_route", rc)
        dependant = getattr(route, "dependant", None)
        found = [d.call for d in _dependencies(dependant) if isinstance(d.call, ApiKey)]
        declared = max(found, key=lambda k: SCOPES.index(k.scope)) if found else PUBLIC
        out.append((str(rc.path), frozenset(methods), declared))
    return out


def _dependencies(dependant: Any) -> list[Any]:
    out, stack = [], list(getattr(dependant, "dependencies", []))
    while stack:
        d = stack.pop()
        out.append(d)
        stack.extend(d.dependencies)
    return out


class Gate:
    def __init__(self, app: ASGIApp, keys: KeyRing, rate_limit: RateLimit,
                 origins: frozenset[str], max_quantity: float) -> None:
        self.app = app
        self.keys = keys
        self.rate_limit = rate_limit
        self.origins = origins
        self.max_quantity = max_quantity
        self._scopes: RouteScopes | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refusal = self._judge(scope)
            if refusal is not None:
                await refuse(send, *refusal)
                return
        elif scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        token = MAX_QUANTITY.set(self.max_quantity)
        try:
            await self.app(scope, receive, send)
        finally:
            MAX_QUANTITY.reset(token)

    def _judge(self, scope: Scope) -> tuple[int, str, list[tuple[bytes, bytes]]] | None:
        """None to let the request in (its caller then in the scope), else (status, reason,
        extra headers) of the refusal."""
        if self._scopes is None:
            self._scopes = RouteScopes(scope["app"].routes)
        method = scope["method"]
        declared = self._scopes.of(method, scope["path"])
        headers = _headers(scope)
        who = "anonymous"
        if self.keys.enabled and declared is not PUBLIC:
            key = headers.get(b"x-api-key")
            scopes = self.keys.scopes_of(key)
            if scopes is None:
                return (401, "unknown API key" if key else "missing API key (X-API-Key)",
                        [(b"www-authenticate", b"ApiKey")])
            if declared is not UNROUTED and declared.scope not in scopes:
                return 403, f"this key lacks the {declared.scope!r} scope", []
            who = hmac.new(b"rate", (key or "").encode(), "sha256").hexdigest()[:16]
        if declared.write:
            wait = self.rate_limit.wait_s(who)
            if wait is not None:
                return 429, "rate limit exceeded", [(b"retry-after", str(wait).encode())]
        if method in WRITES:
            origin = headers.get(b"origin")
            if origin is not None and not self._origin_allowed(origin, headers.get(b"host")):
                return 403, "origin not allowed: a cross-site write", []
            if _has_body(headers) and not is_json(headers.get(b"content-type")):
                given = (headers.get(b"content-type") or "none")[:100]
                return 415, f"content type {given!r} not accepted: send {JSON_TYPE}", []
        scope[CALLER] = who
        return None

    def _origin_allowed(self, origin: str, host: str | None) -> bool:
        origin = origin.strip().rstrip("/")
        own = host is not None and origin.lower().partition("://")[2] == host.strip().lower()
        return own or origin in self.origins


def _headers(scope: Scope) -> dict[bytes, str]:
    wanted = (b"x-api-key", b"origin", b"host", b"content-type", b"content-length",
              b"transfer-encoding")
    out: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in wanted and name not in out:  # the first of a repeated header, as Starlette
            out[name] = value.decode("latin-1")
    return out


def _has_body(headers: dict[bytes, str]) -> bool:
    length = headers.get(b"content-length")
    return b"transfer-encoding" in headers or (length is not None and length.strip() != "0")


def is_json(content_type: str | None) -> bool:
    """`application/json`, with at most a `charset=utf-8` parameter (case as you like)."""
    if content_type is None:
        return False
    media, *params = (p.strip().lower() for p in content_type.split(";"))
    if media != JSON_TYPE:
        return False
    for param in params:
        name, _, value = param.partition("=")
        if name.strip() != "charset" or value.strip().strip('"') not in ("utf-8", "utf8"):
            return False
    return True
