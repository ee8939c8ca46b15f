"""kill -9 of a real service mid-day changes no P&L figure: marks, fills with their fees and
the history come back from the journal, the day's attribution with the tick checkpoint."""

from __future__ import annotations

import time

import pytest

from tests.faults.harness import ServiceFactory, occ_call, wait_until

pytestmark = [pytest.mark.faults]
CALL = occ_call("XYZ")
FIGURES = ("pnl", "options", "hedge", "stock", "fees", "realized", "unrealized", "revaluation",
           "residual", "trade_edge", "hedge_slippage", "hedge_move", "attribution", "explain",
           "effectiveness", "as_of")


def test_after_kill_9_mid_day_every_pnl_figure_is_the_same(services: ServiceFactory):
    svc = services(tick_checkpoint_s=0.2)
    with svc.client() as http:
        assert http.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 195.0}).is_success
        now = time.time() - 200.0
        assert http.post("/v1/ticks", json={"symbol": "XYZ", "price": 200.0,
                                            "ts": now}).is_success
        assert http.put("/v1/positions", json=[{"symbol": CALL, "quantity": 10, "mark": 12.0},
                                               {"symbol": "XYZ", "quantity": -400}]).is_success
        assert http.post("/v1/pnl/roll").is_success  # one closed day in the history
        for i, price in enumerate((201.0, 199.5, 202.0)):
            assert http.post("/v1/ticks", json={"symbol": "XYZ", "price": price,
                                                "ts": now + 40.0 * (i + 1)}).is_success
            wait_until(lambda p=price: http.get("/v1/risk/XYZ").json()["spot"] == p, 5,
                       "the tick in the risk view")
            r = http.post("/v1/fills", json={"exec_id": f"f{i}", "symbol": CALL,
                                             "side": "buy" if i % 2 else "sell",
                                             "quantity": 2, "price": 10.0 + i, "fee": 1.25})
            assert r.is_success, r.text
            r = http.post("/v1/fills", json={"exec_id": f"h{i}", "symbol": "XYZ",
                                             "side": "sell" if i % 2 else "buy",
                                             "quantity": 50, "price": price, "fee": 0.5})
            assert r.is_success, r.text
        time.sleep(0.6)  # more than one checkpoint interval
        before = http.get("/v1/pnl/XYZ").json()
        history = http.get("/v1/pnl/history").json()
        assert before["fees"] == pytest.approx(3 * 1.75) and before["pnl"] != 0.0
    svc.kill9()
    svc.start()
    svc.wait_ready()
    with svc.client() as http:
        after = http.get("/v1/pnl/XYZ").json()
        for k in FIGURES:
            assert after[k] == before[k], k
        assert after["positions"] == before["positions"]
        assert http.get("/v1/pnl/history").json() == history
