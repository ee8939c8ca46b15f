"""kill -9 at the two narrowest windows of the journal protocol, hit on purpose (see
`tests/faults/die_at.py`) instead of by luck, then a plain restart on the same journal.

- A fill committed to the journal but never answered: after the restart it is in the book
  once, and posting it again (what a client does after a timeout) answers duplicate.
- A signal committed to the `signals` table whose pending order was not yet journaled: after
  the restart the signal is listed and published, so its pending order must be back too —
  otherwise the engine hedges the same exposure a second time."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.faults.harness import PYTHON, ServiceFactory, occ_call, wait_until

pytestmark = [pytest.mark.faults]

DIE_AT = [PYTHON, "-m", "tests.faults.die_at"]
CALL = occ_call("XYZ")


def signals(http: httpx.Client) -> list[dict[str, Any]]:
    return list(http.get("/v1/hedge/signals", params={"limit": 10_000}).json())


def test_a_fill_journaled_but_never_answered_is_in_the_book_once_after_kill_9(
        services: ServiceFactory):
    svc = services(command=DIE_AT, extra_env={"DYNHEDGE_DIE_AT": "fill-committed"},
                   redis_url=None)
    fill = {"exec_id": "X-1", "symbol": "XYZ", "side": "buy", "quantity": 7, "price": 100.0}
    with svc.client() as http:
        assert http.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0}).is_success
        with pytest.raises(httpx.HTTPError):
            http.post("/v1/fills", json=fill)  # the service dies before answering
    assert svc.wait_dead() == -9
    svc.command = None
    svc.start()
    svc.wait_ready()
    with svc.client() as http:
        book = {p["symbol"]: p["quantity"] for p in http.get("/v1/positions").json()}
        assert book.get("XYZ") == 7, f"the committed fill is not in the book once: {book}"
        r = http.post("/v1/fills", json=fill)
        assert r.status_code == 200 and r.json()["duplicate"] is True, r.text
        assert {p["symbol"]: p["quantity"] for p in http.get("/v1/positions").json()} == book


def test_a_signal_journaled_before_its_pending_order_is_not_hedged_twice_after_kill_9(
        services: ServiceFactory):
    svc = services(command=DIE_AT, extra_env={"DYNHEDGE_DIE_AT": "signal-row-committed"},
                   redis_url=None)
    with svc.client() as http:
        assert http.put("/v1/underlyings/XYZ", json={"vol": 0.2}).is_success
        assert http.put("/v1/positions", json=[{"symbol": CALL, "quantity": 100}]).is_success
        r = http.put("/v1/hedge/policies/XYZ", json={"mode": "band", "band": 100,
                                                     "pending_ttl_s": 600})
        assert r.is_success
        http.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})  # decides to hedge
    assert svc.wait_dead() == -9, "the service did not die at the signal's journal write"
    svc.command = None
    svc.start()
    svc.wait_ready()
    with svc.client() as http:
        [sig] = signals(http)  # committed, so listed (and published) after the restart
        pending = http.get("/v1/risk/XYZ").json()["pending"]
        assert pending == sig["order_qty"], (
            f"signal {sig['seq']} ({sig['order_qty']:+g}) is out, but its pending order did "
            f"not survive the kill (pending {pending})")
        quiet = http.get("/v1/hedge/policies").json()["XYZ"]["state"]["quiet"]
        http.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.01})
        wait_until(lambda: http.get("/v1/hedge/policies").json()["XYZ"]["state"]["quiet"]
                   != quiet or len(signals(http)) > 1, 5, "a decision on the next tick")
        assert len(signals(http)) == 1, "the same exposure was hedged twice"
