"""POST /v1/hedge/options-plan: gamma and vega to targets at least cost; advisory only."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from app.pricing import greeks
from tests.api.conftest import T0, load_book, wait_for

C1 = "XYZ   270219C00095000"
C2 = "XYZ   271217C00110000"
C3 = "XYZ   270618P00100000"


def unit_greeks(client, symbols):
    positions = {p["symbol"]: p for p in client.get("/v1/positions").json()}
    del positions
    now = T0 + 1.0  # the tick's ts below
    out = []
    expiries = {"270219": 1803070800.0, "271217": 1828818000.0, "270618": 1813348800.0}
    for s in symbols:
        t = (expiries[s[6:12]] - now) / (365 * 86400)
        strike = int(s[-8:]) / 1000
        kind = "call" if s[12] == "C" else "put"
        g = greeks(kind, 100.0, strike, t, 0.2, 0.0)
        out.append((float(g["gamma"]) * 100, float(g["vega"]) * 0.01 * 100))
    return np.array(out).T  # rows gamma, vega per contract


@pytest.fixture
def book(client):
    load_book(client, band=1e9)
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0, "ts": T0 + 1.0})
    wait_for(lambda: client.get("/v1/risk/XYZ").json()["spot"] == 100.0)
    return client


def test_two_candidates_solve_the_2x2_system_exactly(book):
    before = book.get("/v1/risk/XYZ").json()
    r = book.post("/v1/hedge/options-plan", json={
        "underlying": "XYZ", "candidates": [{"symbol": C1}, {"symbol": C2}],
        "targets": {"gamma": 0.0, "vega": 0.0}})
    assert r.status_code == 200, r.text
    plan = r.json()
    a = unit_greeks(book, [C1, C2])
    x = np.linalg.solve(a, [-before["gamma"], -before["vega"]])
    got = [c["quantity"] for c in plan["candidates"]]
    assert got == pytest.approx(x, rel=1e-6, abs=1e-6)
    assert plan["method"] == "exact" and plan["exact"] is True
    assert plan["after"]["gamma"] == pytest.approx(0.0, abs=abs(a[0]).max())
    hedge = plan["share_hedge"]
    assert hedge["instrument"] == "XYZ"
    assert abs(hedge["net_delta_after"]) <= 0.5
    assert book.get("/v1/hedge/signals").json() == []  # advisory: nothing published


def test_three_candidates_pick_the_least_cost_exact_plan(book):
    before = book.get("/v1/risk/XYZ").json()
    quotes = [{"symbol": C1, "iv": 0.2, "bid": 1.0, "ask": 1.2},
              {"symbol": C2, "iv": 0.2, "bid": 1.0, "ask": 1.6},
              {"symbol": C3, "iv": 0.2, "bid": 1.0, "ask": 1.1}]
    r = book.post("/v1/hedge/options-plan", json={
        "underlying": "XYZ", "candidates": quotes, "targets": {"gamma": 0.0, "vega": 0.0}})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["method"] == "least_cost"
    a = unit_greeks(book, [C1, C2, C3])
    b = np.array([-before["gamma"], -before["vega"]])
    x = np.array([c["quantity"] for c in plan["candidates"]])
    assert a @ x == pytest.approx(b, rel=1e-6, abs=1e-6)
    half = np.array([0.1, 0.3, 0.05]) * 100
    cost = float(np.abs(x) @ half)
    for pair in itertools.combinations(range(3), 2):  # an LP optimum sits on a vertex
        sub = np.linalg.solve(a[:, pair], b)
        assert cost <= float(np.abs(sub) @ half[list(pair)]) * (1 + 1e-6)  # LP tolerance


def test_targets_out_of_reach_answer_422_with_the_reason(book):
    r = book.post("/v1/hedge/options-plan", json={
        "underlying": "XYZ", "candidates": [{"symbol": C1}, {"symbol": C2}],
        "targets": {"gamma": 0.0, "vega": 0.0}, "max_contracts": 1})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "max_contracts"
    r = book.post("/v1/hedge/options-plan", json={
        "underlying": "XYZ", "candidates": [{"symbol": C1}], "targets": {}})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "targets"


def test_one_candidate_for_two_targets_is_least_squares(book):
    r = book.post("/v1/hedge/options-plan", json={
        "underlying": "XYZ", "candidates": [{"symbol": C1}],
        "targets": {"gamma": 0.0, "vega": 0.0}})
    assert r.status_code == 200 and r.json()["method"] == "least_squares"
    assert r.json()["exact"] is False


def test_the_desk_posts_the_plan_as_a_manual_signal_set(book):
    plan = book.post("/v1/hedge/options-plan", json={
        "underlying": "XYZ", "candidates": [{"symbol": C1}, {"symbol": C2}],
        "targets": {"gamma": 0.0, "vega": 0.0}}).json()
    r = book.post("/v1/hedge/signals", json=plan["signals"])
    assert r.status_code == 200, r.text
    sent = r.json()
    assert [s["reason"] for s in sent] == ["manual"] * len(plan["signals"])
    got = wait_for(lambda: len(x := book.get("/v1/hedge/signals").json()) == len(sent) and x)
    assert [s["instrument"] for s in got] == [s["instrument"] for s in plan["signals"]]
    # only the share order counts as pending hedge units; option orders do not
    share = [s for s in plan["signals"] if s["instrument"] == "XYZ"]
    assert book.get("/v1/risk/XYZ").json()["pending"] == sum(s["order_qty"] for s in share)
