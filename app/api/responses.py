"""orjson responses (fast on the hot paths; FastAPI's own ORJSONResponse is deprecated)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Send


class Json(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def raw_json_list(items: list[bytes]) -> Json:
    """A JSON list of already-encoded JSON objects, without decoding them."""
    return Json(b"[" + b",".join(items) + b"]")


async def refuse(send: Send, status: int, reason: str,
                 headers: list[tuple[bytes, bytes]] | None = None) -> None:
    """An error answer from a pure ASGI middleware (the shape of every error answer), then
    the connection closes: whatever the client still sends is never read."""
    body = orjson.dumps({"error": reason, "detail": [], "status": status})
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *(headers or []),
    ]})
    await send({"type": "http.response.body", "body": body})
