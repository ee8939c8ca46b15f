"""Benchmark section `scenarios`: scenario P&L by full revaluation (issue 14) on one core.

Book: 1,000 European options on one underlying (calls and puts, strikes 60–140, expiries one
week to two years, quantities −50…50, seeded), flat vol. Rows (ms per request, lower is
better; the issue's targets as the reference): `span16` (16 cells + the base: 17,000 option
values; target 10 ms), `grid` (175 cells: 175,000 option values; target 30 ms), and `pm`
(11 cells). Timing: best of several samples, as in the pricing section.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from app.bench.pricing import best_seconds
from app.book import Book, UnderlyingMarket
from app.domain import HedgeSpec, Instrument, InstrumentType
from app.engine import scenarios
from app.engine.scenarios import ScenarioRequest
from app.pricing import warm_up

SECTION = "scenarios"
TARGETS_MS = {"span16": 10.0, "grid": 30.0, "pm": None}
T0 = 1_780_322_400.0


def book(n: int = 1000) -> Book:
    b = Book()
    b.set_underlying(UnderlyingMarket(symbol="XYZ", rate=0.03, div_yield=0.01, vol=0.25,
                                      hedge=HedgeSpec("XYZ")))
    rng = np.random.default_rng(14)
    items = []
    for i in range(n):
        kind = InstrumentType.CALL if i % 2 else InstrumentType.PUT
        strike = float(np.round(rng.uniform(60, 140), 1))
        expiry = T0 + float(rng.uniform(7, 730)) * 86_400
        items.append((Instrument(f"O{i}", kind, "XYZ", strike, expiry, 100.0),
                      float(rng.integers(-50, 51))))
    b.load_positions(items)
    b.apply_spot("XYZ", T0, 100.0, T0)
    return b


def run(quick: bool) -> list[dict[str, Any]]:
    warm_up()
    b = book()
    rows = []
    for preset, target in TARGETS_MS.items():
        req = ScenarioRequest(preset=preset)
        seconds = best_seconds(partial(scenarios.run, b, req, ["XYZ"]), quick)
        cells = len(scenarios.run(b, req, ["XYZ"])["underlyings"]["XYZ"]["cells"])
        value = seconds * 1e3
        rows.append({"section": SECTION, "name": f"{preset}: {cells} cells, 1,000 options",
                     "n": 1000, "value": value, "unit": "ms", "reference": target,
                     "ratio": None if target is None else value / target,
                     "seconds_per_call": seconds})
    return rows
