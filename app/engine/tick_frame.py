"""A frame of ticks applied to market state in bulk: the latest plain spot tick per
underlying, exactly as if each tick had gone through `Core.apply_tick` in frame order.

Coalescing is only done where it provably cannot change the outcome. The frame is cut into
runs at every tick that is not a plain spot tick on a known underlying (an option quote, a
bid/ask tick, an unknown symbol): those go through `apply_tick` in their place, since an
option's implied vol reads its underlying's spot at that point of the frame. Within a run the
spot ticks of different underlyings touch disjoint state, so each underlying's ticks are
taken together, in frame order. For one underlying, when every tick is within the clock
skew, none is older than the one before it (or its last accepted tick), no print is held by
the fat-finger filter and each move from the previous price is within `max_jump_pct`, then
the filter says `apply` to every one of them and each tick only overwrites the previous
one's state: the last one's state is set once and the filter counts them all. Any other
underlying of the run goes through `apply_tick` tick by tick, in order. The underlyings
that start waiting for a recompute join the inbox in the order of their first accepted
tick, as they would one tick at a time."""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING

import numpy as np

from app.domain import Tick
from app.engine.commands import TickFrame
from app.engine.jump_filter import JumpFilter
from app.errors import DynhedgeError

if TYPE_CHECKING:
    from app.engine.core import Core

Rejected = list[tuple[int, DynhedgeError]]
_SPOT, _LAST_TS = attrgetter("spot"), attrgetter("last_tick_ts")
_JUMP_PCT = attrgetter("max_jump_pct")


def _column(values: list[float | None], n: int, missing: float) -> np.ndarray:
    if None in values:
        values = [missing if v is None else v for v in values]
    return np.fromiter(values, np.float64, n)


def apply_frame(core: Core, frame: TickFrame) -> tuple[set[str], int, Rejected]:
    """Apply a frame: (underlyings that took a tick, ticks accepted, [(index, error)] in
    index order)."""
    touched: set[str] = set()
    rejected: Rejected = []
    accepted = 0
    markets = core.book.markets
    index, symbol = frame.index, frame.symbol
    known = list(map(markets.__contains__, symbol))
    barriers = frame.others
    if not all(known):  # options or unknown symbols sent as {symbol, price}: one by one
        barriers = sorted(barriers + [
            (int(index[k]), Tick(symbol[k], float(frame.ts[k]), frame.received,
                                 float(frame.price[k])))
            for k, hit in enumerate(known) if not hit])
        keep = np.flatnonzero(known)
        index, price, ts = index[keep], frame.price[keep], frame.ts[keep]
        symbol = [symbol[k] for k in keep.tolist()]
    else:
        price, ts = frame.price, frame.ts
    start = 0
    for at, item in barriers:
        if isinstance(item, DynhedgeError):
            rejected.append((at, item))
            continue
        stop = int(np.searchsorted(index, at))
        if stop > start:
            accepted += _run(core, frame.received, index[start:stop], symbol[start:stop],
                             price[start:stop], ts[start:stop], touched, rejected)
            start = stop
        try:
            touched.add(core.apply_tick(item))
            accepted += 1
        except DynhedgeError as exc:
            rejected.append((at, exc))
    if len(index) > start:
        accepted += _run(core, frame.received, index[start:], symbol[start:], price[start:],
                         ts[start:], touched, rejected)
    rejected.sort(key=lambda r: r[0])
    return touched, accepted, rejected


def _run(core: Core, received: float, index: np.ndarray, symbol: list[str],
         price: np.ndarray, ts: np.ndarray, touched: set[str], rejected: Rejected) -> int:
    """Spot ticks of known underlyings, nothing else in between: each underlying's ticks
    coalesced when that provably changes nothing, else applied one by one."""
    markets = core.book.markets
    filters = core.jump_filters
    dirty = core.dirty
    order_of = dict.fromkeys(symbol)  # underlyings in the order of their first tick
    m = len(symbol)
    if len(order_of) == m:  # one tick each
        order = None
        g_sym, p, t, idx = symbol, price, ts, index
        starts = np.arange(m)
    else:
        pos = {s: k for k, s in enumerate(order_of)}
        gid = np.fromiter(map(pos.__getitem__, symbol), np.intp, m)
        order = np.argsort(gid, kind="stable")
        p, t, idx = price[order], ts[order], index[order]
        g_sym = list(order_of)
        g = gid[order]
        starts = np.flatnonzero(np.concatenate(([True], g[1:] != g[:-1])))
    sizes = np.diff(np.append(starts, m))
    ends = starts + sizes - 1
    mk = list(map(markets.__getitem__, g_sym))
    n_u = len(mk)
    spot = _column(list(map(_SPOT, mk)), n_u, np.nan)  # no spot: NaN (no prior price)
    last_ts = _column(list(map(_LAST_TS, mk)), n_u, -np.inf)  # none: any ts is in order
    pct = np.fromiter(map(_JUMP_PCT, mk), np.float64, n_u)
    prev_p = np.empty(m)
    prev_p[1:] = p[:-1]
    prev_p[starts] = spot
    prev_t = np.empty(m)
    prev_t[1:] = t[:-1]
    prev_t[starts] = last_ts
    with np.errstate(invalid="ignore"):
        # apply_tick's own tests: skew, order (none before: any), then the filter — `apply`
        # when there is no prior price (None or not > 0) or the move is within the limit
        move_ok = ~(prev_p > 0.0) | (np.abs(p / prev_p - 1.0) * 100.0 <= (
            pct if order is None else np.repeat(pct, sizes)))
        ok = (t <= received + core.max_clock_skew_s) & ~(t < prev_t) & move_ok
    fast = (ok if order is None else np.logical_and.reduceat(ok, starts)).tolist()
    last_p, last_t = p[ends].tolist(), t[ends].tolist()
    counts = sizes.tolist()
    first_at = idx[starts].tolist()
    jumps = list(map(filters.get, g_sym))
    waiting = dirty.each_waiting(g_sym)
    accepted = 0
    joined: list[tuple[int, str]] = []  # underlyings that started waiting, first tick index
    added = False  # some were added to the inbox already (by apply_tick)
    took: list[str] = []  # coalesced
    for k, u in enumerate(g_sym):
        jump = jumps[k]
        if fast[k] and (jump is None or not jump.held):
            market = mk[k]
            if jump is None:
                jump = filters[u] = JumpFilter()
            jump.max_jump_pct, jump.confirm_ticks = market.max_jump_pct, market.confirm_ticks
            c = jump.counts
            c["apply"] = c.get("apply", 0) + counts[k]
            market.spot, market.as_of = last_p[k], last_t[k]
            market.last_tick_ts, market.last_received = last_t[k], received
            market.bid = market.ask = None
            accepted += counts[k]
            took.append(u)
            if not waiting[k]:
                joined.append((first_at[k], u))
            continue
        lo, hi = int(starts[k]), int(ends[k]) + 1
        was = waiting[k]
        for j in range(lo, hi):
            at = int(idx[j])
            try:
                core.apply_tick(Tick(u, float(t[j]), received, float(p[j])))
            except DynhedgeError as exc:
                rejected.append((at, exc))
                continue
            accepted += 1
            touched.add(u)
            if not was and u in dirty:
                was = added = True
                joined.append((at, u))
    if added and len(joined) > 1:  # the inbox order of one tick at a time
        joined.sort()
        for _, u in joined:
            dirty.discard(u)
    # (taken in the order of their first tick, the coalesced ones are sorted already)
    dirty.update([u for _, u in joined])
    touched.update(took)
    return accepted


__all__ = ["apply_frame"]
