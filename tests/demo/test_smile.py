"""The demo's option market quotes each chain on a smile, and the service fits it live."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from app.demo.market import make_underlyings, strike_step
from app.demo.smile import SmileQuoter
from app.domain import parse_occ
from app.pricing import implied_vol
from tests.api.conftest import make_client, now, wait_for

YEAR_S = 365 * 86_400


def test_a_chain_is_quoted_out_of_the_money_on_the_smile():
    spec = make_underlyings(np.random.default_rng(3), 1)[0]
    ts = 1_780_322_400.0  # 2026-06-01T14:00Z
    quoter = SmileQuoter([spec], datetime.fromtimestamp(ts, UTC).date())
    quotes = quoter.frame(np.array([spec.spot]), ts)
    assert len(quotes) > 40 and quoter.sent == len(quotes)
    surface = quoter.smile(spec, spec.spot, ts)
    for q in quotes:
        inst = parse_occ(q["symbol"])
        assert inst is not None and inst.underlying == spec.symbol
        assert 0.05 <= q["bid"] < q["ask"]
        assert inst.strike % strike_step(spec.spot) == pytest.approx(0.0, abs=1e-9)
        t = (inst.expiry - ts) / YEAR_S
        fwd = spec.spot * np.exp((spec.rate - spec.div_yield) * t)
        assert inst.is_call == (inst.strike >= fwd)  # out of the money
        mid_vol = implied_vol(inst.is_call, 0.5 * (q["bid"] + q["ask"]), spec.spot,
                              inst.strike, t, spec.rate, spec.div_yield)
        assert float(mid_vol) == pytest.approx(float(surface.vols(inst.strike, t, fwd)[0]),
                                               abs=0.01)
    atm = [float(np.sqrt(s.params.total_variance(0.0) / s.t)) for s in surface.slices]
    assert atm == pytest.approx([spec.vol] * len(atm), rel=1e-9)


def test_the_service_fits_the_demo_chain_live():
    spec = make_underlyings(np.random.default_rng(3), 1)[0]
    with make_client() as c:
        assert c.put(f"/v1/underlyings/{spec.symbol}", json=spec.as_body()).status_code == 200
        ts = now(c)
        c.post("/v1/ticks", json={"symbol": spec.symbol, "price": spec.spot, "ts": ts})
        quoter = SmileQuoter([spec], datetime.fromtimestamp(ts, UTC).date())
        ticks = [{k: v for k, v in q.items() if k != "type"}
                 for q in quoter.frame(np.array([spec.spot]), ts)]
        r = c.post("/v1/ticks", json=ticks).json()
        assert r["accepted"] == len(ticks), r["rejected"][:3]
        view = wait_for(lambda: (v := c.get(f"/v1/surfaces/{spec.symbol}").json())["source"]
                        == "fit" and v, timeout=20.0)
        assert view["fit"]["accepted"] and view["fit"]["rms_vol_pts"] < 0.5
        atm = [e["atm_vol"] for e in view["expiries"]]
        assert atm == pytest.approx([spec.vol] * len(atm), abs=0.01)
