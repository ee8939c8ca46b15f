"""kill -9 of a real service: the last accepted tick and manual signals come back."""

from __future__ import annotations

import time

import pytest

from tests.faults.harness import ServiceFactory, occ_call, signals, wait_until

pytestmark = [pytest.mark.faults]
CALL = occ_call("XYZ")


def test_after_kill_9_the_last_tick_is_restored_no_older_than_the_checkpoint_interval(
        services: ServiceFactory):
    svc = services(tick_checkpoint_s=0.2)
    with svc.client() as http:
        assert http.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 195.0}).is_success
        assert http.put("/v1/positions", json=[{"symbol": CALL, "quantity": 10}]).is_success
        now = time.time()
        for i, price in enumerate((199.0, 201.0, 203.0)):
            assert http.post("/v1/ticks", json={"symbol": "XYZ", "price": price,
                                                "ts": now + i * 0.001}).is_success
        before = wait_until(lambda: (v := http.get("/v1/risk/XYZ").json())["spot"] == 203.0
                            and v, 5, "the tick in the risk view")
        time.sleep(0.5)  # more than one checkpoint interval
    svc.kill9()
    svc.start()
    svc.wait_ready()
    with svc.client() as http:
        after = http.get("/v1/risk/XYZ").json()
        assert after["spot"] == 203.0 and after["as_of"] == before["as_of"]
        assert after["delta"] == pytest.approx(before["delta"], rel=1e-12)
        assert http.get("/v1/underlyings").json()["XYZ"]["last_tick"]["price"] == 203.0
        # the restored price is an accepted price: a fat finger against it is held
        assert http.post("/v1/ticks", json={"symbol": "XYZ", "price": 2.03}).is_success
        time.sleep(0.1)
        assert http.get("/v1/risk/XYZ").json()["spot"] == 203.0


def test_a_manual_signal_answered_survives_kill_9_and_keeps_its_seq(services: ServiceFactory):
    svc = services()
    with svc.client() as http:
        assert http.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0}).is_success
        answered = [http.post("/v1/hedge/signals", json={"underlying": "XYZ",
                                                         "order_qty": 10 + i}).json()
                    for i in range(5)]
    svc.kill9()  # at once: the last answer is a millisecond old
    svc.start()
    svc.wait_ready()
    with svc.client() as http:
        kept = signals(http)
        assert [(s["id"], s["seq"]) for s in kept] == [(a["id"], a["seq"]) for a in answered]
        after = http.post("/v1/hedge/signals", json={"underlying": "XYZ", "order_qty": 1}).json()
        assert after["seq"] == answered[-1]["seq"] + 1
