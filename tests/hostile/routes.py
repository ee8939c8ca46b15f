"""The app's routes, flattened: HTTP routes with their methods and WebSocket routes, whatever
way the installed FastAPI keeps included routers (recent versions keep them nested)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute, APIWebSocketRoute


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]  # empty for a WebSocket
    websocket: bool


def app_routes(app: Any) -> list[RouteInfo]:
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI that flattens included routers into app.routes
        contexts: list[Any] = list(app.routes)
    else:
        contexts = list(iter_route_contexts(app.routes))
    out = []
    for rc in contexts:
        route = getattr(rc, "original_route", rc)
        if isinstance(route, APIRoute):
            out.append(RouteInfo(rc.path, frozenset(rc.methods or ()), False))
        elif isinstance(route, APIWebSocketRoute):
            out.append(RouteInfo(rc.path, frozenset(), True))
    assert out, "no API routes found: the route walk no longer fits this FastAPI"
    return sorted(out, key=lambda r: (r.path, sorted(r.methods)))
