"""The bulk tick path (`parse_tick_frame` + `Runner.ingest_frame`: columns, numpy checks,
the latest spot tick per underlying) answers exactly as the per-item path (`parse_ticks`
+ `Runner.ingest_ticks`: pydantic per item, `Core.apply_tick` per tick) — the same accepted
count, the same rejected indexes with the same field and reason — and leaves the same
state: markets, fat-finger filters, the recompute inbox in the same order, the runner's
bookkeeping and counters. Seeded random frames mix good and bad ticks of every kind."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from app.adapters.journal import SqliteJournal
from app.adapters.memory_bus import MemoryBus
from app.api.ingest import parse_ticks
from app.api.tick_columns import parse_tick_frame
from app.domain import ManualClock, iso_utc
from app.engine.core import Core
from app.engine.metrics import Metrics
from app.engine.runner import Runner
from tests.api.conftest import T0

UNDERLYINGS = ("XYZ", "ABC", "DEF", "NOSPOT")
OPTIONS = ("XYZ   270219C00098000", "ABC   270219P00095000", "XYZ   270219P00120000")
MARKET_FIELDS = ("spot", "as_of", "last_tick_ts", "last_received", "bid", "ask",
                 "option_ivs", "option_tick_ts")


def _service(clock: ManualClock) -> Runner:
    core = Core(clock, max_clock_skew_s=5.0)
    for k, u in enumerate(UNDERLYINGS):
        core.set_underlying(u, rate=0.01, div_yield=0.0, vol=0.3,
                            spot=None if u == "NOSPOT" else 100.0, max_jump_pct=5.0 + k,
                            confirm_ticks=1 + k, as_of=T0 - 60)
    core.dirty.clear()
    return Runner(core, SqliteJournal(":memory:"), MemoryBus(), Metrics())


class Feed:
    """Random ticks: mostly plain spot ticks near each underlying's level (some jumps, some
    late, some from the future), and every kind of item the per-item path must judge."""

    def __init__(self, rng: random.Random, clock: ManualClock) -> None:
        self.rng = rng
        self.clock = clock
        self.level = dict.fromkeys(UNDERLYINGS, 100.0)
        self.ts = dict.fromkeys(UNDERLYINGS, T0 - 30)

    def spot(self) -> dict[str, Any]:
        r = self.rng
        u = r.choice(UNDERLYINGS)
        roll = r.random()
        if roll < 0.08:  # a jump (held, confirmed, or a return)
            price = self.level[u] * r.choice((0.8, 0.85, 1.15, 1.25))
        elif roll < 0.12:  # the level moves for good
            self.level[u] *= r.choice((0.88, 1.12))
            price = self.level[u]
        else:
            price = self.level[u] * (1 + r.uniform(-0.03, 0.03))
        item: dict[str, Any] = {"symbol": u, "price": price}
        roll = r.random()
        if roll < 0.1:
            pass  # no ts: the receive time
        elif roll < 0.15:
            item["ts"] = self.ts[u] - r.uniform(0.001, 1.0)  # older than the last
        elif roll < 0.18:
            item["ts"] = self.clock.now() + r.choice((4.0, 5.0, 6.0, 60.0))  # skew
        else:
            self.ts[u] += r.choice((0.0, 0.001, 0.01))
            item["ts"] = self.ts[u]
        if r.random() < 0.05:
            item["price"] = float(round(price))
            if r.random() < 0.5:
                item["price"] = round(price)  # an int
        if r.random() < 0.3:
            item = {"type": "tick", **item}
        return item

    def other(self) -> Any:
        r = self.rng
        u = r.choice(UNDERLYINGS)
        ts = self.ts[u]
        choices: list[Any] = [
            {"symbol": u, "price": -1.0}, {"symbol": u, "price": 0}, {"symbol": u, "price": "101"},
            {"symbol": u, "price": True}, {"symbol": u, "price": None}, {"symbol": u},
            {"symbol": u, "price": math.nan}, {"symbol": u, "price": math.inf},
            {"symbol": u, "price": 2**60}, {"symbol": u, "price": 10**400},
            {"symbol": u, "price": 100.0, "ts": None}, {"symbol": u, "price": 100.0, "ts": 1.0},
            {"symbol": u, "price": 100.0, "ts": 8e9}, {"symbol": u, "price": 100.0, "ts": "x"},
            {"symbol": u, "price": 100.0, "ts": iso_utc(ts + 0.5)},
            {"symbol": u, "price": 100.0, "ts": int(ts) + 1},
            {"symbol": u, "price": 100.0, "extra": 1}, {"symbol": u, "price": 100.0, "iv": 0.2},
            {"symbol": u, "bid": 99.0, "ask": 101.0, "ts": ts},
            {"symbol": u, "bid": 101.0, "ask": 99.0}, {"symbol": u, "bid": 99.0},
            {"symbol": " XYZ", "price": 100.0}, {"symbol": "", "price": 100.0},
            {"symbol": "X" * 65, "price": 100.0}, {"symbol": "XY\x00Z", "price": 100.0},
            {"symbol": 5, "price": 100.0}, {"symbol": ["XYZ"], "price": 100.0},
            {"symbol": "NOPE", "price": 100.0}, {"symbol": "NOPE", "price": 100.0, "ts": ts},
            {"type": "fill", "symbol": u, "price": 100.0}, {"type": ["t"], "symbol": u,
                                                            "price": 100.0},
            {"type": None, "symbol": u, "price": 100.0},
            1, "tick", [u, 100.0], None,
        ]
        for opt in OPTIONS:
            choices += [{"symbol": opt, "iv": r.uniform(0.1, 0.5), "ts": ts},
                        {"symbol": opt, "bid": 4.0, "ask": 4.4},
                        {"symbol": opt, "price": r.uniform(1.0, 9.0), "ts": ts},
                        {"symbol": opt, "iv": 11.0}]
        return r.choice(choices)

    def frame(self) -> list[Any]:
        n = self.rng.choice((1, 2, 5, 20, 60))
        mostly_plain = self.rng.random() < 0.5
        return [self.spot() if self.rng.random() < (0.97 if mostly_plain else 0.6)
                else self.other() for _ in range(n)]


def _state(runner: Runner) -> dict[str, Any]:
    core = runner.core
    markets = {u: {f: (getattr(m, f), type(getattr(m, f))) for f in MARKET_FIELDS}
               for u, m in core.book.markets.items()}
    filters = {u: (j.max_jump_pct, j.confirm_ticks, list(j.held), j.held_ts, dict(j.counts))
               for u, j in core.jump_filters.items()}
    ticks = runner.metrics.ticks
    return {"markets": markets, "filters": filters, "inbox": list(core.dirty),
            "ticked": set(runner.checkpoint.ticked), "perf": set(runner._tick_perf),
            "unreflected": set(runner._unreflected),  # read by key only
            "counts": [ticks.labels(k)._value.get() for k in ("accepted", "rejected")]}


@pytest.mark.parametrize("seed", range(12))
def test_the_bulk_path_answers_and_leaves_state_as_the_per_item_path(seed: int) -> None:
    rng = random.Random(seed)
    clock_a, clock_b = ManualClock(T0), ManualClock(T0)
    per_item, bulk = _service(clock_a), _service(clock_b)
    feed = Feed(rng, clock_a)
    plain = 0
    for _ in range(60):
        items = feed.frame()
        received = clock_a.now()
        ok_a, bad_a = per_item.ingest_ticks(parse_ticks(items, received))
        frame = parse_tick_frame(items, received)
        plain += len(frame.index)
        ok_b, bad_b = bulk.ingest_frame(frame)
        assert ok_b == ok_a, items
        assert [(i, type(e), str(e)) for i, e in bad_b] == [
            (i, type(e), str(e)) for i, e in bad_a], items
        assert _state(bulk) == _state(per_item), items
        if rng.random() < 0.3:  # a recompute sweep took the inbox
            for runner in (per_item, bulk):
                runner.core.dirty.clear()
                runner._unreflected.clear()
        step = rng.choice((0.0, 0.01, 0.5))
        clock_a.advance(step)
        clock_b.advance(step)
    assert plain > 100  # the bulk path was taken, not only its fallback


def test_a_frame_of_plain_spot_ticks_is_all_columns() -> None:
    items = [{"type": "tick", "symbol": u, "price": 100.0 + k, "ts": T0 + k}
             for k, u in enumerate(UNDERLYINGS * 3)]
    frame = parse_tick_frame(items, T0)
    assert frame.others == [] and frame.index.tolist() == list(range(len(items)))
    assert frame.symbol == list(UNDERLYINGS * 3)


def _per_item_ws(runner: Runner, received: float, items: list[Any]) -> tuple[int, list[Any]]:
    """The ingest socket's frame as it was answered tick by tick: runs of `tick` messages
    (their `type` dropped) through the per-item path, anything else rejected in its place."""
    accepted, rejected, i = 0, [], 0
    while i < len(items):
        j = i
        while j < len(items) and isinstance(items[j], dict) and items[j].get("type") == "tick":
            j += 1
        if j > i:
            ok, bad = runner.ingest_ticks(parse_ticks(
                [{k: v for k, v in t.items() if k != "type"} for t in items[i:j]], received))
            accepted += ok
            rejected += [(i + k, str(e)) for k, e in bad]
            i = j
            continue
        rejected.append((i, "type: must be tick or fill"))
        i += 1
    return accepted, rejected


@pytest.mark.parametrize("seed", range(6))
def test_the_ingest_socket_answers_each_frame_as_tick_by_tick(seed: int) -> None:
    """Frames of tick messages (the bulk path whole), and frames where other messages cut
    the ticks into runs: the same ack, indexes and reasons, the same state."""
    import asyncio

    from app.api.ws import _apply

    rng = random.Random(1000 + seed)
    clock_a, clock_b = ManualClock(T0), ManualClock(T0)
    per_item, bulk = _service(clock_a), _service(clock_b)
    feed = Feed(rng, clock_a)
    for _ in range(40):
        items: list[Any] = []
        for item in feed.frame():
            if isinstance(item, dict) and (item.get("type") in (None, "tick")):
                items.append({**item, "type": "tick"})
            elif rng.random() < 0.5 and not (isinstance(item, dict) and item.get("type") == "fill"):
                items.append(item)  # (fills are journaled: not in this comparison)
        if rng.random() < 0.5:  # other messages between the ticks
            for _ in range(rng.randint(1, 3)):
                items.insert(rng.randint(0, len(items)), rng.choice(
                    ({"type": "quote", "symbol": "XYZ"}, 7, {"type": None})))
        want = _per_item_ws(per_item, clock_a.now(), items)
        got = asyncio.run(_apply(bulk, clock_b, items))
        assert got == want, items
        assert _state(bulk) == _state(per_item), items
        clock_a.advance(0.01)
        clock_b.advance(0.01)
