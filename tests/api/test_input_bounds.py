"""What the edge refuses so that nothing accepted can break a read or swell an order (issue 9,
points 14, 22 and 23): times outside their windows, quantities past HEDGE_MAX_QUANTITY, control
characters in ids and symbols, keys given twice, and the API key's place in the OpenAPI
document."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import CALL, make_client

JSON = {"content-type": "application/json"}
READS = ("/v1/positions", "/v1/risk", "/v1/risk/XYZ", "/v1/underlyings", "/v1/hedge/policies",
         "/v1/hedge/signals")


def fill(exec_id: str, **fields: Any) -> dict[str, Any]:
    return {"exec_id": exec_id, "symbol": "XYZ", "side": "buy", "quantity": 1, "price": 100.0,
            **fields}


def field_of(r: Any) -> str:
    return str(r.json()["detail"][0]["field"])


def names(r: Any, field: str) -> bool:
    """The 422's first error names `field` (at any depth: `0.expiry`, `hedge.lot_size`)."""
    named = field_of(r)
    return named == field or named.endswith(f".{field}")


def every_read_answers(c: TestClient) -> None:
    for path in READS:
        r = c.get(path)
        assert r.status_code == 200, f"GET {path}: {r.status_code} {r.text[:200]}"


# --- 14: times ------------------------------------------------------------------------------


def test_an_expiry_or_event_time_outside_its_window_is_refused_and_every_read_still_answers(
        client: TestClient):
    client.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0})
    far = "9999-12-31T23:00:00-12:00"  # year 10000 in UTC: no ISO string can say it
    option = {"symbol": "W1", "type": "call", "underlying": "XYZ", "strike": 100.0}
    refused = [
        ("PUT", "/v1/positions", [{"symbol": CALL, "quantity": 1, "expiry": 1e12}], "expiry"),
        ("PUT", "/v1/positions", [{**option, "quantity": 1, "expiry": far}], "expiry"),
        ("PUT", "/v1/positions", [{**option, "quantity": 1, "expiry": "2200-01-01"}], "expiry"),
        ("PUT", "/v1/positions", [{**option, "quantity": 1, "expiry": -1}], "expiry"),
        ("POST", "/v1/fills", fill("F1", symbol=CALL, expiry=far), "expiry"),
        ("POST", "/v1/fills", fill("F2", symbol=CALL, expiry=1e12), "expiry"),
        ("POST", "/v1/fills", fill("F3", ts=0), "ts"),
        ("POST", "/v1/fills", fill("F4", ts=far), "ts"),
        ("POST", "/v1/fills", fill("F5", ts="1999-12-31T23:59:59Z"), "ts"),
        ("POST", "/v1/ticks", {"symbol": "XYZ", "price": 100.0, "ts": 0}, "ts"),
        ("POST", "/v1/ticks", {"symbol": "XYZ", "price": 100.0, "ts": 946_684_799.0}, "ts"),
        ("POST", "/v1/ticks", {"symbol": "XYZ", "price": 100.0, "ts": far}, "ts"),
        ("POST", "/v1/ticks", {"symbol": "XYZ", "price": 100.0,
                               "ts": "0001-01-01T00:00:00+01:00"}, "ts"),
    ]
    wrong = []
    for method, path, body, field in refused:
        r = client.request(method, path, json=body)
        if r.status_code != 422 or not names(r, field):
            wrong.append(f"{method} {path} {json.dumps(body)}: {r.status_code} {r.text[:160]}")
    assert not wrong, "accepted or not named:\n" + "\n".join(wrong)
    assert client.get("/v1/positions").json() == []
    every_read_answers(client)


def test_the_edges_of_the_windows_are_accepted_and_read_back(client: TestClient):
    client.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0})
    last_day = {"symbol": "W1", "type": "call", "underlying": "XYZ", "strike": 100.0,
                "expiry": "2199-12-31", "quantity": 1}
    first_second = {"symbol": "W2", "type": "put", "underlying": "XYZ", "strike": 100.0,
                    "expiry": 0, "quantity": 1}
    assert client.put("/v1/positions", json=[last_day, first_second]).status_code == 200
    r = client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0,
                                       "ts": "2000-01-01T00:00:00Z"})
    assert r.status_code == 200, r.text
    expiries = {p["symbol"]: p["expiry"] for p in client.get("/v1/positions").json()}
    assert expiries == {"W1": "2199-12-31T21:00:00.000000Z", "W2": "1970-01-01T00:00:00.000000Z"}
    every_read_answers(client)


# --- 23: quantities -------------------------------------------------------------------------


def test_quantities_past_hedge_max_quantity_are_refused_naming_the_field():
    with make_client(max_quantity=1_000) as c:
        assert c.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0}).status_code == 200
        refused = [
            ("POST", "/v1/fills", fill("Q1", quantity=1_001), "quantity"),
            ("PUT", "/v1/positions", [{"symbol": "XYZ", "quantity": -1_001}], "quantity"),
            ("POST", "/v1/hedge/signals", {"underlying": "XYZ", "order_qty": -1_001},
             "order_qty"),
            ("PUT", "/v1/hedge/policies/XYZ", {"mode": "band", "max_order": 1_001},
             "max_order"),
            ("PUT", "/v1/hedge/policies/XYZ", {"mode": "band", "min_order": 1_001},
             "min_order"),
            ("PUT", "/v1/hedge/policies/XYZ", {"mode": "band", "max_position": 1e15},
             "max_position"),
            ("PUT", "/v1/underlyings/XYZ", {"vol": 0.2, "hedge": {"lot_size": 1_001}},
             "lot_size"),
            ("PUT", "/v1/positions/reconcile", [{"symbol": "XYZ", "quantity": 1e15}],
             "quantity"),
        ]
        wrong = []
        for method, path, body, field in refused:
            r = c.request(method, path, json=body)
            if r.status_code != 422 or not names(r, field):
                wrong.append(f"{method} {path}: {r.status_code} {r.text[:160]}")
            elif "1000" not in r.json()["error"]:
                wrong.append(f"{method} {path}: the limit is not named: {r.text[:160]}")
        assert not wrong, "\n".join(wrong)
        assert c.get("/v1/hedge/signals").json() == []
        r = c.post("/v1/fills", json=fill("Q2", quantity=1_000))  # the limit itself is fine
        assert r.status_code == 200 and r.json()["position"]["quantity"] == 1_000


def test_no_hedge_order_is_larger_than_hedge_max_quantity_however_large_the_book():
    """1,000 calls (about 50,000 shares of delta) under a 1,000-unit maximum: the policy
    sends at most 1,000 shares at a time (clipped), the rest after each fill, as max_order."""
    with make_client(max_quantity=1_000) as c:
        assert c.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0}).status_code == 200
        assert c.put("/v1/positions", json=[{"symbol": CALL, "quantity": -1_000}]
                     ).status_code == 200
        r = c.put("/v1/hedge/policies/XYZ", json={"mode": "band", "band": 100.0})
        assert r.status_code == 200
        c.post("/v1/ticks", json=[{"symbol": "XYZ", "price": 100.0}])
        signals = c.get("/v1/hedge/signals").json()
        assert len(signals) == 1, signals
        assert signals[0]["quantity"] == 1_000 and signals[0]["side"] == "buy"
        assert c.get("/v1/risk/XYZ").json()["delta"] < -10_000  # far more was wanted


def test_the_default_maximum_quantity_is_a_billion_units(client: TestClient):
    client.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0})
    r = client.post("/v1/fills", json=fill("Q1", quantity=1e15))
    assert r.status_code == 422 and field_of(r) == "quantity", r.text
    r = client.post("/v1/hedge/signals", json={"underlying": "XYZ", "order_qty": -1e15})
    assert r.status_code == 422 and field_of(r) == "order_qty", r.text
    assert client.post("/v1/fills", json=fill("Q2", quantity=1e9)).status_code == 200


# --- 22: control characters -------------------------------------------------------------------


CONTROL = ["E\n2026-11-29 12:00:00,000 ERROR dynhedge forged", "E\x1b[31mred", "E\x85next",
           "E\x7f", "E\u202egnp.exe", "E\u2028line", "E\x00"]


@pytest.mark.parametrize("text", CONTROL, ids=ascii)
def test_a_control_or_format_character_in_an_id_or_symbol_is_refused(client: TestClient,
                                                                      text: str):
    client.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0})
    attempts = [
        ("POST", "/v1/fills", fill(text), "exec_id"),
        ("POST", "/v1/fills", fill("C1", signal_id=text), "signal_id"),
        ("POST", "/v1/fills", fill("C2", symbol=text), "symbol"),
        ("POST", "/v1/ticks", {"symbol": text, "price": 1.0}, "symbol"),
        ("PUT", "/v1/positions", [{"symbol": "W", "type": "call", "underlying": text,
                                   "strike": 1.0, "expiry": "2027-02-19", "quantity": 1}],
         "underlying"),
        ("POST", "/v1/hedge/signals", {"underlying": "XYZ", "order_qty": 1,
                                       "instrument": text}, "instrument"),
        ("POST", "/v1/hedge/halt", {"underlying": text}, "underlying"),
    ]
    quoted = "".join(f"%{b:02X}" for b in text.encode())
    paths = [("PUT", f"/v1/underlyings/{quoted}", {"vol": 0.2}, "symbol"),
             ("PUT", f"/v1/hedge/policies/{quoted}", {"mode": "off"}, "underlying"),
             ("GET", f"/v1/risk/{quoted}", None, "underlying"),
             ("POST", f"/v1/hedge/signals/{quoted}/cancel", None, "signal_id"),
             ("POST", f"/v1/fills/{quoted}/bust", None, "exec_id")]
    wrong = []
    for method, path, body, field in attempts + paths:
        r = client.request(method, path, json=body)
        if r.status_code != 422 or not names(r, field):
            wrong.append(f"{method} {path}: {r.status_code} {r.text[:160]}")
    assert not wrong, "\n".join(wrong)
    assert client.get("/v1/positions").json() == []
    assert client.get("/v1/hedge/signals").json() == []


# --- 23: keys given twice ----------------------------------------------------------------------


def test_a_key_given_twice_is_refused_naming_it_on_every_kind_of_route(client: TestClient):
    client.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0})
    cases = [
        ("POST", "/v1/ticks", b'{"symbol":"XYZ","price":101,"price":1}', "price"),
        ("POST", "/v1/ticks", b'[{"symbol":"XYZ","ts":"2026-01-01T00:00:00Z","price":101,'
                              b'"price":1}]', "price"),
        ("POST", "/v1/fills", b'{"exec_id":"D1","symbol":"XYZ","side":"buy","side":"sell",'
                              b'"quantity":1,"price":100}', "side"),
        ("PUT", "/v1/underlyings/XYZ", b'{"vol":0.2,"hedge":{"ratio":1,"ratio":2}}', "ratio"),
        ("PUT", "/v1/hedge/policies/XYZ", b'{"mode":"band","band":1,"band":1e6}', "band"),
        ("POST", "/v1/hedge/signals", b'{"underlying":"XYZ","order_qty":1,"order_qty":-1}',
         "order_qty"),
        ("POST", "/v1/hedge/halt", b'{"underlying":"XYZ","underlying":"NOPE"}', "underlying"),
    ]
    wrong = []
    for method, path, raw, key in cases:
        r = client.request(method, path, content=raw, headers=JSON)
        if r.status_code != 422 or field_of(r) != key or "twice" not in r.text:
            wrong.append(f"{method} {path}: {r.status_code} {r.text[:160]}")
    assert not wrong, "\n".join(wrong)
    assert client.get("/v1/positions").json() == []
    assert client.get("/v1/hedge/policies").json()["XYZ"]["state"]["halted"] is False


def test_a_key_given_twice_on_the_ingest_websocket_is_rejected_naming_it(client: TestClient):
    client.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0})
    with client.websocket_connect("/v1/ws/ingest") as ws:
        ws.send_text('{"type":"hello","ack":true}')
        assert ws.receive_json() == {"type": "hello", "ack": True}
        ws.send_text('[{"type":"fill","exec_id":"W1","symbol":"XYZ","side":"buy",'
                     '"quantity":5,"quantity":500,"price":100}]')
        answer = ws.receive_json()
        assert answer["type"] == "error" and answer["error"].startswith("quantity:"), answer
    assert client.get("/v1/positions").json() == []


# --- 23: the API key in the OpenAPI document ---------------------------------------------------


def test_the_openapi_document_declares_the_api_key_on_the_keyed_routes_only(
        client: TestClient):
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"] == {"ApiKey": {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": spec["components"]["securitySchemes"]["ApiKey"]["description"]}}
    wrong = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            security = op.get("security")
            keyed = path.startswith("/v1")
            if keyed and security != [{"ApiKey": []}]:
                wrong.append(f"{method.upper()} {path}: {security}")
            if not keyed and security:
                wrong.append(f"{method.upper()} {path} needs no key: {security}")
    assert not wrong, "\n".join(wrong)
    assert {"/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
