"""A snapshot of the core's state, so start-up replays only the journal's tail.

`capture` is taken by the single writer right after a journaled event; `restore` rebuilds the
same state in a fresh core. Plain JSON: instruments, markets (with their last tick), positions,
hedge allocations, policies, halts, reduce-only flags, pending signals and the seq counter."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from app.book import UnderlyingMarket
from app.book.book import Position
from app.book.vols import SurfaceState
from app.domain import HedgeRequest, HedgeSpec
from app.engine.command_codec import (
    instrument_of_record,
    instrument_record,
    surface_config_of,
    surface_of_record,
    surface_record,
)
from app.engine.core import Core
from app.hedging import HedgePolicy, HedgeState, PendingOrder

SNAPSHOT_VERSION = 1


def capture(core: Core) -> dict[str, Any]:
    book, hedger = core.book, core.hedger
    return {
        "version": SNAPSHOT_VERSION,
        "instruments": [instrument_record(i) for i in book.instruments.values()],
        "positions": {s: p.quantity for s, p in book.positions.items()},
        "markets": [_market(m) for m in book.markets.values()],
        "hedge_alloc": dict(book.hedge_alloc),
        "states": {
            u: {
                "policy": dataclasses.asdict(st.policy),
                "halted": st.halted,
                "reduce_only_reasons": sorted(st.reduce_only_reasons),
                "last_check_ts": None if math.isnan(st.last_check_ts) else st.last_check_ts,
            }
            for u, st in hedger.states.items()
        },
        "halted_all": hedger.halted_all,
        "next_seq": hedger.next_seq,
        "pending": [_pending(p) for orders in hedger.open.values() for p in orders.values()],
        "reconcile_broker": core.reconcile_broker,
        "limits": core.limits.capture(),
        "pnl": core.pnl.record(),
    }


def restore(core: Core, snap: dict[str, Any]) -> None:
    if snap.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"snapshot version {snap.get('version')} is not {SNAPSHOT_VERSION}")
    book, hedger = core.book, core.hedger
    for d in snap["instruments"]:
        book.instruments[d["symbol"]] = instrument_of_record(d)
    for d in snap["markets"]:
        hedge = HedgeSpec(**d.pop("hedge"))
        request = d.pop("hedge_request", None)
        surface = _surface_state_of(d.pop("surface", None))
        book.set_underlying(UnderlyingMarket(
            **d, hedge=hedge, hedge_request=None if request is None else HedgeRequest(**request),
            surface=surface))
    book.positions.clear()
    book.groups.clear()
    book.convertibles.clear()
    for sym, qty in snap["positions"].items():
        inst = book.instruments[sym]
        book.positions[sym] = Position(inst, qty)
        if inst.is_option:
            book.option_row(inst, qty)
        elif inst.is_convertible:
            book.convertible_row(inst, qty)
    book.reindex_linear()
    book.hedge_alloc = dict(snap["hedge_alloc"])
    for u, d in snap["states"].items():
        policy = d["policy"]
        st = HedgeState(HedgePolicy.from_mapping(policy))
        st.halted = d["halted"]
        st.reduce_only_reasons = set(d["reduce_only_reasons"])
        st.last_check_ts = math.nan if d["last_check_ts"] is None else d["last_check_ts"]
        hedger.states[u] = st
    hedger.halted_all = snap["halted_all"]
    hedger.next_seq = snap["next_seq"]
    seen = set()
    for d in snap["pending"]:
        if d["signal_id"] in seen:  # a shared order is listed under each underlying
            continue
        seen.add(d["signal_id"])
        hedger.remember(PendingOrder(**d))
    core.reconcile_broker = snap.get("reconcile_broker") or {}
    if snap.get("limits"):
        core.limits.restore_snapshot(snap["limits"], core)
    if snap.get("pnl") is not None:
        core.pnl.restore(snap["pnl"])
    else:  # a snapshot from before P&L: the day starts here, marked once valued
        core.pnl.start_day({})


def _market(m: UnderlyingMarket) -> dict[str, Any]:
    d = {f.name: getattr(m, f.name) for f in dataclasses.fields(m)}
    d["hedge"] = dataclasses.asdict(m.hedge)
    d["hedge_request"] = None if m.hedge_request is None else dataclasses.asdict(m.hedge_request)
    d["option_ivs"] = dict(m.option_ivs)
    d["option_tick_ts"] = dict(m.option_tick_ts)
    d["surface"] = None if m.surface is None else _surface_state(m.surface)
    return d


def _surface_state(st: SurfaceState) -> dict[str, Any]:
    """The surface in use and its lock (not the quotes: the next refit waits for new ones)."""
    return {"config": dataclasses.asdict(st.config),
            "surface": None if st.surface is None else surface_record(st.surface),
            "as_of": st.as_of, "version": st.version, "locked": st.locked,
            "source": st.source, "report": st.report, "rejected": dict(st.rejected),
            "last_fit_wall": st.last_fit_wall}


def _surface_state_of(d: dict[str, Any] | None) -> SurfaceState | None:
    if d is None:
        return None
    config = surface_config_of(d["config"])
    assert config is not None
    st = SurfaceState(config,
                      None if d["surface"] is None else surface_of_record(d["surface"]),
                      d["as_of"], d["version"], d["locked"], d["source"], d["report"])
    st.rejected.update(d.get("rejected") or {})
    st.last_fit_wall = d.get("last_fit_wall")
    return st


def _pending(p: PendingOrder) -> dict[str, Any]:
    return {f.name: getattr(p, f.name) for f in dataclasses.fields(p)}


# --- the last accepted tick per underlying (not journaled per tick: checkpointed) -----------

_TICK_FIELDS = ("spot", "as_of", "last_tick_ts", "last_received", "bid", "ask")


def tick_state(m: UnderlyingMarket, pnl: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the ticks of one underlying set: its last accepted price and the options' vols,
    and (`pnl`) the day's attribution sums they moved."""
    d: dict[str, Any] = {f: getattr(m, f) for f in _TICK_FIELDS}
    d["option_ivs"] = dict(m.option_ivs)
    d["option_tick_ts"] = dict(m.option_tick_ts)
    if pnl is not None:
        d["pnl"] = pnl
    return d


def restore_tick_state(core: Core, symbol: str, d: dict[str, Any]) -> bool:
    """Bring back a checkpointed tick state where it is newer than what the journal rebuilt;
    returns True when it changed the market."""
    m = core.book.markets.get(symbol)
    if m is None:
        return False
    if d.get("pnl") is not None:
        core.pnl.restore_track(symbol, d["pnl"])
    changed = False
    if d.get("last_tick_ts") is not None and (
            m.last_tick_ts is None or d["last_tick_ts"] > m.last_tick_ts):
        for f in _TICK_FIELDS:
            setattr(m, f, d[f])
        changed = True
    for sym, ts in (d.get("option_tick_ts") or {}).items():
        if sym in d["option_ivs"] and ts > m.option_tick_ts.get(sym, float("-inf")):
            m.option_ivs[sym] = d["option_ivs"][sym]
            m.option_tick_ts[sym] = ts
            group = core.book.groups.get(symbol)
            if group is not None and sym in group.index:
                i = group.index[sym]
                group.iv[i], group.iv_ts[i] = m.option_ivs[sym], ts
            changed = True
    return changed
