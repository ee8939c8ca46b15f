"""JSON bodies and frames: one parser for every route and the ingest WebSocket.

- orjson first (fast); on failure the stdlib parser, which reads NaN, Infinity and 1e400, so
  that one non-finite item in a batch is rejected alone by validation;
- a key given twice in one object is refused (422 naming the key) rather than letting the
  last one silently win. orjson cannot say, so counting colons decides when to look closer
  (`_may_repeat_keys`): a tick frame with numeric `ts` is cleared by one count and one sum,
  any other body by one more count over orjson's own re-serialisation (C speed, no walk in
  Python); only a body that is not cleared (a repeated key, a `\\u` escape) is parsed again
  by the stdlib with a duplicate-detecting hook.

`JsonRoute` makes FastAPI's own body parsing (the routes with a pydantic body) use this parser,
so the rule holds on every route."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from app.errors import InvalidInput


def parse_json(raw: bytes | str) -> Any:
    """The JSON value of `raw`; InvalidInput naming the body (not JSON, nested too deeply)
    or the key that an object repeats."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _parse_checked(raw)
    if _may_repeat_keys(raw, data):
        return _parse_checked(raw)
    return data


def _parse_checked(raw: bytes | str) -> Any:
    try:
        return json.loads(raw, object_pairs_hook=_object)
    except RecursionError:
        raise InvalidInput("body", "JSON nested too deeply") from None
    except InvalidInput:
        raise
    except ValueError:
        raise InvalidInput("body", "not valid JSON") from None


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                name = key if key.isprintable() and len(key) <= 64 else ascii(key)[:64]
                raise InvalidInput(name, "key given twice in one object")
            seen.add(key)
    return out


def _may_repeat_keys(raw: bytes | str, data: Any) -> bool:
    """False only when `raw` cannot hold a repeated key; True when it may.

    Outside strings, every colon of the text follows a key; a repeat leaves one key (and its
    value's strings) out of `data`. So colons(raw) = keys(raw) + colons in its strings ≥
    keys(data) + colons in data's strings = colons(orjson.dumps(data)), equal only when no
    key was repeated — unless a \\u escape (\\u003a) wrote a colon the text does not show,
    so such a body goes on to the checked parse. Before that, a list of flat objects whose
    keys alone account for every colon (a tick frame with numeric `ts`) is cleared without
    serialising anything."""
    colons = raw.count(b":") if isinstance(raw, bytes) else raw.count(":")
    if not colons:
        return False
    if type(data) is list and set(map(type, data)) == {dict} and sum(map(len, data)) == colons:
        return False  # keys(data) ≤ keys(raw) ≤ colons(raw): all equal
    if (b"\\u" in raw) if isinstance(raw, bytes) else ("\\u" in raw):
        return True
    try:
        return orjson.dumps(data).count(b":") != colons
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (it reads deeper)
        return True


class BodyInvalid(HTTPException):
    """An InvalidInput raised while FastAPI reads a body (it lets only HTTPExceptions through
    as they are); answered like any InvalidInput (`app.api.errors`)."""

    def __init__(self, error: InvalidInput) -> None:
        super().__init__(422, str(error))
        self.error = error


class _JsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            try:
                self._json = parse_json(await self.body())
            except InvalidInput as exc:
                raise BodyInvalid(exc) from None
        return self._json


class JsonRoute(APIRoute):
    """An APIRoute whose JSON body is read by `parse_json`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            return await handler(_JsonRequest(request.scope, request.receive, request._send))

        return route_handler
