"""The book follows its instrument definitions, whatever their order: futures, hedge
multipliers, unknown symbols, malformed OCC symbols, fills that contradict what is booked."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.pricing import greeks
from tests.api.conftest import CALL, T0, load_book, wait_for

YEAR_S = 365 * 86_400
FUTURE = {"symbol": "FQ", "type": "future", "multiplier": 50}
FQ_CALL = {"symbol": "FQ-C4000", "type": "call", "underlying": "FQ", "strike": 4000.0,
           "expiry": T0 + YEAR_S, "multiplier": 50}


def put_fq(c: TestClient, **extra: object) -> dict:
    r = c.put("/v1/underlyings/FQ", json={"rate": 0.05, "div_yield": 0.0, "vol": 0.2,
                                          "spot": 4000.0, **extra})
    return {"status": r.status_code, **r.json()}


def fq_unit(c: TestClient) -> dict:
    c.post("/v1/ticks", json={"symbol": "FQ", "price": 4000.0, "ts": T0})
    view = wait_for(lambda: (v := c.get("/v1/risk/FQ").json())["as_of"] and v)
    [row] = [p for p in view["positions"] if p["symbol"] == "FQ-C4000"]
    return row["unit"]


@pytest.mark.parametrize("order", ["underlying first", "book first"])
def test_options_on_a_future_are_black76_whatever_the_order_of_the_loads(client, order):
    if order == "underlying first":
        assert put_fq(client)["status"] == 200
    r = client.put("/v1/positions", json=[{**FUTURE, "quantity": 0}, {**FQ_CALL, "quantity": 1}])
    assert r.status_code == 200, r.text
    if order == "book first":
        assert put_fq(client)["status"] == 200
    black76 = greeks("call", 4000.0, 4000.0, 1.0, 0.2, 0.05, model="black76")
    bsm = greeks("call", 4000.0, 4000.0, 1.0, 0.2, 0.05)
    unit = fq_unit(client)
    assert unit["price"] == pytest.approx(float(black76["price"]), rel=1e-9)
    assert unit["price"] != pytest.approx(float(bsm["price"]), rel=1e-3)
    assert unit["delta"] == pytest.approx(float(black76["delta"]), rel=1e-9)
    # the same PUT again does not switch the model
    assert put_fq(client)["type"] == "future"
    assert fq_unit(client)["price"] == pytest.approx(float(black76["price"]), rel=1e-9)


def test_a_position_in_the_future_hedging_itself_counts_its_multiplier(client):
    put_fq(client)
    r = client.put("/v1/positions", json=[{**FUTURE, "quantity": 4}])
    assert r.status_code == 200, r.text
    client.post("/v1/ticks", json={"symbol": "FQ", "price": 4000.0, "ts": T0})
    view = wait_for(lambda: (v := client.get("/v1/risk/FQ").json())["as_of"] and v)
    assert view["hedge_position"] == 4 and view["delta"] == pytest.approx(200.0)
    client.put("/v1/hedge/policies/FQ", json={"mode": "band", "band": 10})
    client.post("/v1/ticks", json={"symbol": "FQ", "price": 4001.0, "ts": T0 + 1})
    [sig] = wait_for(lambda: client.get("/v1/hedge/signals").json())
    assert sig["instrument"] == "FQ" and sig["order_qty"] == -4  # 4 contracts, not 200


def test_a_hedge_multiplier_contradicting_the_defined_instrument_is_422(client):
    put_fq(client)
    client.put("/v1/positions", json=[{**FUTURE, "quantity": 1}])
    r = client.put("/v1/underlyings/FQ", json={"rate": 0.05, "vol": 0.2,
                                               "hedge": {"multiplier": 10}})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "hedge.multiplier"
    assert client.get("/v1/underlyings").json()["FQ"]["hedge"]["multiplier"] == 50
    # the other order: the PUT's explicit multiplier, then a book defining another one
    r = client.put("/v1/underlyings/FZ", json={"rate": 0.0, "vol": 0.2,
                                               "hedge": {"multiplier": 10}})
    assert r.status_code == 200
    r = client.put("/v1/positions", json=[{"symbol": "FZ", "type": "future",
                                           "multiplier": 50, "quantity": 1}])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "0.multiplier"
    assert client.get("/v1/positions").json()[0]["symbol"] == "FQ"  # nothing loaded


def test_a_bare_fill_for_an_unknown_symbol_is_404_and_books_nothing(client):
    load_book(client)
    r = client.post("/v1/fills", json={"exec_id": "U1", "symbol": "ZZZ-UNKNOWN-OPT",
                                       "side": "buy", "quantity": 1, "price": 1.0})
    assert r.status_code == 404
    assert {p["symbol"] for p in client.get("/v1/positions").json()} == {CALL}
    # a fill that defines its instrument is taken
    r = client.post("/v1/fills", json={"exec_id": "U2", "symbol": "XYZ   270618P00090000",
                                       "side": "buy", "quantity": 1, "price": 1.0})
    assert r.status_code == 200, r.text


def test_an_underlying_without_parameters_is_shown_unpriced_and_leaves_with_its_positions(
        client):
    load_book(client)
    r = client.put("/v1/positions", json=[{"symbol": CALL, "quantity": 100},
                                          {"symbol": "QQQ   270219C00400000", "quantity": 5}])
    assert r.status_code == 200
    view = wait_for(lambda: "QQQ" in (v := client.get("/v1/risk").json())["underlyings"] and v)
    qqq = view["underlyings"]["QQQ"]
    assert qqq["unpriced"] == "no market parameters" and qqq["delta"] is None
    assert view["underlyings"]["XYZ"]["unpriced"] in ("no spot", None)
    client.put("/v1/positions", json=[{"symbol": CALL, "quantity": 100}])
    wait_for(lambda: "QQQ" not in client.get("/v1/risk").json()["underlyings"])
    assert client.get("/v1/risk/QQQ").status_code == 404


def test_a_load_answers_each_hedge_position_before_and_after(client):
    load_book(client)
    client.post("/v1/fills", json={"exec_id": "H1", "symbol": "XYZ", "side": "sell",
                                   "quantity": 2278, "price": 100.0})
    r = client.put("/v1/positions", json=[{"symbol": CALL, "quantity": 100}])
    assert r.status_code == 200
    assert r.json() == {"loaded": 1, "hedges": {"XYZ": {"before": -2278.0, "after": 0.0}}}
    r = client.put("/v1/positions", json=[{"symbol": CALL, "quantity": 100},
                                          {"symbol": "XYZ", "quantity": -1000}])
    assert r.json()["hedges"] == {"XYZ": {"before": 0.0, "after": -1000.0}}


def test_a_fill_naming_another_instruments_signal_is_refused_and_changes_nothing(client):
    load_book(client)
    client.put("/v1/underlyings/ABC", json={"rate": 0.0, "vol": 0.2})
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0, "ts": T0})
    [sig] = wait_for(lambda: client.get("/v1/hedge/signals").json())
    pending = client.get("/v1/risk/XYZ").json()["pending"]
    r = client.post("/v1/fills", json={"exec_id": "X1", "symbol": "ABC", "side": sig["side"],
                                       "quantity": sig["quantity"], "price": 10.0,
                                       "signal_id": sig["id"]})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "signal_id"
    assert client.get("/v1/risk/XYZ").json()["pending"] == pending == sig["order_qty"]
    assert all(p["symbol"] != "ABC" for p in client.get("/v1/positions").json())


def test_a_fill_whose_fields_contradict_the_booked_instrument_is_refused(client):
    load_book(client)
    r = client.post("/v1/fills", json={"exec_id": "C1", "symbol": CALL, "side": "buy",
                                       "quantity": 1, "price": 5.0, "strike": 99.0})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "strike"
    r = client.post("/v1/fills", json={"exec_id": "C2", "symbol": CALL, "side": "buy",
                                       "quantity": 1, "price": 5.0, "strike": 98.0})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("symbol", ["XYZ   270219C00000000", "XYZ   271319C00100000",
                                    "XYZ   270232P00100000", "XYZ270231C00100000"])
def test_malformed_occ_symbols_are_refused_everywhere(client, symbol):
    load_book(client)
    r = client.put("/v1/positions", json=[{"symbol": symbol, "quantity": 1}])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "0.symbol", r.text
    r = client.post("/v1/fills", json={"exec_id": "M1", "symbol": symbol, "side": "buy",
                                       "quantity": 1, "price": 1.0})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "symbol", r.text
    r = client.post("/v1/ticks", json={"symbol": symbol, "iv": 0.2})
    assert r.status_code == 422, r.text
    assert {p["symbol"] for p in client.get("/v1/positions").json()} == {CALL}


def test_an_option_on_an_option_is_refused(client):
    load_book(client)
    r = client.put("/v1/positions", json=[
        {"symbol": CALL, "quantity": 1},
        {"symbol": "ODD", "type": "call", "underlying": CALL, "strike": 1.0,
         "expiry": "2027-01-15", "quantity": 1}])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "1.underlying", r.text
