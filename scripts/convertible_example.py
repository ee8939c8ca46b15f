#!/usr/bin/env python3
"""The README's convertible-arbitrage example, through the service's own API (in process, a
clock fixed at 2026-06-01T14:00:00Z, no Redis, nothing kept): a desk long 100 convertibles
asks for a band hedge; two ticks of the stock; the bond's figures and the signals printed.

    python scripts/convertible_example.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient  # noqa: E402

from app.domain import ManualClock  # noqa: E402
from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402

T0 = 1_780_322_400.0  # 2026-06-01T14:00:00Z
BOND = {"symbol": "XYZ 2% 2029 CB", "type": "convertible", "underlying": "XYZ",
        "quantity": 100, "conversion_ratio": 8.0, "maturity": "2029-06-01",
        "coupon_rate": 0.02, "coupon_frequency": 2, "credit_spread": 0.03,
        "call_schedule": [{"from": "2028-06-01", "to": "2029-06-01", "price": 1000.0,
                           "trigger": 1.3}],
        "put_schedule": [{"date": "2028-06-01", "price": 1000.0}]}
FIGURES = ("price", "delta", "gamma", "vega", "theta", "rho", "credit_spread_sensitivity",
           "bond_floor", "conversion_value", "conversion_premium", "accrued")
SIGNAL = ("side", "quantity", "net_delta_before", "spot", "reason")


def show(title: str, data: Any) -> None:
    print(f"{title}\n{json.dumps(data, indent=1)}\n")


def settle(c: TestClient, spot: float) -> dict[str, Any]:
    for _ in range(400):
        view: dict[str, Any] = c.get("/v1/risk/XYZ").json()
        if view["spot"] == spot:
            return view
        time.sleep(0.005)
    raise RuntimeError("the tick did not show in the risk view")


def main() -> int:
    clock = ManualClock(T0)
    settings = Settings(db_path=":memory:", redis_url=None)  # type: ignore[call-arg]
    with TestClient(create_app(settings, clock)) as c:
        c.put("/v1/underlyings/XYZ", json={"rate": 0.04, "div_yield": 0.01, "vol": 0.30})
        show("PUT /v1/positions", [BOND])
        assert c.put("/v1/positions", json=[BOND]).status_code == 200
        c.put("/v1/hedge/policies/XYZ", json={"mode": "band", "band": 25})
        seen = 0
        for k, price in enumerate((100.0, 104.0)):
            clock.advance(60.0)
            c.post("/v1/ticks", json={"symbol": "XYZ", "price": price, "ts": T0 + 60.0 * k})
            view = settle(c, price)
            row = next(r for r in view["positions"] if r.get("type") == "convertible")
            show(f"tick {price}: GET /v1/risk/XYZ positions[0]",
                 {key: round(row[key], 4) for key in ("quantity", *FIGURES)}
                 | {"unit": {key: round(v, 6) for key, v in row["unit"].items()}})
            signals = c.get(f"/v1/hedge/signals?after={seen}").json()
            seen += len(signals)
            show(f"tick {price}: signals", [{key: s[key] for key in SIGNAL} for s in signals])
            show(f"tick {price}: the underlying", {key: round(view[key], 4) for key in (
                "delta", "gamma", "vega", "theta", "rho", "hedge_position")})
            if signals:  # the bot sells the stock: the book is flat again
                s = signals[-1]
                c.post("/v1/fills", json={"exec_id": f"F{k}", "symbol": "XYZ",
                                          "side": s["side"], "quantity": s["quantity"],
                                          "price": price, "signal_id": s["id"]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
