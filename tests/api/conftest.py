from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.domain import ShiftedClock
from app.main import create_app
from app.settings import Settings

CALL = "XYZ   270219C00098000"
# The API tests' clock starts here (2026-06-01T14:00:00Z, a Monday, 10:00 in New York) and runs
# at wall speed: valuations never depend on the day or the hour the suite runs.
T0 = 1_780_322_400.0
CLOCK = ShiftedClock(T0)  # one for the session: a restarted service never goes back in time


def make_client(**overrides: object) -> TestClient:
    values: dict[str, object] = {"db_path": ":memory:", "redis_url": None, **overrides}
    settings = Settings(**values)  # type: ignore[arg-type]
    return TestClient(create_app(settings, CLOCK))


def now(c: TestClient) -> float:
    """The service's clock (event time of a tick sent without `ts`)."""
    return float(c.app.state.clock.now())  # type: ignore[attr-defined]


@pytest.fixture
def client() -> Iterator[TestClient]:
    with make_client() as c:
        yield c


def load_book(c: TestClient, quantity: float = 100, band: float = 100.0,
              headers: dict[str, str] | None = None) -> None:
    h = headers or {}
    r = c.put("/v1/underlyings/XYZ", json={"rate": 0.0, "div_yield": 0.0, "vol": 0.2}, headers=h)
    assert r.status_code == 200, r.text
    r = c.put("/v1/positions", json=[{"symbol": CALL, "quantity": quantity}], headers=h)
    assert r.status_code == 200, r.text
    r = c.put("/v1/hedge/policies/XYZ", json={"mode": "band", "band": band}, headers=h)
    assert r.status_code == 200, r.text


def wait_for(predicate, timeout: float = 2.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    raise AssertionError("condition not met in time")
