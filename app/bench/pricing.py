"""Benchmark section `pricing`: Greeks and implied-vol throughput on one core.

Every figure is timed beside the plain numpy reference (`app.pricing.reference`, one ufunc
per term, scipy's ndtr) on the same inputs in the same run; ratio = ours / reference.
Rows: {section, name, n, value (options/s), unit, reference, ratio, seconds_per_call}.
Timing: best of several samples, each long enough (>= 20 ms, 5 ms with --quick) that timer
resolution and the noise of a shared machine matter little.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

SECTION = "pricing"
GREEKS_N = (10, 1_000, 100_000, 1_000_000)
IV_N = 100_000


def best_seconds(fn: Callable[[], object], quick: bool) -> float:
    """Best wall time of one call of fn over several samples."""
    fn()  # warm caches / first-touch of outputs
    min_sample, samples = (0.005, 3) if quick else (0.02, 7)
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    loops = max(1, int(min_sample / once))
    best = float("inf")
    for _ in range(samples):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn()
        best = min(best, (time.perf_counter() - t0) / loops)
    return best


def option_book(n: int, seed: int = 1) -> dict[str, Any]:
    """A listed-options-like book on one underlying: strikes 50-150 %, 1 week to 2 years."""
    rng = np.random.default_rng(seed)
    return {
        "is_call": rng.random(n) < 0.5,
        "spot": 100.0,
        "strike": rng.uniform(50.0, 150.0, n),
        "t": rng.uniform(7 / 365, 2.0, n),
        "vol": rng.uniform(0.1, 0.8, n),
        "rate": 0.03,
        "div_yield": 0.01,
    }


def _row(name: str, n: int, ours: float, ref: float | None, **extra: Any) -> dict[str, Any]:
    value = n / ours
    reference = None if ref is None else n / ref
    return {"section": SECTION, "name": name, "n": n, "value": value, "unit": "options/s",
            "reference": reference,
            "ratio": None if reference is None else value / reference,
            "seconds_per_call": ours, **extra}


def run(quick: bool) -> list[dict[str, Any]]:
    """Greeks at N = 10 .. 1,000,000 and implied vol at N = 100,000 (quick: smaller N)."""
    from app.pricing import greeks, greeks_into, implied_vol, warm_up
    from app.pricing.reference import greeks_reference, implied_vol_reference

    warm_up()
    rows = []
    for n in GREEKS_N[:3] if quick else GREEKS_N:
        b = option_book(n)
        args = (b["is_call"], b["spot"], b["strike"], b["t"], b["vol"], b["rate"],
                b["div_yield"])
        ref = best_seconds(partial(greeks_reference, *args), quick)
        ours = best_seconds(partial(greeks, *args), quick)
        rows.append(_row("greeks (all 9, validated)", n, ours, ref))
        out = np.empty((9, n))
        hot = best_seconds(partial(greeks_into, *args, False, out), quick)
        rows.append(_row("greeks_into (hot path)", n, hot, ref))

    n = 20_000 if quick else IV_N
    b = option_book(n, seed=2)
    price = greeks(b["is_call"], 100.0, b["strike"], b["t"], b["vol"], 0.03, 0.01)["price"]
    iv_args = (b["is_call"], price, 100.0, b["strike"], b["t"], 0.03, 0.01)
    ref = best_seconds(partial(implied_vol_reference, *iv_args), quick)
    ours = best_seconds(partial(implied_vol, *iv_args), quick)
    err = float(np.nanmax(np.abs(implied_vol(*iv_args) - b["vol"])))
    rows.append(_row("implied_vol", n, ours, ref, max_abs_vol_error=err))
    return rows
