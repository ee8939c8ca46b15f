"""Benchmark section `american`: American options and cash-dividend grids on one core.

Book: one underlying at 100, strikes 50-150, the listed expiries 1, 2, 4 weeks, 3, 6, 9
months, 1 and 2 years, calls and puts, r = 4 %, q = 1 %. Two vol cases: "flat" (one vol,
0.3, for the whole book: every option of a kind shares one boundary) and "smile" (a vol per
option, 0.15-0.6: boundaries interpolated in vol inside octave panels, three octaves per kind).
Reference: QuantLib's QdFpAmericanEngine with its accurate scheme (price only, through the
Python bindings, a fresh engine per option as a desk would use it) on 400 options of the same
book, timed in the same run; for the dividend rows QuantLib's FdBlackScholesVanillaEngine
(Spot dividend model, its default 100 × 100 grid, price only). ratio = ours / reference.
Rows: {section, name, n, value (options/s), unit, reference, ratio, seconds_per_call, ...};
timing as the pricing section (best of several samples).
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import numpy as np

from app.bench.pricing import best_seconds

SECTION = "american"
N = 100_000
EXPIRIES_DAYS = (7, 14, 28, 91, 182, 273, 365, 730)
RATE, DIV = 0.04, 0.01
QL_N = 400


def american_book(n: int, seed: int = 1) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {"is_call": rng.random(n) < 0.5, "strike": rng.uniform(50.0, 150.0, n),
            "t": rng.choice(np.array(EXPIRIES_DAYS), n) / 365.0,
            "smile": rng.uniform(0.15, 0.6, n), "flat": np.full(n, 0.3)}


def _row(name: str, n: int, seconds: float, ref: float | None, **extra: Any) -> dict[str, Any]:
    value = n / seconds
    return {"section": SECTION, "name": name, "n": n, "value": value, "unit": "options/s",
            "reference": ref, "ratio": None if ref is None else value / ref,
            "seconds_per_call": seconds, **extra}


def quantlib_rate(book: dict[str, Any], dividends: tuple[np.ndarray, np.ndarray] | None,
                  n: int) -> float | None:
    """QuantLib options/s on the first n options (None when QuantLib is not installed)."""
    try:
        import QuantLib as ql
    except ImportError:
        return None
    today = ql.Date(3, 6, 2024)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    started = time.perf_counter()
    for i in range(n):
        process = ql.BlackScholesMertonProcess(
            ql.QuoteHandle(ql.SimpleQuote(100.0)),
            ql.YieldTermStructureHandle(ql.FlatForward(today, DIV, dc)),
            ql.YieldTermStructureHandle(ql.FlatForward(today, RATE, dc)),
            ql.BlackVolTermStructureHandle(ql.BlackConstantVol(
                today, ql.NullCalendar(), float(book["smile"][i]), dc)))
        days = round(float(book["t"][i]) * 365)
        option = ql.VanillaOption(
            ql.PlainVanillaPayoff(ql.Option.Call if book["is_call"][i] else ql.Option.Put,
                                  float(book["strike"][i])),
            ql.AmericanExercise(today, today + days))
        if dividends is None:
            engine = ql.QdFpAmericanEngine(process, ql.QdFpAmericanEngine.accurateScheme())
        else:
            schedule = ql.DividendVector([today + round(float(d) * 365) for d in dividends[0]],
                                         [float(a) for a in dividends[1]])
            engine = ql.FdBlackScholesVanillaEngine(process, schedule)
        option.setPricingEngine(engine)
        option.NPV()
    return n / (time.perf_counter() - started)


TARGET_TICK_P99_US = 1_000.0


def _tick_row(quick: bool) -> dict[str, Any]:
    """A tick on an underlying of 1,000 American options, tick → signal in process (the
    service section's measurement, with option_style american): boundaries and quadrature
    nodes reused across the ticks, as live."""
    from app.bench.service_inproc import BAND, measure_inproc

    r = measure_inproc(1_000, BAND, 500 if quick else 2_000, option_style="american")
    return {"section": SECTION, "name": "tick → signal in process, 1,000 American options "
            "(p99)", "n": r.samples, "value": r.p99_us, "unit": "µs",
            "reference": TARGET_TICK_P99_US, "ratio": r.p99_us / TARGET_TICK_P99_US,
            "ok": r.p99_us <= TARGET_TICK_P99_US, "p50_us": r.p50_us, "p99_us": r.p99_us}


def run(quick: bool) -> list[dict[str, Any]]:
    """American figures (one-call API and hot path), implied vols, dividend grids."""
    from app.pricing import (
        american_boundaries,
        american_greeks_into,
        american_implied_vol_into,
        american_nodes_greeks_into,
        american_prepare,
        american_vol_range,
        dividend_grid_greeks_into,
        dividend_grids,
        greeks,
        greeks_into,
        warm_up,
    )

    warm_up()
    # First, in a process that holds what a service holds: after the rows below, it also
    # holds QuantLib's engines and quotes and the 100,000-option books, and the collector's
    # passes over them land in the tick loop's tail (p99 +20 % measured), which no service has.
    in_process = _tick_row(quick)
    n = 20_000 if quick else N
    book = american_book(n)
    ref = quantlib_rate(book, None, 100 if quick else QL_N)
    rows = []
    c, k, t = book["is_call"], book["strike"], book["t"]
    out = np.empty((9, n))
    # Calibration: the European hot path on the same book in the same run (the pricing
    # section's figure), to read the American rows against on a busy machine.
    euro = best_seconds(partial(greeks_into, c, 100.0, k, t, book["smile"], RATE, DIV, False,
                                out), quick)
    rows.append(_row("greeks_into, European (calibration, same book)", n, euro, ref))
    for case in ("flat", "smile"):
        vol = book[case]
        # End to end: validation, boundary solves for this book, all nine figures.
        once = best_seconds(partial(greeks, c, 100.0, k, t, vol, RATE, DIV,
                                    style="american"), quick)
        rows.append(_row(f"greeks(style=american), {case} vol: solve + 9 figures", n, once,
                         ref))
        state, panel = american_boundaries(c, vol, RATE, DIV, False, 2.0)
        build = best_seconds(partial(american_boundaries, c, vol, RATE, DIV, False, 2.0),
                             quick)
        hot = best_seconds(partial(american_greeks_into, c, 100.0, k, t, vol, RATE, DIV, False,
                                   state, panel, out), quick)
        rows.append(_row(f"american_greeks_into, {case} vol: tick on cached boundaries", n,
                         hot, ref, boundary_solve_seconds=build, panels=len(state)))
        nodes = american_prepare(c, 100.0, k, t, vol, RATE, DIV, False, state, panel)
        prep = best_seconds(partial(american_prepare, c, 100.0, k, t, vol, RATE, DIV, False,
                                    state, panel), quick)
        tick = best_seconds(partial(american_nodes_greeks_into, nodes, 100.5, 1e-7, out), quick)
        stale = american_nodes_greeks_into(nodes, 100.5, 1e-7, out)
        rows.append(_row(f"american_nodes_greeks_into, {case} vol: spot-only tick (prepared "
                         "nodes)", n, tick, ref, prepare_seconds=prep, stale=stale))
    # Every option its own (σ, r, q): one boundary solve set per option.
    m = 200 if quick else 2_000
    rng = np.random.default_rng(3)
    distinct = best_seconds(partial(greeks, c[:m], 100.0, k[:m], t[:m], book["smile"][:m],
                                    rng.uniform(0.0, 0.1, m), rng.uniform(0.0, 0.12, m),
                                    style="american"), True)
    rows.append(_row("greeks(style=american), all (σ, r, q) distinct: solve + 9 figures", m,
                     distinct, ref))
    # Implied vols of the smile book's own prices.
    g = greeks(c, 100.0, k, t, book["smile"], RATE, DIV, style="american")
    price = g["price"]
    vstate = american_vol_range(RATE, DIV, False, 2.0, 0.05, 2.0, with_rho=False)
    iv = np.empty(n)
    reason = np.empty(n, dtype=np.int8)
    ivs = best_seconds(partial(american_implied_vol_into, c, price, 100.0, k, t, RATE, DIV,
                               False, vstate, iv, reason), quick)
    # Accuracy where a vol can be read off the price at all (vega per 1.00 vol > 1e-4 K;
    # an exercised option's price is intrinsic at every vol below its boundary's: vol 0).
    domain = g["vega"] > 1e-4 * k
    err = float(np.max(np.abs(iv - book["smile"])[domain]))
    rows.append(_row("american_implied_vol_into (vol range cached, European IV start)", n,
                     ivs, ref, max_abs_vol_error=err))
    # Cash dividends (quarterly 0.5 each): a grid solve per option, then spot-only reuse.
    div = (np.array([40, 131, 222, 313, 404, 495, 586, 677]) / 365.0, np.full(8, 0.5))
    m_grid = 50 if quick else 400
    ref_div = quantlib_rate(book, div, 20 if quick else 100)
    ones = np.ones(m_grid)
    sub = slice(0, m_grid)
    args = (c[sub], 100.0 * ones, k[sub], t[sub], book["smile"][sub], RATE * ones, DIV * ones,
            np.ones(m_grid, dtype=np.bool_), div[0], div[1])
    solve = best_seconds(partial(dividend_grids, *args), True)
    rows.append(_row("dividend_grids: solve per option (5 grids: σ, σ±h, r±h)", m_grid,
                     solve, ref_div))
    grid = dividend_grids(*args)
    gout = np.empty((9, m_grid))
    reuse = best_seconds(partial(dividend_grid_greeks_into, grid, 101.0, 1e-5, gout), quick)
    rows.append(in_process)
    rows.append(_row("dividend_grid_greeks_into: spot-only tick (grid reused)", m_grid,
                     reuse, ref_div))
    return rows
