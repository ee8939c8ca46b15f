"""Limits through the gateway: an underlying's limit lives on its owner; a `book` limit is the
firm's and lives on every shard, each judging it on the firm's figures
(`app.engine.firm_book`) and applying its action to its own underlyings.

- `PUT /v1/limits` is validated whole here (the shard's own schema, ids unique), every shard
  is probed, then each gets the book limits and its own underlyings' limits (an empty list
  too: a PUT replaces every limit);
- `GET /v1/limits` lists each limit once: a book limit with the most severe state any shard
  has for it (breach, then breach_acked, warn, ok), that shard's value, and `shards` each
  shard's state of it;
- `POST /v1/limits/{id}/ack` goes to every shard: answered with the merged limit when some
  shard took it, else the first refusal (409 not in breach before 404 unknown)."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response

from app.api.alerts import LimitIn
from app.api.errors import error_body, field_errors, first_reason
from app.domain.shard import shard_of
from app.gateway.answers import down, invalid, json_answer, not_all_ready, passed
from app.gateway.shards import Answer, ShardDown, ShardMap

_LIMITS = TypeAdapter(list[LimitIn])
SEVERITY = {"breach": 3, "breach_acked": 2, "warn": 1, "ok": 0}
BOOK = "book"


async def put_limits(shards: ShardMap, data: Any, headers: dict[str, str],
                     params: Any) -> Response:
    try:
        items = _LIMITS.validate_python(data)
    except ValidationError as exc:
        detail = field_errors(list(exc.errors()))
        return json_answer(error_body(422, first_reason(detail), detail), 422)
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            return invalid(f"{i}.id", f"{item.id!r} is given twice")
        seen.add(item.id)
    parts: dict[int, list[Any]] = {k: [] for k in range(shards.count)}
    for raw, item in zip(data, items, strict=True):
        owners = range(shards.count) if item.scope == BOOK else [
            shard_of(item.scope, shards.count)]
        for k in owners:
            parts[k].append(raw)
    refused = await not_all_ready(shards, headers, "limits are set")
    if refused is not None:
        return refused
    answers = await shards.send_all("PUT", "/v1/limits", headers,
                                    {k: orjson.dumps(v) for k, v in parts.items()}, params)
    return _listing(answers, write=True)


async def get_limits(shards: ShardMap, headers: dict[str, str], params: Any) -> Response:
    return _listing(await shards.send_all("GET", "/v1/limits", headers, params=params),
                    write=False)


async def ack_limit(shards: ShardMap, path: str, headers: dict[str, str],
                    params: Any) -> Response:
    answers = await shards.send_all("POST", path, headers, params=params)
    took = [a for a in answers if isinstance(a, Answer) and a.status == 200]
    gone = [a for a in answers if isinstance(a, ShardDown)]
    if gone:  # a shard that keeps its breach latched: say so, naming those that took it
        body = error_body(503, "; ".join(str(d) for d in gone) + ": acknowledged on the "
                          "other shards only")
        body.update(shard=gone[0].label, applied=[f"{a.index}/{shards.count}" for a in took])
        return json_answer(body, 503)
    if took:
        return json_answer(merge_limits({a.index: [a.json()] for a in took})[0])
    refusals = sorted((a for a in answers if isinstance(a, Answer)),
                      key=lambda a: (a.status != 409, a.status != 404, a.index))
    return passed(refusals[0])


def _listing(answers: list[Answer | ShardDown], write: bool) -> Response:
    got: dict[int, list[dict[str, Any]]] = {}
    for a in answers:
        if isinstance(a, ShardDown):
            if write:
                body = error_body(503, f"{a}: the other shards took their limits")
                body.update(shard=a.label, applied=[
                    f"{b.index}/{len(answers)}" for b in answers if isinstance(b, Answer)])
                return json_answer(body, 503)
            return down(a, ": a book limit's firm-wide state needs every shard")
        if a.status != 200:
            return passed(a)
        got[a.index] = a.json()
    return json_answer(merge_limits(got))


def merge_limits(per_shard: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each limit once, in the order the shards list them: an underlying's from its owner; a
    book limit from the shard where its state is the most severe, with `shards` each shard's
    state of it."""
    out: dict[str, dict[str, Any]] = {}
    states: dict[str, dict[str, str]] = {}
    for k in sorted(per_shard):
        for limit in per_shard[k]:
            lid = limit["id"]
            if limit.get("scope") != BOOK:
                out.setdefault(lid, limit)
                continue
            states.setdefault(lid, {})[str(k)] = limit["state"]
            have = out.get(lid)
            if have is None or SEVERITY.get(limit["state"], 0) > SEVERITY.get(have["state"], 0):
                out[lid] = limit
    return [{**v, "shards": states[i]} if i in states else v for i, v in out.items()]
