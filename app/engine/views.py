"""The JSON of every view, in one place per message (CONTRACT §3–§5 shapes): risk, markets,
positions, policies. Signals carry their own (`Signal.as_message`)."""

from __future__ import annotations

import math
from typing import Any

from app.book import UnderlyingRisk, buckets
from app.book.risk import ConvertibleRows
from app.book.vols import SOURCES, SurfaceConfig
from app.domain import Instrument, iso_utc
from app.engine.read import MarketView, PolicyView, PositionView, ReadModel, SurfaceView
from app.pricing.convertible import RESOLVE_REASONS
from app.surface import butterfly_check, calendar_check


def _num(x: float | None) -> float | None:
    return None if x is None else float(x) + 0.0  # + 0.0: never answer -0.0


def risk_view(r: UnderlyingRisk, pnl: float | None = None) -> dict[str, Any]:
    """Per-underlying figures: shares, $ per vol point, $ per day, $ per 1 % rate; `pnl`
    the day's P&L in $ (None: not priced)."""
    return {
        "pnl": _num(pnl),
        "underlying": r.underlying,
        "spot": _num(r.spot),
        "as_of": iso_utc(r.as_of),
        "delta": _num(r.delta),
        "gamma": _num(r.gamma),
        "vega": _num(r.vega),
        "theta": _num(r.theta),
        "rho": _num(r.rho),
        "dollar_delta": _num(r.dollar_delta),
        "dollar_gamma": _num(r.dollar_gamma),
        "hedge_position": float(r.hedge_position) + 0.0,
        "pending": float(r.pending) + 0.0,
        "unpriced": r.unpriced,
        "beta": r.beta,
        "beta_dollar_delta": _num(r.beta_dollar_delta),
        "benchmark": r.benchmark,
        "benchmark_delta": _num(r.benchmark_delta),
    }


def risk_detail_view(r: UnderlyingRisk, pnl: float | None = None) -> dict[str, Any]:
    """`risk_view` plus one row per position (options with unit figures, then linear)."""
    out = risk_view(r, pnl)
    rows: list[dict[str, Any]] = []
    opt = r.options
    if opt is not None:
        unit = (opt.unit + 0.0).tolist()  # + 0.0: never answer -0.0
        pos = (opt.position + 0.0).tolist()
        qty = (opt.quantity + 0.0).tolist()
        size = opt.size.tolist()
        iv = opt.iv.tolist()
        source = opt.source.tolist()
        american = opt.american.tolist()
        smile = unit[1] if opt.smile_delta is None else (opt.smile_delta + 0.0).tolist()
        eep = [0.0] * len(qty) if opt.early_exercise_premium is None else (
            opt.early_exercise_premium + 0.0).tolist()
        for i, sym in enumerate(opt.symbols):
            if qty[i] == 0:
                continue
            rows.append({
                "symbol": sym,
                "quantity": qty[i],
                "style": "american" if american[i] else "european",
                "price": unit[0][i],
                "iv": iv[i],
                "vol_source": SOURCES[source[i]],
                "delta": pos[0][i],
                "smile_delta": smile[i] * size[i] + 0.0,
                "gamma": pos[1][i],
                "vega": pos[2][i],
                "theta": pos[3][i],
                "rho": pos[4][i],
                "early_exercise_premium": eep[i] * size[i] + 0.0,
                "unit": {
                    "price": unit[0][i],
                    "delta": unit[1][i],
                    "smile_delta": smile[i],
                    "gamma": unit[2][i],
                    "vega": unit[3][i],
                    "theta": unit[4][i],
                    "rho": unit[5][i],
                    "early_exercise_premium": eep[i],
                },
            })
    if r.convertibles is not None:
        rows.extend(convertible_rows(r.convertibles))
    for sym, qty_lin, delta in r.linear:
        per_unit = delta / qty_lin + 0.0 if qty_lin else 0.0
        rows.append({
            "symbol": sym,
            "quantity": qty_lin + 0.0,
            "price": r.spot if r.spot is not None else None,
            "iv": None,
            "delta": delta + 0.0 if r.valued else None,
            "gamma": 0.0, "vega": 0.0, "theta": 0.0, "rho": 0.0,
            "unit": {"price": None, "delta": per_unit, "gamma": 0.0, "vega": 0.0,
                     "theta": 0.0, "rho": 0.0},
        })
    out["positions"] = rows
    out["vega_buckets"] = buckets.vega_buckets(r.options, r.as_of)
    return out


def _finite(x: float) -> float | None:
    return float(x) + 0.0 if math.isfinite(x) else None


def convertible_rows(c: ConvertibleRows) -> list[dict[str, Any]]:
    """One row per convertible with a non-zero quantity: position figures (delta in shares —
    the hedge ratio × bonds — gamma, vega, theta, rho and the credit spread sensitivity per
    1 bp, in §1's units), the price per bond and, under `unit`, the figures of one bond; the
    bond floor, conversion value and premium per bond; `solve` fresh or why a re-solve is
    due. A bond whose solve failed shows null figures."""
    unit = c.unit.tolist()
    pos = c.position.tolist()
    raw = c.raw.tolist()
    qty = c.quantity.tolist()
    vol = c.vol.tolist()
    stale = c.stale.tolist()
    out: list[dict[str, Any]] = []
    for i, sym in enumerate(c.symbols):
        if qty[i] == 0:
            continue
        out.append({
            "symbol": sym,
            "type": "convertible",
            "quantity": qty[i] + 0.0,
            "price": _finite(unit[0][i]),
            "iv": vol[i],
            "delta": _finite(pos[0][i]),
            "gamma": _finite(pos[1][i]),
            "vega": _finite(pos[2][i]),
            "theta": _finite(pos[3][i]),
            "rho": _finite(pos[4][i]),
            "credit_spread_sensitivity": _finite(pos[5][i]),
            "bond_floor": _finite(raw[7][i]),
            "conversion_value": _finite(raw[8][i]),
            "conversion_premium": _finite(raw[9][i]),
            "accrued": _finite(raw[10][i]),
            "solve": RESOLVE_REASONS[stale[i]],
            "unit": {name: _finite(unit[k][i]) for k, name in enumerate(
                ("price", "delta", "gamma", "vega", "theta", "rho",
                 "credit_spread_sensitivity"))},
        })
    return out


def total_view(risks: list[UnderlyingRisk]) -> dict[str, Any]:
    """The book's totals; `benchmark_delta`: shares of each benchmark the beta-weighted
    dollar deltas add up to (underlyings whose benchmark has a spot)."""
    tot: dict[str, Any] = {"dollar_delta": 0.0, "dollar_gamma": 0.0, "vega": 0.0, "theta": 0.0,
                           "rho": 0.0, "beta_dollar_delta": 0.0}
    bench: dict[str, float] = {}
    for r in risks:
        if not r.valued:
            continue
        tot["beta_dollar_delta"] += r.beta_dollar_delta or 0.0
        if r.benchmark is not None and r.benchmark_delta is not None:
            bench[r.benchmark] = bench.get(r.benchmark, 0.0) + r.benchmark_delta
        tot["dollar_delta"] += r.dollar_delta or 0.0
        tot["dollar_gamma"] += r.dollar_gamma or 0.0
        tot["vega"] += r.vega or 0.0
        tot["theta"] += r.theta or 0.0
        tot["rho"] += r.rho or 0.0
    tot["benchmark_delta"] = bench
    vb = buckets.empty()
    for r in risks:
        if r.valued:
            buckets.add(vb, buckets.vega_buckets(r.options, r.as_of))
    tot["vega_buckets"] = vb
    return tot


def policy_view(v: PolicyView) -> dict[str, Any]:
    """The policy with what the engine computes from it now, and why it is quiet."""
    return {
        "underlying": v.underlying,
        **v.policy.as_dict(),
        "state": {
            "band": v.band,
            "net_delta": v.net_delta,
            "pending": v.pending + 0.0,
            "halted": v.halted,
            "stale": v.stale,
            "reduce_only": v.reduce_only,
            "reduce_only_reasons": list(v.reduce_only_reasons),
            "last_decision": v.last_decision,
            "quiet": dict(v.quiet),
            "breach": v.breach,
        },
    }


def market_view(m: MarketView) -> dict[str, Any]:
    """One underlying's parameters and last tick (GET/PUT /v1/underlyings)."""
    last = m.last_tick
    return {
        "symbol": m.symbol,
        "spot": m.spot,
        "rate": m.rate,
        "div_yield": m.div_yield,
        "vol": m.vol,
        "type": m.type,
        "hedge": {"instrument": m.hedge.instrument, "multiplier": m.hedge.multiplier,
                  "ratio": m.hedge.ratio, "lot_size": m.hedge.lot_size},
        "max_jump_pct": m.max_jump_pct,
        "confirm_ticks": m.confirm_ticks,
        "option_style": m.option_style,
        "dividends": [{"ex_date": iso_utc(ex), "amount": amount} for ex, amount in m.dividends],
        "beta": m.beta,
        "benchmark": m.benchmark,
        "price_scan_pct": m.price_scan_pct,
        "vol_scan": m.vol_scan,
        "surface": None if m.surface is None else surface_config_view(m.surface),
        "mark_source": m.mark_source,
        "as_of": iso_utc(m.as_of),
        "last_tick": None if last is None else {
            "ts": iso_utc(last.ts), "price": last.price, "bid": last.bid, "ask": last.ask},
    }


def surface_config_view(c: SurfaceConfig) -> dict[str, Any]:
    return {"model": c.model, "stickiness": c.stickiness, "refit_s": c.refit_s,
            "min_new_quotes": c.min_new_quotes, "quote_max_age_s": c.quote_max_age_s}


def surface_view(v: SurfaceView) -> dict[str, Any]:
    """GET /v1/surfaces/{u}: the surface in use (params per expiry, where it came from, its
    version and as-of, the arbitrage checks of it), the last fit's report (RMS error, quotes
    used and rejected, its checks; accepted or why not) and the fits not swapped in."""
    s = v.surface
    out: dict[str, Any] = {
        "underlying": v.underlying,
        "model": s.model if s is not None else v.config.model,
        "config": surface_config_view(v.config),
        "source": v.source,
        "locked": v.locked,
        "version": v.version,
        "as_of": iso_utc(v.as_of),
        "spot": None if s is None else s.spot,
        "expiries": [] if s is None else [
            {**e, "vega": None if v.vega_by_expiry is None else v.vega_by_expiry[i]}
            for i, e in enumerate(s.as_dict()["expiries"])],
        "checks": None,
        "fit": v.report,
        "rejected_fits": dict(v.rejected),
        "fitting": v.fitting,
        "quotes": {"held": v.quotes, "new": v.new_quotes},
    }
    if s is not None:
        if s.ssvi is not None:
            out["ssvi"] = s.as_dict()["ssvi"]
        fly, cal = butterfly_check(s), calendar_check(s)
        out["checks"] = {
            "butterfly": {"ok": fly.ok, "min_density": _finite(fly.min_density),
                          "at_k": _finite(fly.at_k), "at_t": _finite(fly.at_t)},
            "calendar": {"ok": cal.ok, "min_increase": _finite(cal.min_increase),
                         "at_k": _finite(cal.at_k),
                         "between_t": None if cal.between is None else list(cal.between)}}
    return out


def instrument_view(i: Instrument, style: str) -> dict[str, Any]:
    out: dict[str, Any] = {"type": i.type.value, "underlying": i.underlying, "strike": i.strike,
           "expiry": iso_utc(i.expiry), "multiplier": i.multiplier, "style": style}
    c = i.convertible
    if c is not None:
        out.update({
            "face": c.face, "conversion_ratio": c.conversion_ratio,
            "coupon_rate": c.coupon_rate, "coupon_frequency": c.coupon_frequency,
            "maturity": iso_utc(c.maturity), "credit_spread": c.credit_spread,
            "call_schedule": [{"from": iso_utc(a), "to": iso_utc(b), "price": price,
                               "trigger": trigger} for a, b, price, trigger in c.call_schedule],
            "put_schedule": [{"date": iso_utc(d), "price": price} for d, price in c.put_schedule],
        })
    return out


def position_view(p: PositionView) -> dict[str, Any]:
    """A position with its instrument (the fields flat, and again under `instrument`); the
    style in force (its own, or its underlying's option_style)."""
    instrument = instrument_view(p.instrument, p.style)
    return {"symbol": p.symbol, "quantity": p.quantity + 0.0, **instrument,
            "instrument": instrument}


def alert_view(a: dict[str, Any]) -> dict[str, Any]:
    """An alert as published (Redis, /v1/ws/alerts, GET /v1/alerts): its time in ISO."""
    return {**a, "ts": iso_utc(a["ts"])}


def limit_view(spec: Any, state: Any) -> dict[str, Any]:
    """A limit with its current value, usage of the breach level in % and state."""
    value = state.value
    return {**spec.record(), "value": value,
            "usage_pct": None if value is None else 100.0 * value / spec.breach,
            "state": state.state, "since": iso_utc(state.since)}


def fill_view(body: dict[str, Any], busted: bool) -> dict[str, Any]:
    """A journaled fill as GET /v1/fills lists it."""
    return {"exec_id": body["exec_id"], "symbol": body["symbol"], "side": body["side"],
            "quantity": float(body["quantity"]), "price": float(body["price"]),
            "ts": iso_utc(float(body["ts"])), "signal_id": body.get("signal_id"),
            "busted": busted}


def _money(d: dict[str, Any]) -> dict[str, Any]:
    return {k: (_num(v) if isinstance(v, float) else v) for k, v in d.items()}


def pnl_view(f: dict[str, Any]) -> dict[str, Any]:
    """One underlying's P&L (GET /v1/pnl): $ since the start of the day."""
    out = _money(f)
    out["as_of"] = iso_utc(f["as_of"])
    out["explain_to"] = iso_utc(f["explain_to"])
    for part in ("attribution", "explain"):
        if f[part] is not None:
            out[part] = _money(f[part])
    if f["effectiveness"] is not None:
        out["effectiveness"] = _money(f["effectiveness"])
    return out


def pnl_book_view(read: ReadModel, now: float) -> dict[str, Any]:
    """`{as_of, day_start, total, underlyings}`: the firm's P&L and each underlying's
    (GET /v1/pnl; `now` answers `as_of` when nothing is valued)."""
    per, total = read.pnl_all()
    stamps = [f["as_of"] for f in per.values() if f["as_of"] is not None]
    _, day_start = read.pnl_day()
    return {
        "as_of": iso_utc(max(stamps) if stamps else now),
        "day_start": iso_utc(day_start),
        "total": pnl_total_view(total),
        "underlyings": {u: pnl_view(f) for u, f in per.items()},
    }


def pnl_history_view(days: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Closed days as kept at their roll, `day_start` / `day_end` as ISO-8601 UTC."""
    return [{**d, "day_start": iso_utc(d["day_start"]), "day_end": iso_utc(d["day_end"])}
            for d in days]


def pnl_total_view(t: dict[str, Any]) -> dict[str, Any]:
    return _money(t)


def pnl_position_view(p: dict[str, Any]) -> dict[str, Any]:
    return _money(p)
