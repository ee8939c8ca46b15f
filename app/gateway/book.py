"""The book through the gateway: a start-of-day load split by shard (validated whole first,
every shard probed), and a reconciliation split by the shard that holds each symbol."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response

from app.api.errors import error_body, field_errors, first_reason
from app.api.schemas import PositionIn
from app.domain import canonical_symbol, instrument_from_fields
from app.domain.shard import shard_of, underlying_of
from app.engine.command_codec import INSTRUMENT_FIELDS
from app.gateway.answers import down, invalid, json_answer, merged, not_all_ready, passed
from app.gateway.shards import ShardDown, ShardMap

_POSITIONS = TypeAdapter(list[PositionIn])


async def load_positions(shards: ShardMap, data: Any, headers: dict[str, str],
                     params: Any) -> Response:
    """Validated whole here (the shard's own schema and instrument rules), then each shard
    gets its part — an empty list too: the load replaces every shard's book."""
    try:
        items = _POSITIONS.validate_python(data)
    except ValidationError as exc:
        detail = field_errors(list(exc.errors()))
        return json_answer(error_body(422, first_reason(detail), detail), 422)
    parts: dict[int, list[Any]] = {k: [] for k in range(shards.count)}
    for i, p in enumerate(items):
        fields = {k: v for k, v in p.model_dump(exclude_none=True, by_alias=True).items()
                  if k in INSTRUMENT_FIELDS}
        try:
            inst = instrument_from_fields(p.symbol, fields)
        except ValueError as exc:
            named, sep, reason = str(exc).partition(": ")
            return invalid(f"{i}.{named}" if sep else f"{i}", reason if sep else str(exc))
        parts[shard_of(inst.underlying, shards.count)].append(data[i])
    # every shard answers now, or nothing is sent anywhere (one dying between this probe
    # and the load is answered 503 with `applied` naming the shards that took their part)
    refused = await not_all_ready(shards, headers, "the book is loaded")
    if refused is not None:
        return refused
    answers = await shards.send_all("PUT", "/v1/positions", headers,
                                    {k: orjson.dumps(v) for k, v in parts.items()}, params)
    return merged(answers, write=True)


async def reconcile(shards: ShardMap, raw: bytes, headers: dict[str, str],
                     params: Any) -> Response:
    """The broker's positions split by the shard that holds each symbol (from every shard's
    positions; a symbol nobody holds by the underlying it names); every shard gets its part,
    an empty one too (a position the broker does not have is a difference)."""
    try:
        data = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return invalid("body", "not valid JSON")
    if not isinstance(data, list):
        return invalid("body", "expected a list of {symbol, quantity}")
    holder: dict[str, int] = {}
    for got in await shards.send_all("GET", "/v1/positions", headers):
        if isinstance(got, ShardDown):
            return down(got, ": every shard compares its own book")
        if got.status != 200:
            return passed(got)
        holder.update({p["symbol"]: got.index for p in got.json()})
    parts: dict[int, list[Any]] = {k: [] for k in range(shards.count)}
    for item in data:
        symbol = item.get("symbol") if isinstance(item, dict) else None
        if not isinstance(symbol, str):
            parts[0].append(item)  # shard 0's validation answers it (422), nothing applied
            continue
        k = holder.get(canonical_symbol(symbol), holder.get(symbol))
        parts[shard_of(underlying_of(symbol), shards.count) if k is None else k].append(item)
    answers = await shards.send_all("PUT", "/v1/positions/reconcile", headers,
                                    {k: orjson.dumps(v) for k, v in parts.items()}, params)
    return merged(answers, write=True)
