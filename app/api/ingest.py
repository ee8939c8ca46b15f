"""Parsing of ticks and fills at the edge, shared by REST and the ingest WebSocket.

A batch is validated in one pydantic call; only when that fails are the items validated one
by one, so each bad item is rejected alone with its own reason."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from app.api.errors import field_errors
from app.api.json_body import parse_json
from app.api.schemas import FillIn, TickIn
from app.domain import Fill, Tick, parse_ts
from app.engine.command_codec import INSTRUMENT_FIELDS, defined_by
from app.engine.commands import NewFill
from app.errors import DynhedgeError, InvalidInput

_TICK = TypeAdapter(TickIn)
_TICKS = TypeAdapter(list[TickIn])


def invalid(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> InvalidInput:
    detail = field_errors(list(exc.errors()), prefix)
    return InvalidInput(detail[0]["field"], detail[0]["reason"])


def to_tick(m: TickIn, received: float) -> Tick:
    ts = received if m.ts is None else m.ts if type(m.ts) is float else parse_ts(m.ts)
    return Tick(m.symbol, ts, received, m.price, m.bid, m.ask, m.iv)


def parse_tick(item: Any, received: float) -> Tick | DynhedgeError:
    try:
        if isinstance(item, dict) and "type" in item:
            item = {k: v for k, v in item.items() if k != "type"}
        return to_tick(_TICK.validate_python(item), received)
    except ValidationError as exc:
        return invalid(exc)
    except ValueError as exc:
        return InvalidInput.from_value_error(exc, "ts")


def parse_ticks(items: list[Any], received: float) -> list[Tick | DynhedgeError]:
    now = received
    try:
        models = _TICKS.validate_python(items)
    except ValidationError:
        return [parse_tick(item, now) for item in items]
    out: list[Tick | DynhedgeError] = []
    for m in models:
        try:
            out.append(to_tick(m, now))
        except ValueError as exc:
            out.append(InvalidInput.from_value_error(exc, "ts"))
    return out


def new_fill(m: FillIn, received: float) -> NewFill:
    """A fill as the core takes it: its instrument parsed once, here. The payload key is the
    fill as the client sent it, so a repeat compares equal whatever the server clock says."""
    given = m.model_dump(exclude_none=True, by_alias=True)
    if "fee" not in m.model_fields_set:  # a fill without a fee keys as it always did
        given.pop("fee", None)
    payload = orjson.dumps(given, option=orjson.OPT_SORT_KEYS).decode()
    fields = {k: given[k] for k in INSTRUMENT_FIELDS if k in given}
    try:
        ts = received if m.ts is None else parse_ts(m.ts)
    except ValueError as exc:
        raise InvalidInput.from_value_error(exc, "ts") from None
    try:
        defined = defined_by(m.symbol, fields)
    except ValueError as exc:
        raise InvalidInput.from_value_error(exc) from None
    fill = Fill(m.exec_id, m.symbol, m.side, m.quantity, m.price, ts, m.signal_id, m.fee)
    return NewFill(fill, defined, frozenset(fields), payload)


def parse_fill(item: Any, received: float) -> NewFill:
    try:
        m = FillIn.model_validate(item)
    except ValidationError as exc:
        raise invalid(exc) from None
    return new_fill(m, received)


__all__ = ["new_fill", "parse_fill", "parse_json", "parse_tick", "parse_ticks"]
