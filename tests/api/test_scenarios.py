"""POST /v1/risk/scenarios against a hand-written full revaluation (the reference
Black-Scholes formulas, not the service's kernels) for a small book: every preset, every
cell; the (0, 0, 0) cell is zero; nothing in the service's state changes."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.domain import expiry_from
from app.pricing.reference import greeks_reference
from tests.api.conftest import T0, make_client, wait_for

RATE, DIV, VOL = 0.03, 0.01, 0.25
CALL = {"symbol": "XYZ C100", "type": "call", "underlying": "XYZ", "strike": 100.0,
        "expiry": "2027-02-19", "quantity": 10}
PUT = {"symbol": "XYZ P90", "type": "put", "underlying": "XYZ", "strike": 90.0,
       "expiry": "2026-12-18", "quantity": -5}
STOCK = {"symbol": "XYZ", "type": "stock", "quantity": 200}


@pytest.fixture
def book() -> Any:
    with make_client() as c:
        r = c.put("/v1/underlyings/XYZ", json={"rate": RATE, "div_yield": DIV, "vol": VOL,
                                               "price_scan_pct": 12.0, "vol_scan": 0.05,
                                               "beta": 1.5})
        assert r.status_code == 200, r.text
        r = c.put("/v1/positions", json=[CALL, PUT, STOCK])
        assert r.status_code == 200, r.text
        r = c.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0, "ts": T0})
        assert r.status_code == 200, r.text
        wait_for(lambda: c.get("/v1/risk/XYZ").json()["spot"] == 100.0)  # recomputed
        yield c


def hand_pnl(spot_pct: float, vol: float, rate_bp: float, *, relative: bool,
             days: float = 0.0, beta: float = 1.0) -> float:
    """The book's P&L by the reference formulas: options at the new spot, vol, rate and
    time, minus today's; the stock by its move."""
    spot = 100.0 * (1 + beta * spot_pct / 100)
    total = 200 * (spot - 100.0)
    for o in (CALL, PUT):
        t0 = (expiry_from(o["expiry"]) - T0) / (365 * 86400)
        t1 = t0 - days / 365
        new_vol = VOL * (1 + vol) if relative else VOL + vol
        before = greeks_reference(o["type"] == "call", 100.0, o["strike"], t0, VOL, RATE, DIV)
        after = greeks_reference(o["type"] == "call", spot, o["strike"], t1, new_vol,
                                 RATE + rate_bp * 1e-4, DIV)
        total += o["quantity"] * 100 * float(after["price"] - before["price"])
    return total


def state(c: TestClient) -> list[Any]:
    return [c.get(p).json() for p in ("/v1/risk", "/v1/risk/XYZ", "/v1/positions",
                                      "/v1/underlyings", "/v1/hedge/policies")]


def test_a_custom_grid_is_the_hand_revaluation_and_changes_nothing(book: TestClient) -> None:
    before = state(book)
    spots, vols = [-20.0, -5.0, 0.0, 7.5, 25.0], [-0.1, 0.0, 0.08]
    r = book.post("/v1/risk/scenarios", json={"spot_moves_pct": spots, "vol_moves": vols,
                                              "vol_mode": "absolute", "days_forward": 3})
    assert r.status_code == 200, r.text
    ans = r.json()
    cells = ans["underlyings"]["XYZ"]["cells"]
    assert [(c["spot_move_pct"], c["vol_move"]) for c in cells] == list(
        itertools.product(spots, vols))
    for c in cells:
        want = hand_pnl(c["spot_move_pct"], c["vol_move"], 0, relative=False, days=3)
        assert c["pnl"] == pytest.approx(want, abs=1e-6 * 1e4), c
    assert [c["pnl"] for c in ans["total"]["cells"]] == [c["pnl"] for c in cells]
    worst = min(cells, key=lambda c: c["pnl"])
    assert ans["underlyings"]["XYZ"]["worst"] == worst
    assert ans["underlyings"]["XYZ"]["loss"] == pytest.approx(max(0.0, -worst["pnl"]))
    assert state(book) == before


def test_the_grid_preset_every_cell_and_the_zero_cell(book: TestClient) -> None:
    before = state(book)
    ans = book.post("/v1/risk/scenarios", json={"preset": "grid"}).json()
    cells = ans["underlyings"]["XYZ"]["cells"]
    assert len(cells) == 175 and ans["vol_mode"] == "relative"
    assert ans["axes"]["spot_moves_pct"] == [-30, -20, -10, 0, 10, 20, 30]
    for c in cells:
        want = hand_pnl(c["spot_move_pct"], c["vol_move"], c["rate_move_bp"], relative=True)
        assert c["pnl"] == pytest.approx(want, abs=1e-2), c
    zero = [c for c in cells if (c["spot_move_pct"], c["vol_move"], c["rate_move_bp"])
            == (0, 0, 0)]
    assert zero[0]["pnl"] == 0.0
    # the figures after: the unshocked cell's delta is the risk view's
    risk = book.get("/v1/risk/XYZ").json()
    assert zero[0]["delta"] == pytest.approx(risk["delta"], rel=1e-9)
    assert zero[0]["vega"] == pytest.approx(risk["vega"], rel=1e-9)
    assert state(book) == before


def test_pm_preset_and_beta_moves(book: TestClient) -> None:
    own = book.post("/v1/risk/scenarios", json={"preset": "pm"}).json()
    beta = book.post("/v1/risk/scenarios", json={"preset": "pm", "move": "beta"}).json()
    moves = [c["spot_move_pct"] for c in own["underlyings"]["XYZ"]["cells"]]
    assert moves == pytest.approx(list(np.linspace(-15, 15, 11)))
    for a, b in zip(own["underlyings"]["XYZ"]["cells"], beta["underlyings"]["XYZ"]["cells"],
                    strict=True):
        assert a["pnl"] == pytest.approx(hand_pnl(a["spot_move_pct"], 0, 0, relative=True),
                                         abs=1e-2)
        assert b["pnl"] == pytest.approx(
            hand_pnl(b["spot_move_pct"], 0, 0, relative=True, beta=1.5), abs=1e-2)


def test_span16_against_the_hand_revaluation(book: TestClient) -> None:
    ans = book.post("/v1/risk/scenarios", json={"preset": "span16"}).json()
    part = ans["underlyings"]["XYZ"]
    assert len(part["cells"]) == 16
    fractions = [0, 0, 1 / 3, 1 / 3, -1 / 3, -1 / 3, 2 / 3, 2 / 3, -2 / 3, -2 / 3, 1, 1, -1, -1,
                 2, -2]
    for c, f in zip(part["cells"], fractions, strict=True):
        extreme = abs(f) == 2
        assert c["spot_move_pct"] == pytest.approx(12.0 * f)
        assert c["vol_move"] == (0.0 if extreme else pytest.approx(0.05 * c["vol_move"] / 0.05))
        assert abs(c["vol_move"]) == (0.0 if extreme else pytest.approx(0.05))
        weight = 0.35 if extreme else 1.0
        want = weight * hand_pnl(12.0 * f, c["vol_move"], 0, relative=False)
        assert c["pnl"] == pytest.approx(want, abs=1e-2), c
    worst = min(c["pnl"] for c in part["cells"])
    assert part["span_risk"] == pytest.approx(max(0.0, -worst))
    assert ans["total"]["span_risk"] == pytest.approx(part["span_risk"])


def test_span16_of_a_long_future_is_the_scan_range() -> None:
    """2 futures × 50 at 1,000 with a 10 % price scan range: $10,000 — the thirds, the full
    range and the extreme 35 % of 2 ranges."""
    with make_client() as c:
        assert c.put("/v1/underlyings/ESU6", json={"vol": 0.2, "type": "future",
                                                   "price_scan_pct": 10.0}).status_code == 200
        r = c.put("/v1/positions", json=[{"symbol": "ESU6", "type": "future", "underlying":
                                          "ESU6", "multiplier": 50, "expiry": "2026-09-18",
                                          "quantity": 2}])
        assert r.status_code == 200, r.text
        c.post("/v1/ticks", json={"symbol": "ESU6", "price": 1000.0, "ts": T0})
        ans = c.post("/v1/risk/scenarios", json={"preset": "span16"}).json()
    pnl = [cell["pnl"] for cell in ans["underlyings"]["ESU6"]["cells"]]
    third = 10_000 / 3
    want = [0, 0, third, third, -third, -third, 2 * third, 2 * third, -2 * third, -2 * third,
            10_000, 10_000, -10_000, -10_000, 7_000, -7_000]
    assert pnl == pytest.approx(want, abs=1e-6)
    assert ans["underlyings"]["ESU6"]["span_risk"] == pytest.approx(10_000)
    assert ans["total"]["span_risk"] == pytest.approx(10_000)


def test_bad_requests_name_the_field(book: TestClient) -> None:
    r = book.post("/v1/risk/scenarios", json={"preset": "grid", "spot_moves_pct": [1]})
    assert r.status_code == 422 and "preset" in r.text
    r = book.post("/v1/risk/scenarios", content=b'{"spot_moves_pct": [NaN]}',
                  headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    r = book.post("/v1/risk/scenarios", json={"preset": "grid", "underlyings": ["NOPE"]})
    assert r.status_code == 404 and "NOPE" in r.text
    r = book.post("/v1/risk/scenarios", json={"spot_moves_pct": [-150]})
    assert r.status_code == 422 and "spot_moves_pct" in r.text
    r = book.post("/v1/risk/scenarios", json={"spot_moves_pct": list(range(100)),
                                              "vol_moves": [0.01 * i for i in range(60)]})
    assert r.status_code == 422 and "cells" in r.text


def test_an_underlying_without_a_spot_is_listed_unpriced() -> None:
    with make_client() as c:
        c.put("/v1/underlyings/ABC", json={"vol": 0.2})
        ans = c.post("/v1/risk/scenarios", json={"preset": "pm"}).json()
    assert ans["unpriced"] == {"ABC": "no spot"}
    assert ans["underlyings"] == {} and ans["total"]["cells"] == []


@pytest.mark.parametrize("style", ["european", "american"])
def test_a_spot_cell_is_what_the_risk_view_shows_after_that_tick(style: str) -> None:
    """The same pricing as the risk view (American rows included): the +5 % cell's P&L is
    the change of the positions' value once a tick moves spot there (same event time)."""
    with make_client() as c:
        assert c.put("/v1/underlyings/XYZ", json={"rate": RATE, "div_yield": DIV, "vol": VOL,
                                                   "option_style": style}).is_success
        assert c.put("/v1/positions", json=[CALL, PUT, STOCK]).is_success
        assert c.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0, "ts": T0}).is_success
        before = wait_for(lambda: (v := c.get("/v1/risk/XYZ").json())["spot"] == 100.0 and v)
        cell = c.post("/v1/risk/scenarios", json={"spot_moves_pct": [5.0]}).json()[
            "underlyings"]["XYZ"]["cells"][0]
        assert c.post("/v1/ticks", json={"symbol": "XYZ", "price": 105.0, "ts": T0}).is_success
        after = wait_for(lambda: (v := c.get("/v1/risk/XYZ").json())["spot"] == 105.0 and v)

    def value(view: dict[str, Any]) -> float:
        return sum(p["quantity"] * p["unit"]["price"] * (100 if p["symbol"] != "XYZ" else 1)
                   for p in view["positions"] if p["symbol"] != "XYZ") + 200 * view["spot"]

    assert {p["style"] for p in after["positions"] if "style" in p} == {style}
    assert cell["pnl"] == pytest.approx(value(after) - value(before), rel=1e-9, abs=1e-6)
    assert cell["delta"] == pytest.approx(after["delta"], rel=1e-6)


def test_a_convertible_is_revalued_by_its_pricer_in_each_cell() -> None:
    from tests.api.test_convertibles_api import BOND, direct

    with make_client() as c:
        assert c.put("/v1/underlyings/XYZ", json={"rate": 0.04, "div_yield": 0.01,
                                                   "vol": 0.3}).is_success
        assert c.put("/v1/positions", json=[{**BOND, "quantity": 10}]).is_success
        assert c.post("/v1/ticks", json={"symbol": "XYZ", "price": 110.0, "ts": T0}).is_success
        ans = c.post("/v1/risk/scenarios", json={"spot_moves_pct": [-10.0, 0.0, 10.0]}).json()
    cells = ans["underlyings"]["XYZ"]["cells"]
    assert cells[1]["pnl"] == 0.0
    base = direct(110.0, T0)["price"]
    for c_ in (cells[0], cells[2]):
        moved = direct(110.0 * (1 + c_["spot_move_pct"] / 100), T0)["price"]
        # the cached solve's grid serves a spot move (as on a tick): within 3e-4 of the price
        assert c_["pnl"] == pytest.approx(10 * (moved - base), abs=10 * base * 3e-4), c_
