"""orjson responses (fast on the hot paths; FastAPI's own ORJSONResponse is deprecated)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response


class Json(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        if isinstance(content, bytes):
            return content
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def raw_json_list(items: list[bytes]) -> Json:
    """A JSON list of already-encoded JSON objects, without decoding them."""
    return Json(b"[" + b",".join(items) + b"]")
