"""The same policy object trades the same in the backtest's replay as in the live engine.

The live side is the service's synchronous core (`app.engine.core.Core`): the book loaded,
the policy set, then every tick of the file applied and recomputed, each signal filled at once
at the tick's price (a perfect paper broker) and recomputed again, as the live loop would.
The backtest side runs the same tick file through `run_underlying` (one path, event time).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.backtest import CostModel, Strategy, load_book
from app.backtest.markets import read_ticks, replay_paths
from app.backtest.scenario import DEFAULT_BOOK
from app.backtest.simulate import run_underlying
from app.domain import Fill, ManualClock, Tick, instrument_from_fields, parse_ts
from app.engine.core import Core
from app.hedging import HedgePolicy, Mode, RebalanceTo

START = parse_ts(DEFAULT_BOOK["start"])
POLICIES = {
    "band": HedgePolicy(mode=Mode.BAND, band=150.0),
    "band_edge": HedgePolicy(mode=Mode.BAND, band=300.0, rebalance_to=RebalanceTo.EDGE,
                             min_order=20.0),
    "interval": HedgePolicy(mode=Mode.INTERVAL, interval_s=3_600.0),
    "whalley_wilmott": HedgePolicy(mode=Mode.WHALLEY_WILMOTT, risk_aversion=1e-3,
                                   cost_per_share=0.02),
    "clipped": HedgePolicy(mode=Mode.BAND, band=50.0, max_order=2_000.0,
                           max_position=4_000.0),
}


def tick_file(path: Path, n: int = 300, seed: int = 0) -> Path:
    """Irregular ticks (7 s to 40 min apart) of XYZ, plus another symbol's noise."""
    rng = np.random.default_rng(seed)
    ts = START + np.cumsum(rng.choice([7.0, 60.0, 600.0, 2_400.0], n))
    price = 100 * np.exp(np.cumsum(rng.normal(0, 0.004, n)))
    lines = ["ts,symbol,price"]
    lines += [f"{t:.0f},XYZ,{p:.4f}" for t, p in zip(ts, price, strict=True)]
    lines += [f"{START + 5:.0f},ABC,12.5"]
    path.write_text("\n".join(lines) + "\n")
    return path


def live_orders(policy: HedgePolicy, ticks: Path) -> list[float]:
    """Units ordered at the start and after each XYZ tick by the live core."""
    u = DEFAULT_BOOK["underlyings"]["XYZ"]
    clock = ManualClock(START)
    core = Core(clock, max_clock_skew_s=1e12)
    core.set_underlying("XYZ", rate=u["rate"], div_yield=u["div_yield"], vol=u["vol"],
                        spot=u["spot"], as_of=START)
    core.load_positions([
        (instrument_from_fields(p["symbol"], {}), float(p["quantity"]))
        for p in DEFAULT_BOOK["positions"]
    ])
    core.set_policy("XYZ", policy)
    stock = instrument_from_fields("XYZ", {})
    fills = 0

    def decide(price: float, ts: float) -> float:
        nonlocal fills
        ordered = 0.0
        for _ in range(10):  # a fill is a decision point too
            signals = core.recompute("XYZ")
            if not signals:
                break
            for sig in signals:
                fills += 1
                core.apply_fill(Fill(f"x{fills}", "XYZ", "buy" if sig.order_qty > 0 else "sell",
                                     abs(sig.order_qty), price, ts, sig.id), stock)
                ordered += sig.order_qty
        return ordered

    out = [decide(u["spot"], START)]
    tape = read_ticks(ticks)
    for ts, sym, price in zip(tape.ts, tape.symbol, tape.price, strict=True):
        if sym != "XYZ":
            continue
        clock.t = float(ts)
        core.apply_tick(Tick("XYZ", float(ts), float(ts), price=float(price)))
        out.append(decide(float(price), float(ts)))
    return out


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_replayed_ticks_trade_the_same_in_the_backtest_and_live(name: str,
                                                                tmp_path: Path) -> None:
    policy = POLICIES[name]
    ticks = tick_file(tmp_path / "ticks.csv")
    book = load_book(None)
    (u,) = book.underlyings
    market = replay_paths(read_ticks(ticks), "XYZ", book.start, u.spot)
    outcome = run_underlying(u, [Strategy(name, policy)], market, CostModel(0.0),
                             anchored=False)
    backtest = outcome.sample["trade_shares"][0, :-1] / u.hedge.shares_per_unit
    live = np.array(live_orders(policy, ticks))[: backtest.shape[0]]
    assert np.count_nonzero(live) >= 3
    np.testing.assert_array_equal(backtest, live)
