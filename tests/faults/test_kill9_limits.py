"""kill -9 of a real service: a limit's breach, the kill switch it engaged and the alerts
come back, and the breach still clears only by its acknowledgement."""

from __future__ import annotations

import pytest

from tests.faults.harness import ServiceFactory, occ_call

pytestmark = [pytest.mark.faults]
CALL = occ_call("XYZ")


def test_a_breach_and_its_halt_survive_kill_9(services: ServiceFactory) -> None:
    svc = services()
    with svc.client() as http:
        assert http.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0}).is_success
        assert http.put("/v1/positions", json=[{"symbol": CALL, "quantity": 10}]).is_success
        delta = http.get("/v1/risk/XYZ").json()["delta"]
        r = http.put("/v1/limits", json=[{"id": "d", "scope": "XYZ", "metric": "delta",
                                          "warn": delta / 2, "breach": delta * 0.9,
                                          "action": "halt"}])
        assert r.status_code == 200 and r.json()[0]["state"] == "breach", r.text
        alerts = http.get("/v1/alerts").json()
        assert [a["kind"] for a in alerts] == ["halt", "breach"]
    svc.kill9()  # at once: the answer is a millisecond old
    svc.start()
    svc.wait_ready()
    with svc.client() as http:
        assert http.get("/v1/alerts").json() == alerts
        assert http.get("/v1/limits").json()[0]["state"] == "breach"
        assert http.get("/v1/hedge/policies").json()["XYZ"]["state"]["halted"]
        assert http.post("/v1/limits/d/ack").json()["state"] == "breach_acked"
    svc.kill9()
    svc.start()
    svc.wait_ready()
    with svc.client() as http:
        assert http.get("/v1/limits").json()[0]["state"] == "breach_acked"
        assert http.get("/v1/alerts").json()[0]["kind"] == "ack"
