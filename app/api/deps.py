"""FastAPI dependencies: the runner, API keys with scopes, the per-key rate limit."""

from __future__ import annotations

import hmac
import math
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from app.domain import Clock
from app.engine.runner import Runner
from app.settings import Settings


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

    def check(self, key: str | None, scope: str) -> str:
        """The caller's identity for rate limiting; 401 without a valid key, 403 without the
        scope."""
        if not self.enabled:
            return "anonymous"
        if not key:
            raise HTTPException(401, "missing API key (X-API-Key)",
                                headers={"WWW-Authenticate": "ApiKey"})
        scopes = self.scopes_of(key)
        if scopes is None:
            raise HTTPException(401, "unknown API key", headers={"WWW-Authenticate": "ApiKey"})
        if scope not in scopes:
            raise HTTPException(403, f"this key lacks the {scope!r} scope")
        return hmac.new(b"rate", key.encode(), "sha256").hexdigest()[:16]


class RateLimit:
    """A token bucket per key: `rate` requests per second, bursts up to `rate`."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.buckets: dict[str, tuple[float, float]] = {}

    def take(self, who: str) -> None:
        if not self.rate:
            return
        now = time.monotonic()
        tokens, last = self.buckets.get(who, (self.rate, now))
        tokens = min(self.rate, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            wait = math.ceil((1.0 - tokens) / self.rate)
            raise HTTPException(429, "rate limit exceeded", headers={"Retry-After": str(wait)})
        self.buckets[who] = (tokens - 1.0, now)


def get_runner(request: Request) -> Runner:
    return request.app.state.runner  # type: ignore[no-any-return]


def get_clock(request: Request) -> Clock:
    """The clock the composition root built: routes never read the wall clock themselves."""
    return request.app.state.clock  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def require(scope: str, write: bool = False) -> Callable[[Request], str]:
    def dependency(request: Request) -> str:
        keys: KeyRing = request.app.state.keys
        who = keys.check(request.headers.get("x-api-key"), scope)
        if write:
            request.app.state.rate_limit.take(who)
        return who

    return dependency


RunnerDep = Annotated[Runner, Depends(get_runner)]
ClockDep = Annotated[Clock, Depends(get_clock)]
Read = Depends(require("read"))
Trade = Depends(require("trade", write=True))
Admin = Depends(require("admin", write=True))
