"""Convertible bonds through the API (issue 16): load, tick, the risk view's figures, the hedge
signal they produce, fills that define a bond, bad input, a restart."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.domain.units import SECONDS_PER_YEAR
from app.pricing.convertible import ConvertibleTerms, convertible_figures
from tests.api.conftest import T0, make_client, wait_for

MATURITY = 1_875_038_400.0  # 2029-06-01 16:00 New York
CALL_FROM = 1_811_880_000.0  # 2027-06-01 16:00 New York
BOND = {"symbol": "XYZ 2% 2029 CB", "type": "convertible", "underlying": "XYZ",
        "conversion_ratio": 8.0, "maturity": "2029-06-01", "coupon_rate": 0.02,
        "coupon_frequency": 2, "credit_spread": 0.03,
        "call_schedule": [{"from": "2027-06-01", "to": "2029-06-01", "price": 1050.0}],
        "put_schedule": [{"date": "2028-06-01", "price": 1000.0}]}
PUT_DATE = 1_843_502_400.0  # 2028-06-01 16:00 New York


def setup(c: TestClient, quantity: float = 100.0, band: float = 10.0) -> None:
    r = c.put("/v1/underlyings/XYZ", json={"rate": 0.04, "div_yield": 0.01, "vol": 0.3})
    assert r.status_code == 200, r.text
    r = c.put("/v1/positions", json=[{**BOND, "quantity": quantity}])
    assert r.status_code == 200, r.text
    r = c.put("/v1/hedge/policies/XYZ", json={"mode": "band", "band": band})
    assert r.status_code == 200, r.text


def direct(spot: float, as_of: float) -> dict[str, float]:
    """The pricer on the same bond, its dates in years from `as_of`."""
    def years(ts: float) -> float:
        return (ts - as_of) / SECONDS_PER_YEAR

    terms = ConvertibleTerms(conversion_ratio=8.0, maturity=years(MATURITY), coupon_rate=0.02,
                             coupon_frequency=2, credit_spread=0.03,
                             call_schedule=((years(CALL_FROM), years(MATURITY), 1050.0),),
                             put_schedule=((years(PUT_DATE), 1000.0),))
    figs = convertible_figures(terms, spot, 0.3, 0.04, 0.01)
    return {k: float(v[0]) for k, v in figs.items()}


def test_a_convertible_is_valued_in_desk_units_and_its_delta_is_hedged(client):
    setup(client)
    ts = T0 + 1.0
    assert client.post("/v1/ticks", json={"symbol": "XYZ", "price": 110.0, "ts": ts}
                       ).status_code == 200
    view = wait_for(lambda: (v := client.get("/v1/risk/XYZ").json())["spot"] == 110.0 and v)
    [row] = view["positions"]
    d = direct(110.0, ts)
    assert row["symbol"] == BOND["symbol"] and row["type"] == "convertible"
    assert row["quantity"] == 100 and row["solve"] == "fresh"
    assert row["price"] == pytest.approx(d["price"], rel=1e-12)
    assert row["unit"]["delta"] == pytest.approx(d["delta"], rel=1e-12)
    assert row["delta"] == pytest.approx(100 * d["delta"], rel=1e-12)
    assert row["gamma"] == pytest.approx(100 * d["gamma"], rel=1e-12)
    assert row["vega"] == pytest.approx(100 * d["vega"] / 100, rel=1e-12)
    assert row["theta"] == pytest.approx(100 * d["theta"] / 365, rel=1e-12)
    assert row["rho"] == pytest.approx(100 * d["rho"] / 100, rel=1e-12)
    assert row["credit_spread_sensitivity"] == pytest.approx(
        100 * d["credit_spread_sensitivity"] * 1e-4, rel=1e-12)
    assert row["conversion_value"] == pytest.approx(8 * 110.0)
    assert row["bond_floor"] == pytest.approx(d["bond_floor"], rel=1e-12)
    assert row["conversion_premium"] == pytest.approx(row["price"] / 880.0 - 1.0, rel=1e-9)
    # the underlying's figures are the bonds' (no other position), in the same units
    for key in ("delta", "gamma", "vega", "theta", "rho"):
        assert view[key] == pytest.approx(row[key], rel=1e-12)
    # a long convertible is hedged by selling its delta in stock
    [sig] = wait_for(lambda: client.get("/v1/hedge/signals").json())
    assert sig["side"] == "sell" and sig["quantity"] == round(view["delta"])
    assert sig["net_delta_before"] == pytest.approx(view["delta"])


def test_positions_show_the_bonds_terms(client):
    setup(client)
    [p] = client.get("/v1/positions").json()
    assert p["type"] == "convertible" and p["quantity"] == 100 and p["multiplier"] == 1
    assert p["conversion_ratio"] == 8 and p["face"] == 1000 and p["credit_spread"] == 0.03
    assert p["maturity"].startswith("2029-06-01T20:00:00")
    assert p["call_schedule"] == [{"from": "2027-06-01T20:00:00.000000Z",
                                   "to": "2029-06-01T20:00:00.000000Z", "price": 1050.0,
                                   "trigger": 0.0}]
    assert p["put_schedule"] == [{"date": "2028-06-01T20:00:00.000000Z", "price": 1000.0}]


def test_a_fill_defines_a_convertible_and_adds_its_delta(client):
    setup(client)
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0, "ts": T0 + 1.0})
    before = wait_for(lambda: (v := client.get("/v1/risk/XYZ").json())["spot"] and v)
    other = {**BOND, "symbol": "XYZ 0% 2028 CB", "maturity": "2028-12-01", "coupon_rate": 0.0,
             "call_schedule": [], "put_schedule": []}
    fill = {**other, "exec_id": "CB-1", "side": "buy", "quantity": 50, "price": 990.0}
    r = client.post("/v1/fills", json=fill)
    assert r.status_code == 200, r.text
    after = client.get("/v1/risk/XYZ").json()
    rows = {row["symbol"]: row for row in after["positions"]}
    assert rows["XYZ 0% 2028 CB"]["quantity"] == 50
    assert after["delta"] == pytest.approx(before["delta"] + rows["XYZ 0% 2028 CB"]["delta"])
    # the fields a later fill gives must agree with the booked bond
    again = client.post("/v1/fills", json={**fill, "exec_id": "CB-2", "conversion_ratio": 9})
    assert again.status_code == 422 and again.json()["detail"][0]["field"] == "conversion_ratio"


@pytest.mark.parametrize(("change", "field"), [
    ({"conversion_ratio": None}, "0.conversion_ratio"),
    ({"maturity": None}, "0.maturity"),
    ({"credit_spread": -0.01}, "0.credit_spread"),
    ({"call_schedule": [{"from": "2027-06-01", "to": "2028-06-01", "price": 1000.0},
                        {"from": "2028-01-01", "to": "2029-01-01", "price": 1000.0}]},
     "0.call_schedule.1"),
    ({"put_schedule": [{"date": "2029-07-01", "price": 1000.0}]}, "0.put_schedule.0.date"),
    ({"call_schedule": [{"from": "2027-06-01", "to": "2029-07-01", "price": 1000.0}]},
     "0.call_schedule.0.to"),
    ({"underlying": None}, "0.underlying"),
    ({"strike": 100.0}, "0.strike"),
])
def test_a_bad_convertible_is_422_naming_the_field_and_nothing_is_stored(client, change, field):
    setup(client)
    before = client.get("/v1/positions").json()
    bad = {k: v for k, v in {**BOND, "symbol": "BAD", **change}.items() if v is not None}
    r = client.put("/v1/positions", json=[{**bad, "quantity": 1}])
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == field
    assert client.get("/v1/positions").json() == before
    fill = {**bad, "exec_id": "X1", "side": "buy", "quantity": 1, "price": 1000.0}
    r = client.post("/v1/fills", json=fill)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == field.removeprefix("0.")
    assert client.get("/v1/positions").json() == before


def test_convertible_fields_on_another_instrument_are_refused(client):
    setup(client)
    r = client.put("/v1/positions", json=[{"symbol": "XYZ", "quantity": 1,
                                          "conversion_ratio": 8.0}])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "0.conversion_ratio"


def test_a_convertible_takes_no_ticks(client):
    setup(client)
    r = client.post("/v1/ticks", json={"symbol": BOND["symbol"], "price": 1000.0})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "symbol"


@pytest.mark.parametrize("snapshot_every", [10_000, 1])
def test_a_restart_restores_the_convertibles(tmp_path: Path, snapshot_every: int):
    db = str(tmp_path / "journal.db")
    fill = {**BOND, "symbol": "CB2", "exec_id": "F-CB2", "side": "buy", "quantity": 5,
            "price": 1000.0}
    with make_client(db_path=db, snapshot_every=snapshot_every) as c:
        setup(c)
        assert c.post("/v1/fills", json=fill).status_code == 200
        positions = c.get("/v1/positions").json()
        c.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0, "ts": T0 + 1.0})
        before = wait_for(lambda: (v := c.get("/v1/risk/XYZ").json())["spot"] and v)
    with make_client(db_path=db, snapshot_every=snapshot_every) as c:
        assert c.get("/v1/positions").json() == positions
        after = c.get("/v1/risk/XYZ").json()
        assert [r["symbol"] for r in after["positions"]] == [
            r["symbol"] for r in before["positions"]]
        assert after["delta"] == pytest.approx(before["delta"], rel=1e-12)


def test_bonds_a_tick_left_stale_are_re_solved_off_the_tick(client):
    r = client.put("/v1/underlyings/XYZ", json={"rate": 0.04, "vol": 0.3, "spot": 100.0,
                                               "max_jump_pct": 50.0})
    assert r.status_code == 200
    bonds = [{**BOND, "symbol": f"CB{i}", "quantity": 10.0, "conversion_ratio": 7.0 + i}
             for i in range(4)]
    assert client.put("/v1/positions", json=bonds).status_code == 200
    first = client.get("/v1/risk/XYZ").json()
    assert {row["solve"] for row in first["positions"]} == {"fresh"}
    # 30 % up: every solve's band is left; one bond is re-solved in the tick's recompute,
    # the runner re-solves the others while no tick waits, and publishes the figures
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 130.0})
    view = wait_for(lambda: (v := client.get("/v1/risk/XYZ").json())["spot"] == 130.0
                    and {row["solve"] for row in v["positions"]} == {"fresh"} and v)
    as_of = client.get("/v1/underlyings").json()["XYZ"]["as_of"]
    assert view["as_of"] == as_of
