"""The REST API over HTTP (in-process bus): CONTRACT §3."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.pricing import greeks
from tests.api.conftest import CALL, T0, load_book, make_client, wait_for


def risk_of(c: TestClient) -> dict:
    return c.get("/v1/risk/XYZ").json()


def test_a_tick_revalues_the_book_in_desk_units(client: TestClient):
    load_book(client)
    now = T0 + 1.0
    r = client.post("/v1/ticks", json={"symbol": "XYZ", "price": 101.0, "ts": now})
    assert r.status_code == 200 and r.json() == {"accepted": 1, "rejected": []}
    view = wait_for(lambda: (v := risk_of(client))["spot"] == 101.0 and v)
    expiry = client.get("/v1/positions").json()[0]["expiry"]
    assert expiry.startswith("2027-02-19T21:00:00")
    t = (1803070800.0 - now) / (365 * 86400)
    g = greeks("call", 101.0, 98.0, t, 0.2, 0.0)
    assert abs(view["delta"] - float(g["delta"]) * 10_000) < 1e-6
    assert abs(view["vega"] - float(g["vega"]) * 100) < 1e-6
    assert abs(view["theta"] - float(g["theta"]) * 10_000 / 365) < 1e-6
    [row] = view["positions"]
    assert row["symbol"] == CALL and row["quantity"] == 100
    assert abs(row["unit"]["delta"] - float(g["delta"])) < 1e-12
    total = client.get("/v1/risk").json()
    assert abs(total["total"]["dollar_delta"] - view["delta"] * 101.0) < 1e-6
    assert total["underlyings"]["XYZ"]["hedge_position"] == 0


def test_the_first_tick_signals_and_a_fill_with_its_id_moves_the_position(client):
    load_book(client)
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
    [sig] = wait_for(lambda: client.get("/v1/hedge/signals?after=0").json())
    assert sig["side"] == "sell" and sig["order_qty"] == -sig["quantity"]
    assert sig["seq"] == 1 and sig["reason"] == "band" and sig["instrument"] == "XYZ"
    assert sig["target_position"] == sig["order_qty"]
    assert risk_of(client)["pending"] == sig["order_qty"]
    fill = {"exec_id": "E1", "symbol": "XYZ", "side": "sell", "quantity": sig["quantity"],
            "price": 100.0, "signal_id": sig["id"]}
    r = client.post("/v1/fills", json=fill)
    assert r.status_code == 200, r.text
    assert r.json()["position"] == {"symbol": "XYZ", "quantity": sig["order_qty"]}
    assert r.json()["duplicate"] is False
    view = risk_of(client)
    assert view["hedge_position"] == sig["order_qty"] and view["pending"] == 0
    again = client.post("/v1/fills", json=fill)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert risk_of(client)["hedge_position"] == sig["order_qty"]
    changed = client.post("/v1/fills", json={**fill, "quantity": 1})
    assert changed.status_code == 409
    assert client.get("/v1/hedge/signals?after=1").json() == []


def test_a_tick_batch_rejects_bad_items_alone(client):
    load_book(client)
    body = (b'[{"symbol":"XYZ","price":100.0},{"symbol":"XYZ","price":NaN},'
            b'{"symbol":"XYZ","price":-1},{"symbol":"NOPE","price":1},'
            b'{"symbol":"XYZ","bid":101,"ask":100},{"symbol":"XYZ","price":1e400}]')
    r = client.post("/v1/ticks", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == 1
    assert [x["index"] for x in out["rejected"]] == [1, 2, 3, 4, 5]
    assert all(x["error"] for x in out["rejected"])
    assert "price" in out["rejected"][1]["error"]
    assert "NOPE" in out["rejected"][2]["error"]


def test_a_single_bad_tick_answers_422_naming_the_field_and_changes_nothing(client):
    load_book(client)
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
    for body in (b'{"symbol":"XYZ","price":NaN}', b'{"symbol":"XYZ","price":Infinity}',
                 b'{"symbol":"XYZ","price":0}', b'{"symbol":"XYZ","price":1,"extra":1}',
                 b'{"symbol":"XYZ","bid":2,"ask":1}',
                 b'{"symbol":"XYZ","price":90,"ts":"2000-01-01T00:00:00Z"}'):
        r = client.post("/v1/ticks", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["field"] in {"price", "extra", "bid", "ts", "body"}
    assert risk_of(client)["spot"] == 100.0
    r = client.post("/v1/ticks", json={"symbol": "NOPE", "price": 1.0})
    assert r.status_code == 404


def test_unknown_fields_and_unknown_underlyings(client):
    r = client.put("/v1/underlyings/XYZ", json={"vol": 0.2, "volatility": 0.3})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "volatility"
    assert client.put("/v1/hedge/policies/NOPE", json={"mode": "band"}).status_code == 404
    assert client.get("/v1/risk/NOPE").status_code == 404
    assert client.post("/v1/hedge/signals/nope/cancel").status_code == 404
    r = client.put("/v1/underlyings/XYZ", json={"vol": 11})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "vol"


def test_positions_load_is_all_or_nothing(client):
    load_book(client)
    r = client.put("/v1/positions", json=[{"symbol": "XYZ", "quantity": 5},
                                          {"symbol": "WEIRD-ID", "quantity": 1, "type": "call"}])
    assert r.status_code == 422
    assert [p["symbol"] for p in client.get("/v1/positions").json()] == [CALL]


def test_cancel_drops_the_pending_of_a_signal(client):
    load_book(client)
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
    [sig] = wait_for(lambda: client.get("/v1/hedge/signals").json())
    r = client.post(f"/v1/hedge/signals/{sig['id']}/cancel")
    assert r.status_code == 200 and r.json()["pending"] == 0
    assert risk_of(client)["pending"] == 0


def test_a_body_over_the_limit_gets_413():
    with make_client(max_body_bytes=1000) as c:
        r = c.post("/v1/ticks", content=b"[" + b" " * 2000 + b"]",
                   headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_api_keys_and_scopes():
    with make_client(api_keys="r1:read,t1:trade,a1:admin") as c:
        assert c.get("/v1/risk").status_code == 401
        assert c.get("/v1/risk", headers={"X-API-Key": "bad"}).status_code == 401
        assert c.get("/v1/risk", headers={"X-API-Key": "r1"}).status_code == 200
        assert c.post("/v1/ticks", json={"symbol": "X", "price": 1},
                      headers={"X-API-Key": "r1"}).status_code == 403
        r = c.put("/v1/underlyings/XYZ", json={"vol": 0.2}, headers={"X-API-Key": "t1"})
        assert r.status_code == 403
        r = c.put("/v1/underlyings/XYZ", json={"vol": 0.2}, headers={"X-API-Key": "a1"})
        assert r.status_code == 200
        assert c.get("/healthz").status_code == 200
        assert c.get("/metrics").status_code == 200


def test_health_ready_metrics(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    load_book(client)
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
    wait_for(lambda: client.get("/v1/hedge/signals").json())
    text = client.get("/metrics").text
    assert 'dynhedge_ticks_total{outcome="accepted"} 1.0' in text
    assert "dynhedge_recompute_seconds_bucket" in text


def test_the_quiet_metric_counts_each_decision_not_to_trade_by_reason(client):
    load_book(client, band=1e6)  # a band no delta reaches: every decision is "inside_band"
    for price in (100.0, 100.5, 101.0):
        client.post("/v1/ticks", json={"symbol": "XYZ", "price": price})
    def quiet() -> dict[str, int]:
        return dict(client.get("/v1/hedge/policies").json()["XYZ"]["state"]["quiet"])

    counts = wait_for(lambda: quiet().get("inside_band", 0) >= 3 and quiet())
    text = client.get("/metrics").text
    line = f'dynhedge_hedge_quiet_total{{reason="inside_band"}} {float(counts["inside_band"])}'
    assert line in text, [x for x in text.splitlines() if "quiet" in x]


def test_policies_view_shows_band_net_delta_and_why_quiet(client):
    load_book(client, band=1e9)
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
    view = wait_for(lambda: (p := client.get("/v1/hedge/policies").json()["XYZ"])["state"][
        "net_delta"] and p)
    assert view["mode"] == "band" and view["state"]["band"] == 1e9
    assert view["state"]["quiet"]["inside_band"] >= 1
    assert view["rebalance_to"] == "target"


def test_a_fill_dated_beyond_the_clock_skew_is_refused(client):
    load_book(client)
    r = client.post("/v1/fills", json={"exec_id": "T1", "symbol": "XYZ", "side": "buy",
                                       "quantity": 1, "price": 100, "ts": 1e12})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "ts"
    assert client.post("/v1/fills", json={"exec_id": "T1", "symbol": "XYZ", "side": "buy",
                                          "quantity": 1, "price": 100}).status_code == 200


def test_an_over_fill_of_a_signal_is_taken_into_the_position_and_flagged(client):
    load_book(client)
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
    [sig] = wait_for(lambda: client.get("/v1/hedge/signals").json())
    r = client.post("/v1/fills", json={"exec_id": "O1", "symbol": "XYZ", "side": sig["side"],
                                       "quantity": sig["quantity"] + 50, "price": 100,
                                       "signal_id": sig["id"]})
    assert r.status_code == 200 and r.json()["overfill"] is True
    # 50 shares over, whatever the rounding of the order: inside the 100-share band
    assert r.json()["position"]["quantity"] == sig["order_qty"] - 50
    assert risk_of(client)["pending"] == 0
    assert 'dynhedge_fills_total{outcome="overfill"} 1.0' in client.get("/metrics").text


def test_the_first_tick_after_a_put_spot_goes_through_the_fat_finger_filter(client):
    client.put("/v1/underlyings/XYZ", json={"rate": 0.0, "vol": 0.2, "spot": 100.0})
    assert client.post("/v1/ticks", json={"symbol": "XYZ", "price": 1.0}).status_code == 200
    assert client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.5}).status_code == 200
    view = wait_for(lambda: (v := client.get("/v1/risk/XYZ").json())["spot"] == 100.5 and v)
    assert view["spot"] == 100.5  # the print at 1.0 was held, then dropped; 100.5 applies
