"""GET /v1/whoami: the scopes of the caller's key, so a client (the dashboard) shows only
what the key may do. With no keys configured, `auth` is false and every caller is admin."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from app.api.answers import answers
from app.api.deps import Read
from app.api.responses import Json
from app.settings import SCOPES

router = APIRouter(prefix="/v1")


@router.get("/whoami", dependencies=[Read], responses=answers(dict[str, Any]))
async def whoami(request: Request) -> Json:
    keys = request.app.state.keys
    if not keys.enabled:
        return Json({"scopes": list(SCOPES), "auth": False})
    scopes = keys.scopes_of(request.headers.get("x-api-key")) or frozenset()
    return Json({"scopes": [s for s in SCOPES if s in scopes], "auth": True})
