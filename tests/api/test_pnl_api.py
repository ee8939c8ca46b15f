"""P&L through the service: marks, fills with fees, the attribution and the day's roll, each
figure checked against a calculation written out here."""

from __future__ import annotations

import time

import pytest

from app.domain import iso_utc, parse_occ
from app.domain.units import SECONDS_PER_YEAR
from app.pricing import greeks
from tests.api.conftest import CALL, make_client, now, wait_for

OPTION = parse_occ(CALL)
assert OPTION is not None and OPTION.expiry is not None and OPTION.strike is not None


def bs(spot: float, ts: float) -> dict[str, float]:
    """The call's figures per unit (raw units) at flat vol 0.2, no rate, no yield."""
    g = greeks(True, spot, OPTION.strike, (OPTION.expiry - ts) / SECONDS_PER_YEAR, 0.2, 0.0, 0.0)
    return {k: float(v) for k, v in g.items()}


def tick(c, price: float, ts: float) -> None:  # type: ignore[no-untyped-def]
    r = c.post("/v1/ticks", json={"symbol": "XYZ", "price": price, "ts": ts})
    assert r.status_code == 200, r.text
    wait_for(lambda: c.get("/v1/risk/XYZ").json()["spot"] == price)


def setup(c, positions: list[dict]) -> float:  # type: ignore[no-untyped-def,type-arg]
    t0 = now(c) - 300.0
    r = c.put("/v1/underlyings/XYZ", json={"rate": 0.0, "div_yield": 0.0, "vol": 0.2})
    assert r.status_code == 200, r.text
    tick(c, 100.0, t0)
    r = c.put("/v1/positions", json=positions)
    assert r.status_code == 200, r.text
    return t0


def test_a_book_with_no_moves_and_no_trades_makes_nothing():
    with make_client() as c:
        t0 = setup(c, [{"symbol": CALL, "quantity": 10}, {"symbol": "XYZ", "quantity": -300}])
        body = c.get("/v1/pnl").json()
        u = body["underlyings"]["XYZ"]
        assert u["pnl"] == 0.0 and u["options"] == 0.0 and u["hedge"] == 0.0
        assert body["total"]["pnl"] == 0.0
        rows = {p["symbol"]: p for p in c.get("/v1/pnl/XYZ").json()["positions"]}
        # no mark given: the model value at the load is the mark, the spot for the stock
        assert rows[CALL]["mark"] == pytest.approx(bs(100.0, t0)["price"], rel=1e-9)
        assert rows["XYZ"]["mark"] == 100.0 and rows["XYZ"]["kind"] == "hedge"


def test_option_and_hedge_fills_through_a_spot_move_hand_computed():
    with make_client() as c:
        t0 = setup(c, [])
        v0 = bs(100.0, t0)
        price = v0["price"] - 0.05  # bought 5 cents below theo
        r = c.post("/v1/fills", json={"exec_id": "o1", "symbol": CALL, "side": "buy",
                                      "quantity": 10, "price": price, "fee": 7.5})
        assert r.status_code == 200, r.text
        r = c.post("/v1/fills", json={"exec_id": "h1", "symbol": "XYZ", "side": "sell",
                                      "quantity": 500, "price": 99.98, "fee": 1.0})
        assert r.status_code == 200, r.text
        t1 = t0 + 60.0
        tick(c, 101.0, t1)
        v1 = bs(101.0, t1)
        u = c.get("/v1/pnl/XYZ").json()

        options = (v1["price"] - price) * 10 * 100 - 7.5
        hedge = (99.98 - 101.0) * 500 - 1.0
        assert u["options"] == pytest.approx(options, rel=1e-9)
        assert u["hedge"] == pytest.approx(hedge, rel=1e-9)
        assert u["pnl"] == pytest.approx(options + hedge, rel=1e-9)
        assert u["fees"] == pytest.approx(8.5)
        assert u["realized"] == 0.0
        assert u["trade_edge"] == pytest.approx(0.05 * 10 * 100, rel=1e-6)
        assert u["hedge_slippage"] == 0.0  # no signal: nothing to measure against

        # predict: the Greeks at the fill times the moves; with unexplained, the revaluation
        a = u["attribution"]
        w = 10 * 100
        assert a["delta"] == pytest.approx(v0["delta"] * 1.0 * w, rel=1e-9)
        assert a["gamma"] == pytest.approx(0.5 * v0["gamma"] * 1.0 * w, rel=1e-9)
        assert a["theta"] == pytest.approx(v0["theta"] * 60.0 / SECONDS_PER_YEAR * w, rel=1e-9)
        assert a["vega"] == 0.0 and a["rho"] == 0.0 and a["vanna"] == 0.0
        revaluation = (v1["price"] - v0["price"]) * w
        assert u["revaluation"] == pytest.approx(revaluation, rel=1e-9)
        assert sum(a.values()) == pytest.approx(revaluation, rel=1e-12)
        assert abs(a["unexplained"]) < 1e-3 * abs(revaluation)
        # the options' P&L = revaluation + trade edge − fees, nothing left over
        assert u["residual"] == pytest.approx(0.0, abs=1e-6)
        assert u["options"] == pytest.approx(revaluation + u["trade_edge"] - 7.5, rel=1e-9)

        # the risk view carries the same P&L, and the total sums the underlyings
        risk = c.get("/v1/risk").json()
        assert risk["underlyings"]["XYZ"]["pnl"] == pytest.approx(u["pnl"], rel=1e-12)
        assert risk["total"]["pnl"] == pytest.approx(u["pnl"], rel=1e-12)
        total = c.get("/v1/pnl").json()["total"]
        assert total["pnl"] == pytest.approx(u["pnl"], rel=1e-12)
        assert total["options"] == pytest.approx(options, rel=1e-9)
        rows = c.get("/v1/pnl/XYZ").json()["positions"]
        assert sum(p["pnl"] for p in rows) == pytest.approx(u["pnl"], rel=1e-12)


def test_a_mark_given_at_the_load_is_the_start_and_a_round_trip_costs_its_fees():
    with make_client() as c:
        t0 = setup(c, [{"symbol": CALL, "quantity": 10, "mark": 9.0},
                       {"symbol": "XYZ", "quantity": 200, "mark": 99.0}])
        v = bs(100.0, t0)["price"]
        u = c.get("/v1/pnl/XYZ").json()
        assert u["options"] == pytest.approx((v - 9.0) * 1000, rel=1e-9)
        assert u["hedge"] == pytest.approx((100.0 - 99.0) * 200, rel=1e-12)
        for n, side in enumerate(("buy", "sell")):
            r = c.post("/v1/fills", json={"exec_id": f"rt{n}", "symbol": "XYZ", "side": side,
                                          "quantity": 50, "price": 100.5, "fee": 0.25})
            assert r.status_code == 200, r.text
        after = c.get("/v1/pnl/XYZ").json()
        assert after["hedge"] == pytest.approx(u["hedge"] - 0.5, rel=1e-12)
        # the sale closed at average cost (200 at 99, 50 at 100.5): realized written out
        avg = (200 * 99.0 + 50 * 100.5) / 250
        assert after["realized"] == pytest.approx((100.5 - avg) * 50, rel=1e-12)


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/v1/positions", [{"symbol": CALL, "quantity": 1, "mark": -1.0}], "0.mark"),
    ("/v1/positions", f'[{{"symbol": "{CALL}", "quantity": 1, "mark": 1e400}}]', "0.mark"),
    ("/v1/fills", {"exec_id": "f", "symbol": "XYZ", "side": "buy", "quantity": 1,
                   "price": 100.0, "fee": -0.01}, "fee"),
    ("/v1/fills", '{"exec_id": "f", "symbol": "XYZ", "side": "buy", "quantity": 1, '
                  '"price": 100.0, "fee": Infinity}', "fee"),
    ("/v1/underlyings/XYZ", {"vol": 0.2, "mark_source": "close"}, "mark_source"),
])
def test_bad_marks_and_fees_are_422_naming_the_field_and_change_nothing(path, body, field):
    with make_client() as c:
        setup(c, [{"symbol": CALL, "quantity": 10}])
        before = c.get("/v1/pnl").json()
        send = c.put if path != "/v1/fills" else c.post
        if isinstance(body, str):
            r = send(path, content=body, headers={"content-type": "application/json"})
        else:
            r = send(path, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["field"] == field
        assert c.get("/v1/pnl").json() == before


def test_an_unknown_underlying_is_404():
    with make_client() as c:
        assert c.get("/v1/pnl/NOPE").status_code == 404


def test_the_roll_closes_the_day_and_everything_survives_a_restart(tmp_path):
    db = str(tmp_path / "j.db")
    with make_client(db_path=db) as c:
        t0 = setup(c, [{"symbol": CALL, "quantity": 10, "mark": 9.0}])
        r = c.post("/v1/fills", json={"exec_id": "o1", "symbol": CALL, "side": "sell",
                                      "quantity": 4, "price": 10.0, "fee": 2.0})
        assert r.status_code == 200, r.text
        tick(c, 102.0, t0 + 30.0)
        before = c.get("/v1/pnl/XYZ").json()
        assert before["realized"] == pytest.approx((10.0 - 9.0) * 4 * 100)
    with make_client(db_path=db) as c:
        wait_for(lambda: c.get("/v1/risk/XYZ").json()["spot"] == 102.0)
        again = c.get("/v1/pnl/XYZ").json()
        for k in ("pnl", "options", "fees", "realized", "unrealized", "trade_edge",
                  "revaluation", "attribution", "effectiveness"):
            assert again[k] == before[k], k
        closed = c.post("/v1/pnl/roll")
        assert closed.status_code == 200, closed.text
        assert closed.json()["underlyings"]["XYZ"]["pnl"] == pytest.approx(before["pnl"])
        fresh = c.get("/v1/pnl/XYZ").json()
        assert fresh["pnl"] == 0.0 and fresh["fees"] == 0.0 and fresh["realized"] == 0.0
        rows = fresh["positions"]
        assert rows[0]["mark"] == pytest.approx(bs(102.0, t0 + 30.0)["price"], rel=1e-9)
        assert rows[0]["quantity"] == 6.0
    with make_client(db_path=db) as c:
        wait_for(lambda: c.get("/v1/risk/XYZ").json()["spot"] == 102.0)
        assert c.get("/v1/pnl/XYZ").json()["pnl"] == 0.0
        history = c.get("/v1/pnl/history", params={"days": 5}).json()
        assert len(history) == 1
        assert history[0]["underlyings"]["XYZ"]["pnl"] == pytest.approx(before["pnl"])
        assert history[0]["day_end"] is not None


def test_marks_left_to_the_model_come_back_from_the_journal_not_the_replayed_market(tmp_path):
    db = str(tmp_path / "j.db")
    with make_client(db_path=db) as c:
        t0 = setup(c, [{"symbol": CALL, "quantity": 10}])
        mark = c.get("/v1/pnl/XYZ").json()["positions"][0]["mark"]
        tick(c, 104.0, t0 + 10.0)
        pnl = c.get("/v1/pnl/XYZ").json()["pnl"]
        assert pnl == pytest.approx((bs(104.0, t0 + 10.0)["price"] - mark) * 1000, rel=1e-9)
    with make_client(db_path=db) as c:
        wait_for(lambda: c.get("/v1/risk/XYZ").json()["spot"] == 104.0)
        u = c.get("/v1/pnl/XYZ").json()
        assert u["positions"][0]["mark"] == mark
        assert u["pnl"] == pnl


def test_explain_steps_sum_to_the_revaluation_through_spot_vol_and_time_moves():
    with make_client() as c:
        t0 = setup(c, [{"symbol": CALL, "quantity": 10}, {"symbol": "XYZ", "quantity": -500}])
        path = [(101.0, 20.0), (99.5, 50.0), (100.7, 130.0)]  # crosses a minute: a closed
        for spot, dt in path:                                  # interval and an open one
            tick(c, spot, t0 + dt)
        r = c.post("/v1/ticks", json={"symbol": CALL, "iv": 0.23, "ts": t0 + 140.0})
        assert r.status_code == 200, r.text
        wait_for(lambda: c.get("/v1/risk/XYZ").json()["positions"][0]["iv"] == 0.23)
        u = c.get("/v1/pnl/XYZ").json()
        steps = u["explain"]
        mark = next(p["mark"] for p in u["positions"] if p["symbol"] == CALL)
        value = bs(100.7, t0 + 130.0)  # valued at the underlying's last tick, not the option's
        g = greeks(True, 100.7, OPTION.strike, (OPTION.expiry - t0 - 130.0) / SECONDS_PER_YEAR,
                   0.23, 0.0, 0.0)
        change = (float(g["price"]) - mark) * 1000
        assert u["options"] == pytest.approx(change, rel=1e-9)
        assert u["revaluation"] == pytest.approx(change, rel=1e-9)
        assert sum(steps.values()) == pytest.approx(u["revaluation"], rel=1e-9)
        assert sum(u["attribution"].values()) == pytest.approx(u["revaluation"], rel=1e-12)
        assert steps["vol"] == pytest.approx((float(g["price"]) - value["price"]) * 1000,
                                             rel=1e-9)
        assert steps["rate"] == 0.0 and steps["time"] < 0 < u["attribution"]["vega"]
        assert u["explain_revaluation"] == u["revaluation"]
        # the book view explains up to the last closed interval, and says where that is
        whole = c.get("/v1/pnl").json()["underlyings"]["XYZ"]
        assert whole["explain_to"] is not None and whole["explain_to"] <= u["as_of"]
        assert sum(whole["explain"].values()) == pytest.approx(whole["explain_revaluation"],
                                                               rel=1e-9)
        assert abs(whole["explain_revaluation"]) > 0 and whole["revaluation"] == u["revaluation"]
        # the hedge: −500 shares through 100 → 100.7
        assert u["hedge"] == pytest.approx(-500 * 0.7, rel=1e-9)
        assert u["hedge_move"] == pytest.approx(-500 * 0.7, rel=1e-9)


def test_metrics_carry_the_pnl_and_its_attribution():
    with make_client() as c:
        t0 = setup(c, [{"symbol": CALL, "quantity": 10, "mark": 9.0}])
        tick(c, 101.0, t0 + 10.0)
        u = c.get("/v1/pnl/XYZ").json()
        text = c.get("/metrics").text
        line = next(x for x in text.splitlines()
                    if x.startswith('dynhedge_pnl_dollars{part="pnl",underlying="XYZ"}'))
        assert float(line.split()[-1]) == pytest.approx(u["pnl"], rel=1e-12)
        line = next(x for x in text.splitlines() if x.startswith(
            'dynhedge_pnl_attribution_dollars{term="delta",underlying="XYZ"}'))
        assert float(line.split()[-1]) == pytest.approx(u["attribution"]["delta"], rel=1e-12)


def test_the_day_closes_by_itself_when_event_time_crosses_the_roll_time():
    probe = make_client()
    boundary = (int(now(probe)) // 60 - 2) * 60  # a whole minute, 2-3 minutes ago
    roll_at = time.strftime("%H:%M", time.gmtime(boundary))
    with make_client(pnl_roll_at=roll_at, pnl_roll_tz="UTC") as c:
        setup(c, [{"symbol": CALL, "quantity": 10, "mark": 9.0}])
        tick(c, 100.5, boundary - 30.0)
        before = c.get("/v1/pnl/XYZ").json()["pnl"]
        assert before != 0.0 and c.get("/v1/pnl/history").json() == []
        tick(c, 101.0, boundary + 5.0)
        history = wait_for(lambda: c.get("/v1/pnl/history").json(), timeout=5.0)
        assert len(history) == 1
        day = history[0]
        assert day["day_end"] == iso_utc(boundary + 5.0)
        assert day["underlyings"]["XYZ"]["pnl"] == pytest.approx(
            (bs(101.0, boundary + 5.0)["price"] - 9.0) * 1000, rel=1e-9)
        assert c.get("/v1/pnl/XYZ").json()["pnl"] == 0.0
        tick(c, 101.5, boundary + 20.0)  # the next roll is tomorrow: this one stays open
        assert len(c.get("/v1/pnl/history").json()) == 1
        assert c.get("/v1/pnl").json()["day_start"] == iso_utc(boundary + 5.0)


def test_a_roll_time_that_is_not_hh_mm_or_a_zone_that_does_not_exist_is_refused():
    from pydantic import ValidationError

    from app.settings import Settings

    for bad in ({"pnl_roll_at": "25:00"}, {"pnl_roll_at": "4pm"},
                {"pnl_roll_tz": "Mars/Olympus"}):
        with pytest.raises(ValidationError):
            Settings(**bad)  # type: ignore[arg-type]
    assert Settings(pnl_roll_at="").pnl_roll_at is None


def test_a_roll_while_fills_arrive_counts_each_fill_in_exactly_one_day():
    from concurrent.futures import ThreadPoolExecutor

    with make_client() as c:
        setup(c, [{"symbol": "XYZ", "quantity": 100, "mark": 100.0}])
        fees = [0.01 * (i + 1) for i in range(40)]

        def fill(i: int) -> None:
            r = c.post("/v1/fills", json={"exec_id": f"c{i}", "symbol": "XYZ", "side": "buy",
                                          "quantity": 1, "price": 100.0, "fee": fees[i]})
            assert r.status_code == 200, r.text

        with ThreadPoolExecutor(4) as pool:
            done = [pool.submit(fill, i) for i in range(20)]
            assert c.post("/v1/pnl/roll").status_code == 200
            done += [pool.submit(fill, i) for i in range(20, 40)]
            for f in done:
                f.result()
        closed = c.get("/v1/pnl/history").json()[0]["underlyings"]["XYZ"]["fees"]
        today = c.get("/v1/pnl/XYZ").json()
        assert closed + today["fees"] == pytest.approx(sum(fees), rel=1e-12)
        assert today["fees"] >= sum(fees[20:]) - 1e-12  # those came after the roll
        assert today["positions"][0]["quantity"] == 140.0


def test_a_hedge_fill_of_a_signal_measures_its_slippage_against_the_signal_spot():
    with make_client() as c:
        setup(c, [{"symbol": CALL, "quantity": 100}])
        r = c.put("/v1/hedge/policies/XYZ", json={"mode": "band", "band": 100.0})
        assert r.status_code == 200, r.text
        sig = wait_for(lambda: c.get("/v1/hedge/signals").json())[0]
        spot = sig["spot"]
        assert sig["side"] == "sell" and spot == 100.0
        price = spot - 0.03  # sold 3 cents below the signal's spot: paid
        r = c.post("/v1/fills", json={"exec_id": "h1", "symbol": "XYZ", "side": "sell",
                                      "quantity": sig["quantity"], "price": price,
                                      "signal_id": sig["id"], "fee": 2.0})
        assert r.status_code == 200, r.text
        u = c.get("/v1/pnl/XYZ").json()
        slip = (spot - price) * -sig["quantity"]
        assert slip < 0
        assert u["hedge_slippage"] == pytest.approx(slip, rel=1e-9)
        assert u["effectiveness"]["hedge_trades"] == 1
        assert u["effectiveness"]["hedge_cost"] == pytest.approx(2.0 - slip, rel=1e-9)
        # valued at the spot, the hedge made exactly its slippage less the fee
        assert u["hedge"] == pytest.approx(slip - 2.0, rel=1e-9)


def test_a_stock_position_that_is_not_the_hedge_shows_as_stock():
    with make_client() as c:
        t0 = now(c) - 100.0
        r = c.put("/v1/underlyings/XYZ", json={"vol": 0.2, "hedge": {
            "instrument": "XYZF", "multiplier": 10}})
        assert r.status_code == 200, r.text
        tick(c, 50.0, t0)
        r = c.put("/v1/positions", json=[{"symbol": "XYZ", "quantity": 200, "mark": 49.5}])
        assert r.status_code == 200, r.text
        tick(c, 51.25, t0 + 10.0)
        u = c.get("/v1/pnl/XYZ").json()
        assert u["stock"] == pytest.approx((51.25 - 49.5) * 200, rel=1e-12)
        assert u["hedge"] == 0.0 and u["options"] == 0.0
        assert u["pnl"] == u["stock"] and u["positions"][0]["kind"] == "stock"
