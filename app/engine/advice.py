"""Advisory computations on the live book (nothing here publishes): the options plan."""

from __future__ import annotations

from typing import Any

import numpy as np

from app.domain import instrument_from_fields
from app.domain.units import DAYS_PER_YEAR, RATE_POINT, SECONDS_PER_YEAR, VOL_POINT
from app.engine.core import Core
from app.errors import InvalidInput
from app.hedging import HedgePolicy, rules
from app.hedging.options_plan import plan_options
from app.pricing import greeks, implied_vol


def options_plan(
    core: Core,
    underlying: str,
    candidates: list[dict[str, Any]],
    target_gamma: float | None,
    target_vega: float | None,
    max_contracts: float | None,
) -> dict[str, Any]:
    """The option quantities that bring `underlying`'s gamma and vega to the targets at least
    cost, the Greeks after, and the share hedge that then re-neutralizes delta."""
    market = core.book.market(underlying)
    risk = core.value(underlying)
    if not risk.valued or market.spot is None or market.as_of is None:
        raise InvalidInput("underlying", "has no spot yet: send a tick first")
    assert risk.delta is not None and risk.gamma is not None and risk.vega is not None
    spot, as_of = market.spot, market.as_of
    model = "black76" if market.is_future else "bsm"
    dividends = None if market.is_future else [
        ((ex - as_of) / SECONDS_PER_YEAR, amount)
        for ex, amount in market.dividends if ex > as_of] or None

    n = len(candidates)
    american = np.zeros(n, dtype=bool)
    is_call = np.zeros(n, dtype=bool)
    strike, t, vol, mult, cost = (np.zeros(n) for _ in range(5))
    for i, c in enumerate(candidates):
        fields = {k: v for k, v in c.items() if k not in ("symbol", "bid", "ask", "iv")}
        try:
            inst = instrument_from_fields(c["symbol"], fields)
        except ValueError as exc:
            raise InvalidInput.from_value_error(exc, prefix=f"candidates.{i}.") from None
        if not inst.is_option or inst.underlying != underlying:
            raise InvalidInput(f"candidates.{i}.symbol", f"not an option on {underlying}")
        assert inst.strike is not None and inst.expiry is not None
        is_call[i] = inst.is_call
        american[i] = core.book.style_of(inst) == "american"
        strike[i] = inst.strike
        t[i] = max(inst.expiry - as_of, 0.0) / SECONDS_PER_YEAR
        mult[i] = inst.multiplier
        bid, ask = c.get("bid"), c.get("ask")
        cost[i] = 0.5 * (ask - bid) * inst.multiplier if bid is not None and ask is not None else 0
        if c.get("iv") is not None:
            vol[i] = c["iv"]
        elif bid is not None and ask is not None:
            if dividends is not None:
                raise InvalidInput(f"candidates.{i}.iv", "under cash dividends a candidate's "
                                   "vol is not implied from its quotes: send its `iv`")
            iv, why = implied_vol("call" if inst.is_call else "put", 0.5 * (bid + ask), spot,
                                  inst.strike, t[i], market.rate, market.div_yield, model=model,
                                  style="american" if american[i] else "european",
                                  return_reason=True)
            vol[i] = float(np.asarray(iv).reshape(-1)[0])
            if not np.isfinite(vol[i]):
                why_text = np.asarray(why).reshape(-1)[0]
                raise InvalidInput(f"candidates.{i}.bid", f"no implied vol fits the mid "
                                   f"({why_text})")
        else:
            vol[i] = market.option_ivs.get(inst.symbol, market.vol)
    if np.any(t <= 0):
        raise InvalidInput("candidates", "an expired option cannot hedge gamma or vega")

    g = greeks(is_call, spot, strike, t, vol, market.rate, market.div_yield, model=model,
               style=american, dividends=dividends)
    unit = {
        "price": g["price"], "delta": g["delta"], "gamma": g["gamma"],
        "vega": g["vega"] * VOL_POINT, "theta": g["theta"] / DAYS_PER_YEAR,
        "rho": g["rho"] * RATE_POINT,
    }
    plan = plan_options(risk.gamma, risk.vega, unit["gamma"] * mult, unit["vega"] * mult, cost,
                        target_gamma, target_vega, max_contracts)
    x = plan.contracts
    after = {k: float(getattr(risk, k) + np.sum(x * unit[k] * mult))
             for k in ("delta", "gamma", "vega", "theta", "rho")}

    pending = core.hedger.pending(underlying)
    spec = market.hedge
    state = core.hedger.states.get(underlying)
    policy = state.policy if state is not None else HedgePolicy()
    net_after = after["delta"] + pending * spec.shares_per_unit
    shares = float(rules.order_units(policy.target_delta, net_after, spec.shares_per_unit,
                                     spec.lot_size))
    signals = [{"underlying": underlying, "instrument": c["symbol"], "order_qty": float(q)}
               for c, q in zip(candidates, x, strict=True) if q != 0]
    if shares:
        signals.append({"underlying": underlying, "instrument": spec.instrument,
                        "order_qty": shares})
    return {
        "underlying": underlying,
        "method": plan.method,
        "exact": plan.exact,
        "cost": plan.cost,
        "candidates": [
            {"symbol": c["symbol"], "quantity": float(plan.quantities[i]),
             "contracts": float(x[i]), "iv": float(vol[i]), "cost_per_contract": float(cost[i]),
             "unit": {k: float(v[i]) for k, v in unit.items()}}
            for i, c in enumerate(candidates)
        ],
        "before": {k: float(getattr(risk, k)) for k in ("delta", "gamma", "vega", "theta",
                                                        "rho")},
        "after": after,
        "share_hedge": {"instrument": spec.instrument, "order_qty": shares,
                        "target_delta": policy.target_delta,
                        "net_delta_after": net_after + shares * spec.shares_per_unit},
        "signals": signals,
    }
