"""The gateway's answers: JSON, a shard's answer passed on, 503 naming a shard, 422, and one
answer merged from many."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from app.api.errors import error_body
from app.gateway import routing
from app.gateway.shards import Answer, ShardDown, ShardMap


def json_answer(content: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def passed(a: Answer) -> Response:
    return Response(a.body, status_code=a.status, media_type="application/json",
                    headers=a.headers)


def down(d: ShardDown, what: str = "") -> Response:
    body = error_body(503, f"{d}{what}")
    body["shard"] = d.label
    return json_answer(body, 503)


def invalid(field: str, reason: str, status: int = 422) -> Response:
    detail = [{"field": field, "reason": reason, "loc": [field], "msg": reason,
               "type": "value_error"}]
    return json_answer(error_body(status, f"{field}: {reason}", detail), status)


def merged(answers: list[Answer | ShardDown], write: bool) -> Response:
    """One answer of many: the first shard's refusal as it is; a shard down is 503 for a
    write (the others did take it: the answer lists them) and a gap for a read."""
    gone = [a for a in answers if isinstance(a, ShardDown)]
    got = [a for a in answers if isinstance(a, Answer)]
    for a in got:
        if a.status >= 400:
            return passed(a)
    if gone and (write or not got):
        body = error_body(503, "; ".join(str(d) for d in gone))
        body.update(shard=gone[0].label, applied=[f"{a.index}/{len(answers)}" for a in got])
        return json_answer(body, 503)
    try:
        return json_answer(routing.merge_any([a.json() for a in got]))
    except orjson.JSONDecodeError:
        return json_answer(error_body(502, "a shard's answer is not JSON: ask one shard with "
                                "?shard=K"), 502)


async def not_all_ready(shards: ShardMap, headers: dict[str, str], what: str) -> Response | None:
    """503 naming the first shard that does not answer its /readyz (`what`: the write that
    goes to every shard or none), or None when every shard is ready."""
    for probe in await shards.send_all("GET", "/readyz", headers):
        if isinstance(probe, ShardDown):
            return down(probe, f": {what} on every shard or none")
        if probe.status != 200:
            return down(ShardDown(probe.index, shards.count, "not ready"),
                        f": {what} on every shard or none")
    return None
