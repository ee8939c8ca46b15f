"""Ticks into the core: an underlying's print through its jump filter to the market state, an
option's quote to an implied vol (its own, or from bid/ask) on the book and the surface.
A rejected tick changes nothing; an applied one marks its underlying dirty for `recompute`."""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import TYPE_CHECKING

from app.book.vols import OptionQuote
from app.domain import Tick, canonical_symbol
from app.engine.jump_filter import JumpFilter, Verdict
from app.engine.occ import occ_or_invalid
from app.errors import InvalidInput, UnknownSymbol

if TYPE_CHECKING:
    from app.engine.core import Core

log = logging.getLogger("dynhedge.core")


def apply_tick(core: Core, tick: Tick) -> str:
    """Validate and apply one tick to the market state; returns the dirty underlying.
    Raises InvalidInput (naming the field) or UnknownSymbol; a rejected tick changes nothing."""
    symbol = tick.symbol
    market = core.book.markets.get(symbol)
    if tick.ts > tick.received + core.max_clock_skew_s:
        raise InvalidInput(
            "ts", f"more than {core.max_clock_skew_s:g} s ahead of the server clock"
        )
    if market is not None:
        _check_order(tick, market.last_tick_ts)
        price = _tick_price(tick)
        jump = core.jump_filters.get(symbol)
        if jump is None:
            jump = core.jump_filters[symbol] = JumpFilter()
        jump.max_jump_pct, jump.confirm_ticks = market.max_jump_pct, market.confirm_ticks
        # the last accepted price: a tick's, a restored tick's or the PUT's `spot`
        verdict = jump.judge(market.spot, price, tick.ts)
        if verdict is Verdict.HOLD:
            market.last_tick_ts = tick.ts  # held prints still order the feed
            log.warning("%s: print %g held (%.1f%% from %g)", symbol, price,
                        100 * (price / (market.spot or price) - 1), market.spot)
            return symbol
        if verdict is Verdict.CONFIRM:
            log.warning("%s: new level %g confirmed by %d prints", symbol, price,
                        market.confirm_ticks)
        elif verdict is Verdict.RETURN:
            log.warning("%s: market returned to %g; held prints dropped", symbol, price)
        core.book.apply_spot(symbol, tick.ts, price, tick.received, tick.bid, tick.ask)
        core.dirty.add(symbol)
        return symbol
    known = core.book.instrument(symbol)
    inst = known or occ_or_invalid(symbol)
    if known is None and core.shard is not None:
        core.check_owner(symbol if inst is None else inst.underlying)
    if inst is not None and inst.is_convertible:
        raise InvalidInput("symbol", "a convertible is valued from its underlying's ticks")
    if inst is None or not inst.is_option:
        raise UnknownSymbol("symbol", symbol)
    market = core.book.markets.get(inst.underlying)
    if market is None:
        raise UnknownSymbol("underlying", inst.underlying)
    inst = dataclasses.replace(inst, symbol=canonical_symbol(inst.symbol))
    _check_order(tick, market.option_tick_ts.get(inst.symbol))
    iv = tick.iv if tick.iv is not None else core.quote_vols.implied(
        inst, market, tick, core.book.style_of(inst) == "american")
    if not (0 < iv <= 10):
        raise InvalidInput("iv", "must be in (0, 10]")
    core.book.apply_option_iv(inst, tick.ts, iv)
    if market.surface is not None:
        market.surface.note_quote(inst.symbol, OptionQuote(
            inst.strike or 0.0, inst.expiry or 0.0, inst.is_call, iv, tick.ts,
            math.nan if tick.bid is None else tick.bid,
            math.nan if tick.ask is None else tick.ask,
            core.book.style_of(inst) == "american"))
    core.pnl.quote(inst.symbol, tick.ts, tick.mid)
    core.dirty.add(inst.underlying)
    return inst.underlying


def _check_order(tick: Tick, last_ts: float | None) -> None:
    if last_ts is not None and tick.ts < last_ts:
        raise InvalidInput("ts", "older than the last accepted tick of this symbol")


def _tick_price(tick: Tick) -> float:
    if tick.price is not None:
        return tick.price
    if tick.bid is not None and tick.ask is not None:
        if tick.bid > tick.ask:
            raise InvalidInput("bid", "bid > ask")
        return 0.5 * (tick.bid + tick.ask)
    raise InvalidInput("price", "an underlying tick needs price, or bid and ask")
