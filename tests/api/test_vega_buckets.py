"""Vega by bucket in the risk view: by expiry and by moneyness (issue 14), adding up to the
underlying's vega."""

from __future__ import annotations

import pytest

from tests.api.conftest import T0, make_client, wait_for

DAY = 86_400


def test_vega_is_bucketed_by_expiry_and_by_moneyness() -> None:
    def opt(sym: str, kind: str, strike: float, days: float, qty: float) -> dict[str, object]:
        return {"symbol": sym, "type": kind, "underlying": "XYZ", "strike": strike,
                "expiry": T0 + days * DAY, "quantity": qty}

    book = [opt("W", "call", 100, 5, 10),        # weekly, ATM
            opt("M", "put", 80, 25, -4),         # monthly, far out-of-the-money put
            opt("Q", "call", 125, 80, 7),        # quarterly, out-of-the-money call
            opt("L", "call", 100, 400, 3)]       # longer, ATM-ish
    with make_client() as c:
        assert c.put("/v1/underlyings/XYZ", json={"vol": 0.25}).is_success
        assert c.put("/v1/positions", json=book).is_success
        assert c.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0, "ts": T0}).is_success
        detail = wait_for(lambda: (v := c.get("/v1/risk/XYZ").json())["spot"] and v)
        total = c.get("/v1/risk").json()["total"]
    vega = {p["symbol"]: p["vega"] for p in detail["positions"]}
    delta = {p["symbol"]: p["unit"]["delta"] for p in detail["positions"]}
    vb = detail["vega_buckets"]
    assert vb["expiry"] == pytest.approx({"weekly": vega["W"], "monthly": vega["M"],
                                          "quarterly": vega["Q"], "longer": vega["L"]})
    assert sum(vb["moneyness"].values()) == pytest.approx(detail["vega"])
    # each in the bucket of the pillar nearest its call-equivalent delta
    assert 1 + delta["M"] > 0.825 and delta["Q"] < 0.175
    assert vb["moneyness"]["10d_put"] == pytest.approx(vega["M"])
    assert vb["moneyness"]["10d_call"] == pytest.approx(vega["Q"])
    assert vb["moneyness"]["atm"] == pytest.approx(vega["W"] + vega["L"])
    for axis in ("expiry", "moneyness"):
        assert total["vega_buckets"][axis] == pytest.approx(vb[axis])
