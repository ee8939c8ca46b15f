"""Restart from the journal (with and without snapshots), busts and reconciliation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.conftest import CALL, load_book, make_client, wait_for


def run_session(db: Path, **settings):
    return make_client(db_path=str(db), **settings)


@pytest.mark.parametrize("snapshot_every", [10_000, 3])
def test_a_restart_restores_book_policies_halts_pending_and_seq(tmp_path, snapshot_every):
    db = tmp_path / "journal.db"
    with run_session(db, snapshot_every=snapshot_every) as c:
        load_book(c)
        c.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
        [sig] = wait_for(lambda: c.get("/v1/hedge/signals").json())
        fill = {"exec_id": "F1", "symbol": "XYZ", "side": "sell", "quantity": 1000,
                "price": 100.0, "signal_id": sig["id"]}
        first = c.post("/v1/fills", json=fill).json()
        assert c.post("/v1/hedge/halt", json={"underlying": "XYZ"}).status_code == 200
        before = c.get("/v1/risk/XYZ").json()
    with run_session(db, snapshot_every=snapshot_every) as c:
        assert c.get("/readyz").status_code == 200
        assert {p["symbol"]: p["quantity"] for p in c.get("/v1/positions").json()} == {
            CALL: 100, "XYZ": -1000}
        policy = c.get("/v1/hedge/policies").json()["XYZ"]
        assert policy["mode"] == "band" and policy["state"]["halted"] is True
        again = c.post("/v1/fills", json=fill).json()
        assert again["duplicate"] is True and again["position"] == first["position"]
        assert c.post("/v1/fills", json={**fill, "price": 99.0}).status_code == 409
        risk = c.get("/v1/risk/XYZ").json()
        assert risk["hedge_position"] == before["hedge_position"] == -1000
        assert risk["pending"] == before["pending"] == sig["order_qty"] + 1000
        assert c.get("/v1/hedge/signals").json() == [sig]
        c.post("/v1/hedge/resume", json={})
        c.post("/v1/hedge/signals/" + sig["id"] + "/cancel")
        c.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
        sigs = wait_for(lambda: len(s := c.get("/v1/hedge/signals").json()) == 2 and s)
        assert sigs[1]["seq"] == 2


def test_a_bust_reverses_a_fill_once(tmp_path):
    with run_session(tmp_path / "j.db") as c:
        load_book(c, band=1e9)
        fill = {"exec_id": "B1", "symbol": "XYZ", "side": "buy", "quantity": 300, "price": 100}
        assert c.post("/v1/fills", json=fill).json()["position"]["quantity"] == 300
        r = c.post("/v1/fills/B1/bust")
        assert r.status_code == 200 and r.json()["position"] == {"symbol": "XYZ",
                                                                  "quantity": 0}
        assert c.post("/v1/fills/B1/bust").status_code == 409
        assert c.post("/v1/fills/NOPE/bust").status_code == 404
    with run_session(tmp_path / "j.db") as c:  # the bust is journaled
        positions = {p["symbol"]: p["quantity"] for p in c.get("/v1/positions").json()}
        assert positions["XYZ"] == 0
        assert c.post("/v1/fills/B1/bust").status_code == 409


def test_reconciliation_reports_differences_and_goes_reduce_only_until_accepted(client):
    load_book(client, band=0)
    client.post("/v1/fills", json={"exec_id": "R1", "symbol": "XYZ", "side": "sell",
                                   "quantity": 500, "price": 100})
    r = client.put("/v1/positions/reconcile", json=[
        {"symbol": CALL.replace("   ", ""), "quantity": 100},
        {"symbol": "XYZ", "quantity": -400}])
    assert r.status_code == 200
    diffs = r.json()["differences"]
    assert diffs == [{"symbol": "XYZ", "ours": -500.0, "broker": -400.0, "difference": 100.0,
                      "underlyings": ["XYZ"]}]
    state = client.get("/v1/hedge/policies").json()["XYZ"]["state"]
    assert state["reduce_only"] is True and state["reduce_only_reasons"] == ["reconcile:XYZ"]
    # the book wants to sell ~5,500 more: growing the short is refused while reduce-only
    client.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
    wait_for(lambda: client.get("/v1/hedge/policies").json()["XYZ"]["state"][
        "last_decision"] == "reduce_only")
    assert client.get("/v1/hedge/signals").json() == []
    r = client.post("/v1/positions/reconcile/accept", json={"adopt": True})
    assert r.json() == {"accepted": ["XYZ"], "adopted": True}
    positions = {p["symbol"]: p["quantity"] for p in client.get("/v1/positions").json()}
    assert positions["XYZ"] == -400
    assert client.get("/v1/hedge/policies").json()["XYZ"]["state"]["reduce_only"] is False


def test_a_fill_older_than_the_memory_of_fills_is_still_a_duplicate(tmp_path):
    with run_session(tmp_path / "j.db") as c:
        load_book(c, band=1e9)
        c.app.state.runner.fills.size = 2  # remember only the last two in memory
        fills = [{"exec_id": f"M{i}", "symbol": "XYZ", "side": "buy", "quantity": 1,
                  "price": 100} for i in range(4)]
        for f in fills:
            assert c.post("/v1/fills", json=f).json()["duplicate"] is False
        assert len(c.app.state.runner.fills) == 2
        again = c.post("/v1/fills", json=fills[0])
        assert again.status_code == 200 and again.json()["duplicate"] is True
        assert again.json()["position"] == {"symbol": "XYZ", "quantity": 1}
        assert c.post("/v1/fills", json={**fills[0], "price": 99}).status_code == 409
        positions = {p["symbol"]: p["quantity"] for p in c.get("/v1/positions").json()}
        assert positions["XYZ"] == 4


def test_a_clean_restart_restores_the_last_tick_exactly(tmp_path):
    db = tmp_path / "journal.db"
    with run_session(db) as c:
        assert c.put("/v1/underlyings/XYZ", json={"rate": 0.0, "vol": 0.2,
                                                  "spot": 195.0}).status_code == 200
        c.put("/v1/positions", json=[{"symbol": CALL, "quantity": 100}])
        c.post("/v1/ticks", json={"symbol": "XYZ", "price": 203.0})
        before = wait_for(lambda: (v := c.get("/v1/risk/XYZ").json())["spot"] == 203.0 and v)
    with run_session(db) as c:
        after = c.get("/v1/risk/XYZ").json()
        assert after["spot"] == 203.0 and after["as_of"] == before["as_of"]
        assert after["delta"] == before["delta"]
