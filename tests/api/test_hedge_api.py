"""The hedge engine through the API: live policy changes, the kill switch, staleness."""

from __future__ import annotations

import time

from tests.api.conftest import load_book, wait_for


def signals(c):
    return c.get("/v1/hedge/signals").json()


def test_a_policy_change_takes_effect_on_the_next_recompute(client):
    load_book(client, band=1e9)
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
    wait_for(lambda: client.get("/v1/risk/XYZ").json()["spot"] == 100.0)
    assert signals(client) == []
    r = client.put("/v1/hedge/policies/XYZ", json={"mode": "band", "band": 100,
                                                   "rebalance_to": "edge"})
    assert r.status_code == 200 and r.json()["rebalance_to"] == "edge"
    [sig] = wait_for(lambda: signals(client))  # the policy change itself is a decision point
    # long calls: net delta positive, so the nearer edge is +100 shares (whole shares)
    assert abs(sig["net_delta_before"] + sig["order_qty"] - 100) <= 0.5


def test_the_kill_switch_holds_signals_keeps_pending_and_risk_updating(client):
    load_book(client)
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
    [first] = wait_for(lambda: signals(client))
    assert client.post("/v1/hedge/halt", json={}).json() == {"halted": "all"}
    client.post(f"/v1/hedge/signals/{first['id']}/cancel")
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 103.0})
    wait_for(lambda: client.get("/v1/risk/XYZ").json()["spot"] == 103.0)
    policy = client.get("/v1/hedge/policies").json()["XYZ"]
    assert policy["state"]["halted"] is True and policy["state"]["last_decision"] == "halted"
    assert len(signals(client)) == 1
    r = client.post("/v1/hedge/signals", json={"underlying": "XYZ", "order_qty": -10})
    assert r.status_code == 409
    assert client.post("/v1/hedge/resume", json={"underlying": "XYZ"}).status_code == 200
    assert client.post("/v1/hedge/resume").status_code == 200
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 103.0})
    sigs = wait_for(lambda: len(s := signals(client)) == 2 and s)
    assert sigs[1]["seq"] == 2


def test_halting_one_underlying_leaves_the_others(client):
    load_book(client)
    assert client.post("/v1/hedge/halt", json={"underlying": "XYZ"}).json() == {
        "halted": "XYZ"}
    assert client.post("/v1/hedge/halt", json={"underlying": "NOPE"}).status_code == 404


def test_stale_data_sends_nothing_and_the_policy_view_says_stale(client):
    load_book(client)
    client.put("/v1/hedge/policies/XYZ", json={"mode": "band", "band": 100,
                                               "stale_after_s": 0.05})
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
    [sig] = wait_for(lambda: signals(client))
    client.post(f"/v1/hedge/signals/{sig['id']}/cancel")
    time.sleep(0.1)
    client.put("/v1/hedge/policies/XYZ", json={"mode": "band", "band": 100,
                                               "stale_after_s": 0.05})
    view = client.get("/v1/hedge/policies").json()["XYZ"]
    assert view["state"]["stale"] is True and view["state"]["last_decision"] == "stale"
    assert len(signals(client)) == 1


def test_a_manual_signal_goes_out_with_reason_manual(client):
    load_book(client, band=1e9)
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
    wait_for(lambda: client.get("/v1/risk/XYZ").json()["spot"] == 100.0)
    r = client.post("/v1/hedge/signals", json={"underlying": "XYZ", "order_qty": -250})
    assert r.status_code == 200
    sig = r.json()
    assert sig["reason"] == "manual" and sig["side"] == "sell" and sig["quantity"] == 250
    assert wait_for(lambda: signals(client))[0]["id"] == sig["id"]
    assert client.get("/v1/risk/XYZ").json()["pending"] == -250
    r = client.post("/v1/hedge/signals", json={"underlying": "XYZ", "order_qty": 0})
    assert r.status_code == 422
