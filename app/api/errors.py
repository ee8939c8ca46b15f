"""The edge: every DynhedgeError and validation error becomes one clear JSON answer.

Answers never echo the offending input (a NaN echoed back would itself break the JSON
encoder and turn a 422 into a 500)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.json_body import BodyInvalid
from app.api.responses import Json
from app.errors import (
    Conflict,
    DynhedgeError,
    InvalidInput,
    Misrouted,
    NotReady,
    UnknownSymbol,
)

STATUS = {InvalidInput: 422, UnknownSymbol: 404, Conflict: 409, NotReady: 503, Misrouted: 421}


def field_errors(errors: list[Any], prefix: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """pydantic errors as [{field, reason, loc}] without the input.

    The field is the dotted path of names, without FastAPI's `body`/`path`/`query` and
    without pydantic's names of union members (`ts.constrained-float` is `ts`). Of the errors
    a union gives for one field, those of the members whose type did not even match are
    dropped when another member says what is wrong (a ts of 0 is "greater than or equal
    to…", not "a valid string")."""
    out: list[tuple[dict[str, Any], bool]] = []  # (error, from a union's member)
    for e in errors:
        names = [p for p in (*prefix, *e.get("loc", ())) if p not in _WHERE]
        loc = [p for p in names if not _is_member(p)]
        field = ".".join(str(p) for p in loc) or "body"
        reason = _clean(e.get("msg", "invalid"))
        out.append(({"field": field, "reason": reason, "loc": loc, "msg": reason,
                     "type": str(e.get("type", "value_error"))}, len(loc) < len(names)))

    def mismatched(entry: dict[str, Any], member: bool) -> bool:
        return member and entry["type"].endswith("_type") and any(
            o["field"] == entry["field"] and not o["type"].endswith("_type") for o, _ in out)

    return [entry for entry, member in out if not mismatched(entry, member)]


_WHERE = ("body", "path", "query")
_MEMBER = re.compile(r"(constrained-)?(float|int|str|bool|bytes)|(function-\w+|list|dict|"
                     r"nullable)\[.*\]")


def _is_member(part: object) -> bool:
    """A union member's name in a pydantic error location (never one of our field names)."""
    return isinstance(part, str) and _MEMBER.fullmatch(part) is not None


def _clean(msg: str) -> str:
    return msg.replace("Value error, ", "")


def first_reason(errors: list[dict[str, Any]]) -> str:
    e = errors[0]
    return f"{e['field']}: {e['reason']}"


def error_body(
    status: int, message: str, detail: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"error": message, "detail": detail or [], "status": status}


def _domain_answer(exc: DynhedgeError) -> Json:
    status = next((s for t, s in STATUS.items() if isinstance(exc, t)), 400)
    detail = []
    if isinstance(exc, InvalidInput):
        detail = [{"field": exc.field, "reason": exc.reason, "loc": [exc.field],
                   "msg": exc.reason, "type": "value_error"}]
    body = error_body(status, str(exc), detail)
    if isinstance(exc, Misrouted):  # the shard to send it to instead
        body.update(shard=exc.shard, underlying=exc.underlying)
    return Json(body, status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Json:
        detail = field_errors(list(exc.errors()))
        return Json(error_body(422, first_reason(detail), detail), status_code=422)

    @app.exception_handler(ValidationError)
    async def _pyd_validation(request: Request, exc: ValidationError) -> Json:
        detail = field_errors(list(exc.errors()))
        return Json(error_body(422, first_reason(detail), detail), status_code=422)

    @app.exception_handler(DynhedgeError)
    async def _domain(request: Request, exc: DynhedgeError) -> Json:
        return _domain_answer(exc)

    @app.exception_handler(BodyInvalid)
    async def _body(request: Request, exc: BodyInvalid) -> Json:
        return _domain_answer(exc.error)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Json:
        if exc.status_code == 400 and "parsing the body" in str(exc.detail):
            # FastAPI's answer to a body that is not JSON (bad UTF-8, too deep): a 422
            # naming the body, as for every other body that does not fit
            detail = [{"field": "body", "reason": "not valid JSON", "loc": ["body"],
                       "msg": "not valid JSON", "type": "json_invalid"}]
            return Json(error_body(422, "body: not valid JSON", detail), status_code=422)
        return Json(error_body(exc.status_code, str(exc.detail)),
                    status_code=exc.status_code, headers=exc.headers)

