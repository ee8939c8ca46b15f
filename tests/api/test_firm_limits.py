"""A shard's book limits judged on the firm's figures: its own book plus the other shards'
parts (app.engine.firm_book), as the exchange (app.adapters.firm_exchange) hands them in."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.engine import scenarios
from app.engine.firm_book import BookPart, FirmRest
from tests.api.test_limits import setup


def judge(c: TestClient, rest: FirmRest | None) -> None:
    runner = c.app.state.runner  # type: ignore[attr-defined]
    c.portal.call(runner.judge_firm, rest)  # type: ignore[union-attr]


def book_limit(c: TestClient, **kw: object) -> dict:
    r = c.put("/v1/limits", json=[{"id": "firm", **kw}])
    assert r.status_code == 200, r.text
    return r.json()[0]


def test_the_other_shards_dollar_delta_is_added_and_a_breach_halts_here(client: TestClient):
    setup(client)
    dd = client.get("/v1/risk").json()["total"]["dollar_delta"]
    got = book_limit(client, metric="dollar_delta", warn=dd * 1.2, breach=dd * 1.5,
                     action="halt")
    assert got["state"] == "ok" and got["value"] == pytest.approx(dd)
    runner = client.app.state.runner  # type: ignore[attr-defined]
    own = runner.core.limits.own_part(runner.core)
    assert own.totals[0] == pytest.approx(dd)
    # the rest of the firm is short 30 % of that: still inside
    judge(client, FirmRest(BookPart((-0.3 * dd, 0.0, 0.0, 0.0)), (1,)))
    got = client.get("/v1/limits").json()[0]
    assert got["value"] == pytest.approx(0.7 * dd) and got["state"] == "ok"
    assert not client.get("/v1/hedge/policies").json()["XYZ"]["state"]["halted"]
    # long 60 %: the firm is at 160 % of this book, past the breach level: halted here
    judge(client, FirmRest(BookPart((0.6 * dd, 0.0, 0.0, 0.0)), (1,)))
    got = client.get("/v1/limits").json()[0]
    assert got["value"] == pytest.approx(1.6 * dd) and got["state"] == "breach"
    assert client.get("/v1/hedge/policies").json()["XYZ"]["state"]["halted"]
    alerts = client.get("/v1/alerts").json()
    assert [a["kind"] for a in alerts[:2]] == ["halt", "breach"]
    # the firm back inside, acknowledged: cleared (the kill switch waits for a resume)
    judge(client, None)
    assert client.post("/v1/limits/firm/ack").json()["state"] == "ok"


def test_a_firm_scenario_loss_is_the_worst_summed_cell(client: TestClient):
    setup(client)
    runner = client.app.state.runner  # type: ignore[attr-defined]
    cells = scenarios.book_part(runner.core.book, "grid")
    assert cells is not None
    loss = max(0.0, -min(c for c in cells if c is not None))
    assert loss > 0
    got = book_limit(client, metric="scenario_loss", preset="grid", warn=loss * 0.5,
                     breach=loss * 0.9)
    assert got["state"] == "breach" and got["value"] == pytest.approx(loss)
    assert client.post("/v1/limits/firm/ack").json()["state"] == "breach_acked"
    # another shard holds the mirror book: the firm loses nothing in any cell
    mirror = [None if c is None else -c for c in cells]
    judge(client, FirmRest(BookPart(scenarios={"grid": mirror}), (1,)))
    got = client.get("/v1/limits").json()[0]
    assert got["value"] == pytest.approx(0.0, abs=1e-6) and got["state"] == "ok"
    assert runner.core.limits.own_part(runner.core).scenarios["grid"] == cells


def test_a_firm_day_loss_adds_the_other_shards_pnl(client: TestClient):
    setup(client)
    got = book_limit(client, metric="pnl_loss", warn=500.0, breach=1000.0, action="alert")
    assert got["state"] == "ok"
    judge(client, FirmRest(BookPart(pnl=-1500.0), (1,)))
    got = client.get("/v1/limits").json()[0]
    assert got["state"] == "breach" and got["value"] == pytest.approx(1500.0, abs=50.0)


def test_without_a_book_limit_a_shard_shares_nothing(client: TestClient):
    setup(client)
    runner = client.app.state.runner  # type: ignore[attr-defined]
    assert runner.core.limits.own_part(runner.core) is None
