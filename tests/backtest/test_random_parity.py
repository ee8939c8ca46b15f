"""Random ticks through the live core and through the backtester: the same orders, tick by
tick, for the same reasons.

Each case draws (seeded numpy RNG) a book of a few options and some stock on XYZ, a hedge
instrument (the stock, or a contract of 10 shares traded in lots of 5), and an irregular tick
tape with quiet stretches and jumps. The live side is the service's synchronous core: every
tick applied and recomputed, each signal filled at once at the tick's price and recomputed
again, as the live loop would. The backtest side replays the same tape through
`run_underlying` (one path, event-time schedule). Per tick: the units ordered in total, and
the reason of the first decision (`signal` or why not), must be equal.

The live throttle is set so it cannot bite: the backtester has no wall clock (that is the
documented difference), and a clipped need sends its clips within one wall-clock instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from app.backtest import CostModel, Strategy, scenario_from_mapping
from app.backtest.markets import read_ticks, replay_paths
from app.backtest.simulate import run_underlying
from app.domain import Fill, HedgeSpec, ManualClock, Tick, instrument_from_fields
from app.domain.units import SECONDS_PER_DAY
from app.engine.core import Core
from app.hedging import HedgePolicy, Mode, Reason, RebalanceTo

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
NO_THROTTLE = {"max_signals_per_s": 1e9}
POLICIES = {
    "band": HedgePolicy(mode=Mode.BAND, band=120.0, **NO_THROTTLE),
    "band_edge": HedgePolicy(mode=Mode.BAND, band=250.0, rebalance_to=RebalanceTo.EDGE,
                             min_order=15.0, target_delta=-300.0, **NO_THROTTLE),
    "interval": HedgePolicy(mode=Mode.INTERVAL, interval_s=1_800.0, min_order=10.0,
                            **NO_THROTTLE),
    "whalley_wilmott": HedgePolicy(mode=Mode.WHALLEY_WILMOTT, risk_aversion=2e-3,
                                   cost_per_share=0.03, band=40.0, **NO_THROTTLE),
    "clipped": HedgePolicy(mode=Mode.BAND, band=60.0, max_order=700.0, max_position=2_500.0,
                           **NO_THROTTLE),
    "whalley_wilmott_clipped": HedgePolicy(mode=Mode.WHALLEY_WILMOTT, risk_aversion=1e-3,
                                           cost_per_share=0.02, max_order=300.0,
                                           max_position=1_200.0, **NO_THROTTLE),
}
SEEDS = (11, 23, 37)
CONTRACT = {"instrument": "XYZF", "multiplier": 10.0, "lot_size": 5.0}


def random_case(seed: int, tmp_path: Path) -> tuple[dict[str, Any], Path]:
    """A book mapping and a tick file for one seed."""
    rng = np.random.default_rng(seed)
    n_options = int(rng.integers(2, 5))
    positions: list[dict[str, Any]] = [
        {"symbol": f"XYZ-{i}", "type": "call" if rng.random() < 0.6 else "put",
         "underlying": "XYZ", "strike": float(np.round(rng.uniform(85.0, 115.0), 1)),
         "expiry": START + float(rng.uniform(20.0, 60.0)) * SECONDS_PER_DAY,
         "quantity": float(rng.choice([-1.0, 1.0]) * rng.integers(20, 150))}
        for i in range(n_options)
    ]
    positions.append({"symbol": "XYZ", "quantity": float(rng.integers(-2_000, 2_000))})
    hedge = CONTRACT if seed % 2 else {}
    book = {"start": START,
            "underlyings": {"XYZ": {"spot": 100.0, "rate": 0.03, "div_yield": 0.01,
                                    "vol": 0.25, "hedge": hedge}},
            "positions": positions}
    n = 250
    gaps = rng.choice([1.0, 9.0, 120.0, 900.0, 3_600.0], n, p=[0.1, 0.3, 0.3, 0.2, 0.1])
    ts = START + np.cumsum(gaps)
    moves = rng.normal(0.0, 0.006, n) + rng.normal(0.0, 0.04, n) * (rng.random(n) < 0.03)
    price = 100.0 * np.exp(np.cumsum(moves))
    lines = ["ts,symbol,price"] + [f"{t:.0f},XYZ,{p:.4f}" for t, p in zip(ts, price, strict=True)]
    path = tmp_path / "ticks.csv"
    path.write_text("\n".join(lines) + "\n")
    return book, path


def live_decisions(book: dict[str, Any], policy: HedgePolicy,
                   ticks: Path) -> tuple[list[float], list[str]]:
    """Per decision time (the start, then each tick): units ordered, first reason."""
    u = book["underlyings"]["XYZ"]
    clock = ManualClock(START)
    core = Core(clock, max_clock_skew_s=1e12)
    spec = HedgeSpec(**u["hedge"]) if u["hedge"] else None
    core.set_underlying("XYZ", rate=u["rate"], div_yield=u["div_yield"], vol=u["vol"],
                        spot=u["spot"], hedge=spec, as_of=START)
    core.load_positions([
        (instrument_from_fields(p["symbol"], {k: v for k, v in p.items()
                                              if k not in ("symbol", "quantity")}),
         p["quantity"])
        for p in book["positions"]
    ])
    core.set_policy("XYZ", policy)
    hedge = instrument_from_fields(core.book.markets["XYZ"].hedge.instrument,
                                   {"type": "future", "underlying": "XYZ", "multiplier": 10.0}
                                   if spec else {})
    fills = 0

    def decide(price: float, ts: float) -> tuple[float, str]:
        nonlocal fills
        ordered, first = 0.0, ""
        for _ in range(50):  # a fill is a decision point too
            signals = core.recompute("XYZ")
            first = first or core.hedger.states["XYZ"].last_decision
            if not signals:
                break
            for sig in signals:
                fills += 1
                core.apply_fill(Fill(f"x{fills}", hedge.symbol,
                                     "buy" if sig.order_qty > 0 else "sell",
                                     abs(sig.order_qty), price, ts, sig.id), hedge)
                ordered += sig.order_qty
        return ordered, first

    orders, reasons = [], []
    for price, ts in [(u["spot"], START), *(
            (float(p), float(t)) for t, p in zip(read_ticks(ticks).ts, read_ticks(ticks).price,
                                                 strict=True))]:
        if ts != START:
            clock.t = ts
            core.apply_tick(Tick("XYZ", ts, ts, price=price))
        ordered, first = decide(price, ts)
        orders.append(ordered)
        reasons.append(first)
    return orders, reasons


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(POLICIES))
def test_random_ticks_order_the_same_for_the_same_reasons_live_and_in_the_backtest(
    name: str, seed: int, tmp_path: Path
) -> None:
    policy = POLICIES[name]
    book_map, ticks = random_case(seed, tmp_path)
    (u,) = scenario_from_mapping(book_map).underlyings
    market = replay_paths(read_ticks(ticks), "XYZ", START, u.spot)
    outcome = run_underlying(u, [Strategy(name, policy)], market, CostModel(0.0),
                             anchored=False)
    backtest_orders = outcome.sample["trade_shares"][0, :-1] / u.hedge.shares_per_unit
    backtest_reasons = [Reason(int(c)).label for c in outcome.sample["reasons"][0, :-1]]

    live_orders, live_reasons = live_decisions(book_map, policy, ticks)

    # the backtest decides at the start and at every tick but the last (the run's end)
    assert len(live_orders) == backtest_orders.shape[0] + 1
    live_orders, live_reasons = live_orders[:-1], live_reasons[:-1]
    np.testing.assert_array_equal(backtest_orders, np.array(live_orders))
    assert backtest_reasons == live_reasons
    assert live_reasons.count("signal") >= 2  # the case trades, and also stays quiet
    assert len(set(live_reasons)) >= 2
