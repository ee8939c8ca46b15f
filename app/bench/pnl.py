"""P&L: what the attribution costs the tick path, and a read of the whole book's P&L.

- tick → signal in process on 1,000 options (the service section's measurement, thread CPU
  time) with the P&L attribution on and off, interleaved in rounds so a busy machine slows
  both alike; the target: on ≤ 1.15 × off at p99;
- `GET /v1/pnl`'s figures (`ReadModel.pnl_all`) on 50 underlyings × 200 options: ≤ 5 ms."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

SECTION = "pnl"
TARGET_RATIO = 1.15
TARGET_READ_MS = 5.0


def _tick_rows(quick: bool) -> list[dict[str, Any]]:
    from app.bench.service_inproc import BAND, _core, measure_core

    rounds, samples = (3, 400) if quick else (8, 1_000)
    on, off = _core(1, 1_000, BAND), _core(1, 1_000, BAND)
    off[0].pnl.attribute = False
    p99: dict[str, list[float]] = {"on": [], "off": []}
    p50: dict[str, list[float]] = {"on": [], "off": []}
    for _ in range(rounds):
        for name, (core, clock) in (("off", off), ("on", on)):
            r = measure_core(core, clock, samples, warmup=100, cpu=True)
            assert r.cpu_p99_us is not None and r.cpu_p50_us is not None
            p99[name].append(r.cpu_p99_us)
            p50[name].append(r.cpu_p50_us)
    on99, off99 = float(np.median(p99["on"])), float(np.median(p99["off"]))
    ratio = on99 / off99
    return [{"section": SECTION, "name": "tick → signal in process, 1,000 options, P&L "
             "attribution on / off (p99, thread CPU)", "n": rounds * samples, "value": ratio,
             "unit": "×", "reference": TARGET_RATIO, "ratio": ratio / TARGET_RATIO,
             "ok": ratio <= TARGET_RATIO, "on_p99_us": on99, "off_p99_us": off99,
             "on_p50_us": float(np.median(p50["on"])),
             "off_p50_us": float(np.median(p50["off"]))}]


def _read_row(quick: bool) -> dict[str, Any]:
    from app.bench.service_inproc import BAND, _core
    from app.domain import Tick
    from app.engine.read import ReadModel

    core, clock = _core(50, 200, BAND)
    read = ReadModel(core)
    read.pnl_all()
    moved, still = [], []
    for i in range(10 if quick else 50):
        # every underlying ticked since the last read: each read explains 50 open intervals
        clock.advance(1.0)
        now = clock.now()
        for u in sorted(core.book.markets):
            core.apply_tick(Tick(u, now, now, 100.0 + (0.5 if i % 2 else -0.5)))
            core.recompute(u)
        t0 = time.perf_counter()
        read.pnl_all()
        t1 = time.perf_counter()
        read.pnl_all()  # nothing moved since: the explain of each is kept
        t2 = time.perf_counter()
        moved.append((t1 - t0) * 1e3)
        still.append((t2 - t1) * 1e3)
    ms, ms_still = float(np.median(moved)), float(np.median(still))
    return {"section": SECTION, "name": "GET /v1/pnl figures, 50 × 200 options, every "
            "underlying moved since the last read (median)", "n": len(moved), "value": ms,
            "unit": "ms", "reference": TARGET_READ_MS, "ratio": ms / TARGET_READ_MS,
            "ok": ms <= TARGET_READ_MS, "unmoved_ms": ms_still}


def run(quick: bool) -> list[dict[str, Any]]:
    return [*_tick_rows(quick), _read_row(quick)]
