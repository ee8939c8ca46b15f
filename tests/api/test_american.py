"""American exercise and cash dividends end to end: the underlying's option_style, a
position's own style, dividends on PUT /v1/underlyings, the risk view, the hedge signal and
American implied vols from quotes."""

from __future__ import annotations

import pytest

from app.pricing import greeks, implied_vol
from tests.api.conftest import T0, wait_for

YEAR_S = 365 * 86_400
PUT = "XYZ   270219P00120000"  # deep in the money at 100
EXPIRY = 1_803_070_800.0  # 2027-02-19 16:00 New York


def setup(c, **market) -> None:
    body = {"rate": 0.05, "div_yield": 0.0, "vol": 0.3, "option_style": "american", **market}
    assert c.put("/v1/underlyings/XYZ", json=body).status_code == 200


def risk_row(c, symbol: str) -> dict:
    c.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0, "ts": T0})
    view = wait_for(lambda: (v := c.get("/v1/risk/XYZ").json())["as_of"] and v)
    return next(p for p in view["positions"] if p["symbol"] == symbol)


def test_an_occ_option_on_an_american_underlying_is_priced_american_end_to_end(client):
    setup(client)
    client.put("/v1/positions", json=[{"symbol": PUT, "quantity": 10}])
    row = risk_row(client, PUT)
    t = (EXPIRY - T0) / YEAR_S
    am = greeks("put", 100.0, 120.0, t, 0.3, 0.05, style="american")
    eu = greeks("put", 100.0, 120.0, t, 0.3, 0.05)
    assert row["style"] == "american"
    assert row["unit"]["price"] == pytest.approx(float(am["price"]), abs=1e-6)
    assert row["unit"]["delta"] == pytest.approx(float(am["delta"]), abs=1e-6)
    assert row["unit"]["early_exercise_premium"] == pytest.approx(
        float(am["price"] - eu["price"]), abs=1e-6)
    assert row["early_exercise_premium"] == pytest.approx(
        row["unit"]["early_exercise_premium"] * 1_000, rel=1e-9)
    assert float(am["price"]) > float(eu["price"])
    assert client.get("/v1/positions").json()[0]["style"] == "american"
    # the hedge engine trades the American delta
    client.put("/v1/hedge/policies/XYZ", json={"mode": "band", "band": 1})
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0, "ts": T0 + 1})
    [sig] = wait_for(lambda: client.get("/v1/hedge/signals").json())
    assert sig["order_qty"] == -round(float(am["delta"]) * 1_000)


def test_a_positions_own_style_wins_over_the_underlyings(client):
    setup(client)
    client.put("/v1/positions", json=[{"symbol": PUT, "quantity": 10, "style": "european"}])
    row = risk_row(client, PUT)
    assert row["style"] == "european" and row["early_exercise_premium"] == 0.0


def test_cash_dividends_are_shown_and_price_an_american_call_before_its_ex_date(client):
    ex_day = "2026-09-15"  # 00:00 New York
    ex_ts = 1_789_444_800.0
    setup(client, dividends=[{"ex_date": ex_day, "amount": 3.0}])
    under = client.get("/v1/underlyings").json()["XYZ"]
    assert under["option_style"] == "american"
    assert under["dividends"] == [{"ex_date": "2026-09-15T04:00:00.000000Z", "amount": 3.0}]
    call = "XYZ   270219C00090000"
    client.put("/v1/positions", json=[{"symbol": call, "quantity": 1}])
    row = risk_row(client, call)
    t = (EXPIRY - T0) / YEAR_S
    want = greeks("call", 100.0, 90.0, t, 0.3, 0.05, style="american",
                  dividends=[((ex_ts - T0) / YEAR_S, 3.0)])
    assert row["unit"]["price"] == pytest.approx(float(want["price"]), abs=2e-4 * 90)
    assert row["unit"]["early_exercise_premium"] >= 0.0


@pytest.mark.parametrize("amount", [-1.0, float("nan")])
def test_a_bad_dividend_is_422_and_changes_nothing(client, amount):
    setup(client)
    r = client.put("/v1/underlyings/XYZ", content=(
        b'{"vol": 0.3, "dividends": [{"ex_date": "2026-09-15", "amount": %s}]}'
        % str(amount).replace("nan", "NaN").encode()), headers={"content-type":
                                                               "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "dividends.0.amount"
    assert client.get("/v1/underlyings").json()["XYZ"]["dividends"] == []


def test_an_american_options_quote_implies_an_american_vol(client):
    setup(client)
    client.put("/v1/positions", json=[{"symbol": PUT, "quantity": 10}])
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0, "ts": T0})
    t = (EXPIRY - T0) / YEAR_S
    price = float(greeks("put", 100.0, 120.0, t, 0.42, 0.05, style="american")["price"])
    r = client.post("/v1/ticks", json={"symbol": PUT, "bid": price - 0.01, "ask": price + 0.01,
                                       "ts": T0})
    assert r.status_code == 200, r.text
    view = wait_for(lambda: (v := client.get("/v1/risk/XYZ").json())["positions"][0]["iv"]
                    != 0.3 and v)
    want = float(implied_vol("put", price, 100.0, 120.0, t, 0.05, style="american"))
    assert view["positions"][0]["iv"] == pytest.approx(want, abs=1e-6)
    assert view["positions"][0]["iv"] == pytest.approx(0.42, abs=1e-3)
