"""Limits that act (issue 14): each action fires at its level, is journaled and survives a
restart, and a breach clears only on acknowledgement with the value back inside."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import CALL, T0, load_book, make_client, wait_for


def setup(c: TestClient, band: float = 1e9) -> float:
    """XYZ with 100 calls at spot 100 (delta ≈ 6,000 shares); the band keeps the policy
    quiet. Returns the delta."""
    load_book(c, quantity=100, band=band)
    assert c.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0, "ts": T0}).is_success
    return float(wait_for(lambda: c.get("/v1/risk/XYZ").json()["delta"]))


def limit(c: TestClient, **kw: Any) -> dict[str, Any]:
    body = {"id": "xyz-delta", "scope": "XYZ", "metric": "delta", **kw}
    r = c.put("/v1/limits", json=[body])
    assert r.status_code == 200, r.text
    return {x["id"]: x for x in r.json()}[body["id"]]


def kinds(c: TestClient) -> list[str]:
    return [a["kind"] for a in reversed(c.get("/v1/alerts").json())]  # oldest first


def policy_state(c: TestClient) -> dict[str, Any]:
    return c.get("/v1/hedge/policies").json()["XYZ"]["state"]


def test_warn_then_breach_latches_until_acknowledged_and_back_inside(client: TestClient) -> None:
    delta = setup(client)
    got = limit(client, warn=delta * 0.5, breach=delta * 2)
    assert got["state"] == "warn" and got["value"] == pytest.approx(delta)
    assert got["usage_pct"] == pytest.approx(50.0)
    assert kinds(client) == ["warn"]
    got = limit(client, warn=delta * 0.5, breach=delta * 0.9)  # same id: now beyond breach
    assert got["state"] == "breach" and got["action"] == "alert"
    assert kinds(client) == ["warn", "breach"]
    assert not policy_state(client)["halted"]  # alert only
    # back inside by itself: still latched
    got = limit(client, warn=delta * 0.5, breach=delta * 1.5)
    assert got["state"] == "breach"
    # acknowledged while inside: cleared
    r = client.post("/v1/limits/xyz-delta/ack")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "warn"
    assert kinds(client) == ["warn", "breach", "ack"]
    assert client.post("/v1/limits/xyz-delta/ack").status_code == 409
    assert client.post("/v1/limits/nope/ack").status_code == 404


def test_an_acknowledged_breach_still_outside_clears_when_the_value_comes_back(
        client: TestClient) -> None:
    delta = setup(client)
    limit(client, warn=delta * 0.5, breach=delta * 0.9)
    r = client.post("/v1/limits/xyz-delta/ack")
    assert r.json()["state"] == "breach_acked"
    # sell calls: the delta falls under the breach level (and the warn level)
    r = client.post("/v1/fills", json={"exec_id": "E1", "symbol": CALL, "side": "sell",
                                       "quantity": 80, "price": 5.0})
    assert r.status_code == 200, r.text
    got = client.get("/v1/limits").json()[0]
    assert got["state"] == "ok" and got["value"] == pytest.approx(delta * 0.2, rel=1e-6)
    assert kinds(client) == ["breach", "ack", "clear"]


def test_halt_engages_the_kill_switch_which_stays_until_resumed(client: TestClient) -> None:
    delta = setup(client)
    limit(client, warn=delta * 0.5, breach=delta * 0.9, action="halt")
    assert policy_state(client)["halted"]
    assert kinds(client) == ["breach", "halt"]
    alerts = client.get("/v1/alerts").json()
    assert alerts[0]["kind"] == "halt" and "xyz-delta" in alerts[0]["message"]
    assert alerts[1]["kind"] == "breach" and alerts[1]["limit_id"] == "xyz-delta"
    assert alerts[1]["value"] == pytest.approx(delta) and alerts[1]["level"] == delta * 0.9
    assert client.post("/v1/hedge/resume", json={"underlying": "XYZ"}).status_code == 200
    assert not policy_state(client)["halted"]
    assert kinds(client)[-1] == "resume"
    assert client.get("/v1/limits").json()[0]["state"] == "breach"  # latched: no re-halt
    metrics = client.get("/metrics").text
    for kind in ("breach", "halt", "resume"):
        assert f'dynhedge_alerts_total{{kind="{kind}"}} 1.0' in metrics


def test_flatten_sends_the_order_to_the_target_ignoring_the_band(client: TestClient) -> None:
    delta = setup(client)  # band 1e9: the policy itself would never trade
    assert client.get("/v1/hedge/signals").json() == []
    limit(client, warn=delta * 0.5, breach=delta * 0.9, action="flatten")
    signals = client.get("/v1/hedge/signals").json()
    assert len(signals) == 1
    s = signals[0]
    assert s["reason"] == "flatten" and s["order_qty"] == -round(delta)
    assert s["net_delta_before"] == pytest.approx(delta) and s["target_delta"] == 0
    # pending counts in net: the next recompute does not flatten again
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.5, "ts": T0 + 1})
    assert len(client.get("/v1/hedge/signals").json()) == 1


def test_reduce_only_is_lifted_when_the_breach_clears(client: TestClient) -> None:
    delta = setup(client)
    limit(client, warn=delta * 0.5, breach=delta * 0.9, action="reduce_only")
    st = policy_state(client)
    assert st["reduce_only"] and st["reduce_only_reasons"] == ["limit xyz-delta"]
    limit(client, warn=delta * 0.5, breach=delta * 2, action="reduce_only")
    client.post("/v1/limits/xyz-delta/ack")
    assert policy_state(client)["reduce_only_reasons"] == []


def test_book_limits_on_dollar_figures_and_scenario_loss(client: TestClient) -> None:
    setup(client)
    risk = client.get("/v1/risk").json()
    dd = risk["total"]["dollar_delta"]
    span = client.post("/v1/risk/scenarios", json={"preset": "span16"}).json()
    loss = span["total"]["span_risk"]
    assert loss > 0
    r = client.put("/v1/limits", json=[
        {"id": "book-dd", "metric": "dollar_delta", "warn": dd * 2, "breach": dd * 3},
        {"id": "book-span", "metric": "scenario_loss", "warn": loss * 0.5,
         "breach": loss * 2, "action": "halt"},
    ])
    assert r.status_code == 200, r.text
    got = {x["id"]: x for x in r.json()}
    assert got["book-dd"]["scope"] == "book" and got["book-dd"]["value"] == pytest.approx(dd)
    assert got["book-dd"]["state"] == "ok"
    assert got["book-span"]["preset"] == "span16"
    assert got["book-span"]["value"] == pytest.approx(loss) and got["book-span"]["state"] == "warn"


def test_a_day_loss_limit_acts_on_the_pnl_of_the_underlying_and_of_the_book(
        client: TestClient) -> None:
    """100 long calls marked at the model at 100: a fall to 95 loses what GET /v1/pnl says;
    the underlying's limit and the book's see that loss, a rise back clears the warning."""
    setup(client)
    r = client.put("/v1/limits", json=[
        {"id": "xyz-loss", "scope": "XYZ", "metric": "pnl_loss", "warn": 1_000,
         "breach": 1e9},
        {"id": "book-loss", "metric": "pnl_loss", "warn": 1_500, "breach": 2_000,
         "action": "reduce_only"}])
    assert r.status_code == 200, r.text
    assert {x["id"]: x["value"] for x in r.json()} == {"xyz-loss": 0.0, "book-loss": 0.0}
    assert client.post("/v1/ticks", json={"symbol": "XYZ", "price": 95.0,
                                          "ts": T0 + 1}).is_success
    pnl = wait_for(lambda: (p := client.get("/v1/pnl/XYZ").json()["pnl"]) < -2_000 and p)
    got = wait_for(lambda: {x["id"]: x for x in client.get("/v1/limits").json()}
                   if client.get("/v1/limits").json()[1]["state"] == "breach" else None)
    assert got["xyz-loss"]["value"] == pytest.approx(-pnl, rel=1e-9)
    assert got["xyz-loss"]["state"] == "warn"
    assert got["book-loss"]["value"] == pytest.approx(-pnl, rel=1e-9)
    assert policy_state(client)["reduce_only"]
    assert sorted(kinds(client)) == ["breach", "warn"]  # the book: ok to breach at once


@pytest.mark.parametrize("body, field", [
    ({"id": "a", "metric": "delta", "warn": 2, "breach": 1, "scope": "XYZ"}, "warn"),
    ({"id": "a", "metric": "delta", "warn": 1, "breach": 2}, "book"),
    ({"id": "a", "metric": "pnl_loss", "warn": 1, "breach": 2, "preset": "pm"}, "preset"),
    ({"id": "a", "metric": "vega", "warn": 1, "breach": 2, "action": "explode"}, "action"),
    ({"id": "a", "metric": "vega", "warn": 1, "breach": 2, "preset": "grid"}, "preset"),
    ({"id": "a", "metric": "vega", "warn": 0, "breach": 2}, "warn"),
])
def test_bad_limits_are_refused_naming_why(client: TestClient, body: dict[str, Any],
                                           field: str) -> None:
    setup(client)
    r = client.put("/v1/limits", json=[body])
    assert r.status_code == 422 and field in r.text, r.text
    assert client.get("/v1/limits").json() == []


def test_unknown_scope_and_twice_the_same_id(client: TestClient) -> None:
    setup(client)
    r = client.put("/v1/limits", json=[{"id": "a", "scope": "NOPE", "metric": "vega",
                                        "warn": 1, "breach": 2}])
    assert r.status_code == 404 and "NOPE" in r.text
    same = {"id": "a", "metric": "vega", "warn": 1, "breach": 2}
    r = client.put("/v1/limits", json=[same, same])
    assert r.status_code == 422 and "1.id" in r.text


@pytest.mark.parametrize("snapshot_every", [10_000, 1])
def test_a_breach_survives_a_restart_and_still_needs_its_ack(tmp_path: Any,
                                                             snapshot_every: int) -> None:
    db = str(tmp_path / "j.db")
    with make_client(db_path=db, snapshot_every=snapshot_every) as c:
        delta = setup(c)
        limit(c, warn=delta * 0.5, breach=delta * 0.9, action="halt")
        before = c.get("/v1/alerts").json()
    with make_client(db_path=db, snapshot_every=snapshot_every) as c:
        assert c.get("/v1/alerts").json() == before
        got = c.get("/v1/limits").json()[0]
        assert got["state"] == "breach"
        assert policy_state(c)["halted"]
        c.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0, "ts": T0 + 5})
        assert [a["kind"] for a in c.get("/v1/alerts").json()] == ["halt", "breach"]  # no repeat
        assert c.post("/v1/limits/xyz-delta/ack").json()["state"] == "breach_acked"
        seq = c.get("/v1/alerts").json()[0]["seq"]
        assert seq == before[0]["seq"] + 1
    with make_client(db_path=db, snapshot_every=snapshot_every) as c:
        assert c.get("/v1/limits").json()[0]["state"] == "breach_acked"


def test_whoami_and_the_fills_list(tmp_path: Any) -> None:
    with make_client(api_keys="r:read,a:admin+read+trade", db_path=str(tmp_path / "j.db")) as c:
        assert c.get("/v1/whoami", headers={"X-API-Key": "r"}).json() == {
            "scopes": ["read"], "auth": True}
        assert c.get("/v1/whoami", headers={"X-API-Key": "a"}).json()["scopes"] == [
            "read", "trade", "admin"]
        assert c.get("/v1/whoami", headers={"X-API-Key": "x"}).status_code == 401
        h = {"X-API-Key": "a"}
        setup_h(c, h)
        for i, side in enumerate(("buy", "sell")):
            r = c.post("/v1/fills", headers=h, json={
                "exec_id": f"E{i}", "symbol": "XYZ", "side": side, "quantity": 10 + i,
                "price": 100.0 + i, "ts": T0 + i})
            assert r.status_code == 200, r.text
        fills = c.get("/v1/fills?limit=10", headers={"X-API-Key": "r"}).json()
        assert [f["exec_id"] for f in fills] == ["E1", "E0"]
        assert fills[0] == {"exec_id": "E1", "symbol": "XYZ", "side": "sell", "quantity": 11.0,
                            "price": 101.0, "ts": "2026-06-01T14:00:01.000000Z",
                            "signal_id": None, "busted": False}
        assert c.get("/v1/fills?limit=1", headers=h).json()[0]["exec_id"] == "E1"
    with make_client() as c:
        assert c.get("/v1/whoami").json() == {"scopes": ["read", "trade", "admin"],
                                              "auth": False}


def setup_h(c: TestClient, h: dict[str, str]) -> None:
    assert c.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0}, headers=h).is_success


def test_a_book_limit_sums_the_underlyings_and_halts_them_all(client: TestClient) -> None:
    setup(client)
    assert client.put("/v1/underlyings/ABC", json={"vol": 0.2, "spot": 50.0}).is_success
    r = client.put("/v1/positions", json=[{"symbol": CALL, "quantity": 100},
                                          {"symbol": "ABC", "quantity": -4000}])
    assert r.status_code == 200, r.text
    risk = client.get("/v1/risk").json()
    xyz, abc = (risk["underlyings"][u]["dollar_delta"] for u in ("XYZ", "ABC"))
    assert abc == -200_000.0 and xyz > 0
    total = abs(xyz + abc)
    r = client.put("/v1/limits", json=[{"id": "book-dd", "metric": "dollar_delta",
                                        "warn": total * 0.5, "breach": total * 0.9,
                                        "action": "halt"}])
    got = r.json()[0]
    assert got["value"] == pytest.approx(total) and got["state"] == "breach"
    policies = client.get("/v1/hedge/policies").json()
    assert policies["XYZ"]["state"]["halted"] and policies["ABC"]["state"]["halted"]
    assert "all underlyings" in client.get("/v1/alerts").json()[0]["message"]
