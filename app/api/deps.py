"""FastAPI dependencies: the runner, the settings, and the scope each route declares.

A route declares the scope it needs with `Read`, `Trade` or `Admin`; the request gate
(`app.api.gate`) reads those declarations from the app's routes and enforces them before a
byte of the body is read. The declaration is also what puts the X-API-Key security scheme on
the route in the OpenAPI document."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from app.domain import Clock
from app.engine.runner import Runner
from app.settings import Settings

CALLER = "dynhedge.caller"  # the request scope's key for who the gate let in
SCOPE_DOC = ("An API key of HEDGE_API_KEYS (none needed while it is unset). Scopes: `read` — "
             "the GET routes and the options plan; `trade` — ticks, fills, cancels; `admin` — "
             "everything.")


class ApiKey(APIKeyHeader):
    """The scope a route needs (`write`: the route counts against HEDGE_RATE_LIMIT).

    As a dependency it only hands over the caller the gate let in; without the gate it
    refuses to serve at all (never open by mistake)."""

    def __init__(self, scope: str, write: bool = False) -> None:
        super().__init__(name="X-API-Key", scheme_name="ApiKey", description=SCOPE_DOC,
                         auto_error=False)
        self.scope = scope
        self.write = write

    async def __call__(self, request: Request) -> str:  # type: ignore[override]
        caller = request.scope.get(CALLER)
        if caller is None:
            raise RuntimeError("the request gate (app.api.gate.Gate) is not installed")
        return str(caller)


def get_runner(request: Request) -> Runner:
    return request.app.state.runner  # type: ignore[no-any-return]


def get_clock(request: Request) -> Clock:
    """The clock the composition root built: routes never read the wall clock themselves."""
    return request.app.state.clock  # type: ignore[no-any-return]


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


RunnerDep = Annotated[Runner, Depends(get_runner)]
ClockDep = Annotated[Clock, Depends(get_clock)]
Read = Security(ApiKey("read"))
Trade = Security(ApiKey("trade", write=True))
Admin = Security(ApiKey("admin", write=True))
