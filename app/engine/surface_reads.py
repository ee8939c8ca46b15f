"""The read side of the volatility surfaces (issue 12): a desk's surface resolved against its
underlying and validated before its command is journaled, the grid of vols for a dashboard,
and the book's vega bucketed per expiry of the surface in use."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from app.book import UnderlyingMarket
from app.book.vols import SOURCE_SURFACE, forwards
from app.domain import iso_utc
from app.domain.units import SECONDS_PER_YEAR
from app.engine.surfaces import json_safe
from app.errors import InvalidInput, UnknownSymbol
from app.surface import (
    SsviParams,
    Surface,
    butterfly_check,
    smile_vols,
    ssvi_surface,
    surface_from_params,
    vega_buckets,
)

if TYPE_CHECKING:
    from app.engine.core import Core

_INDEX = re.compile(r"\[(\d+)\]")
_SVI_NAMES = ("a", "b", "rho", "m", "sigma")


def _field(exc: ValueError, rename: dict[str, str] | None = None) -> InvalidInput:
    """The surface package's "expiries[i].b: reason" as a 422 naming `expiries.i.b`."""
    err = InvalidInput.from_value_error(exc, field="expiries")
    name = err.field
    for old, new in (rename or {}).items():
        name = name.replace(old, new)
    return InvalidInput(_INDEX.sub(r".\1", name), err.reason)


def desk_surface(market: UnderlyingMarket, model: str, expiries: list[dict[str, Any]],
                 ssvi: dict[str, float] | None, spot: float | None, as_of: float) -> Surface:
    """A desk's surface from its parameters per expiry (`expiry` epoch s, raw SVI `a, b, rho,
    m, sigma` — or SSVI's `theta` with the global `ssvi` {rho, eta, gamma} — and an optional
    `forward`, else the underlying's forward), its slices' t in years from `as_of`. Refuses
    (InvalidInput naming the field) a malformed or arbitrageable one: constraints, calendar
    against the neighbouring expiries, a negative density."""
    spot = spot if spot is not None else market.spot
    if spot is None:
        raise InvalidInput("spot", "the underlying has no spot yet: give the surface's spot")
    ts, fwds = [], []
    for i, item in enumerate(expiries):
        t = (item["expiry"] - as_of) / SECONDS_PER_YEAR
        if not t > 0.0:
            raise InvalidInput(f"expiries.{i}.expiry", "expired")
        ts.append(t)
        given = item.get("forward")
        fwds.append(float(forwards(spot, np.array([t]), market.rate, market.div_yield,
                                   market.is_future)[0][0]) if given is None else given)
    labels = [iso_utc(item["expiry"]) for item in expiries]
    try:
        if model == "ssvi":
            if ssvi is None:
                raise InvalidInput("ssvi", "model ssvi needs {rho, eta, gamma}")
            order = sorted(range(len(ts)), key=lambda j: ts[j])
            for j in order:
                if expiries[j].get("theta") is None:
                    raise InvalidInput(f"expiries.{j}.theta", "model ssvi needs theta")
            rename = {f"ssvi.theta[{k}]": f"expiries[{j}].theta" for k, j in enumerate(order)}
            try:
                surface = ssvi_surface(SsviParams(ssvi["rho"], ssvi["eta"], ssvi["gamma"]),
                                       [ts[j] for j in order],
                                       [float(expiries[j]["theta"]) for j in order],
                                       [fwds[j] for j in order], [labels[j] for j in order],
                                       spot)
            except ValueError as exc:
                raise _field(exc, rename) from None
            names = [f"expiries.{j}" for j in order]
        else:
            for i, item in enumerate(expiries):
                for n in _SVI_NAMES:
                    if item.get(n) is None:
                        raise InvalidInput(f"expiries.{i}.{n}", "model svi needs a, b, rho, m "
                                           "and sigma")
            surface = surface_from_params(
                [{"t": ts[i], "forward": fwds[i], "expiry": labels[i],
                  **{n: item[n] for n in _SVI_NAMES}} for i, item in enumerate(expiries)],
                spot=spot)
            order = sorted(range(len(ts)), key=lambda j: ts[j])
            names = [f"expiries.{j}" for j in order]
    except InvalidInput:
        raise
    except ValueError as exc:
        raise _field(exc) from None
    fly = butterfly_check(surface)
    if not fly.ok:
        node = int(np.argmin(np.abs(surface.times - fly.at_t)))
        raise InvalidInput(names[node], fly.reason())
    return surface


def grid(underlying: str, market: UnderlyingMarket, strikes: list[float] | None,
         expiries: list[float] | None) -> dict[str, Any]:
    """Vols on a strike × expiry grid as the book reads them now (at the underlying's spot and
    valuation time, under its stickiness): default strikes 80 %–120 % of spot by 5 %, default
    expiries the surface's own. UnknownSymbol `surface` while none is in use."""
    state = market.surface
    if state is None or state.surface is None or state.as_of is None:
        raise UnknownSymbol("surface", underlying)
    surface = state.surface
    spot = market.spot if market.spot is not None else surface.spot
    as_of = market.as_of if market.as_of is not None else state.as_of
    assert spot is not None
    k = np.asarray(strikes if strikes else spot * np.linspace(0.8, 1.2, 9), dtype=np.float64)
    e = np.asarray(expiries if expiries else state.as_of + surface.times * SECONDS_PER_YEAR,
                   dtype=np.float64)
    t_now = (e - as_of) / SECONDS_PER_YEAR
    for i in np.flatnonzero(~(t_now > 0.0)):
        raise InvalidInput(f"expiries.{i}", "expired at the valuation time")
    fwd, dfds = forwards(spot, t_now, market.rate, market.div_yield, market.is_future)
    n = k.size
    sv = smile_vols(surface, np.tile(k, e.size),
                    np.repeat((e - state.as_of) / SECONDS_PER_YEAR, n),
                    np.repeat(fwd, n), spot, state.config.stickiness, np.repeat(dfds, n))
    return {"underlying": underlying, "as_of": iso_utc(as_of), "spot": spot,
            "stickiness": state.config.stickiness, "version": state.version,
            "strikes": k.tolist(), "expiries": [iso_utc(float(x)) for x in e],
            "t": t_now.tolist(), "forwards": fwd.tolist(),
            "vols": json_safe(sv.vol.reshape(e.size, n).tolist())}


def vega_by_expiry(core: Core, underlying: str) -> list[float] | None:
    """The vega ($ per vol point) of the options priced off the surface, per node expiry of
    the surface in use: what a parallel bump of one expiry's smile is worth (an option between
    two expiries splits its vega as the time rule reads them). None without a surface or
    before the first valuation off this one."""
    market = core.book.markets.get(underlying)
    state = None if market is None else market.surface
    risk = core.risk.get(underlying)
    group = core.book.groups.get(underlying)
    if (state is None or state.surface is None or state.as_of is None or market is None
            or market.spot is None or market.as_of is None):
        return None
    surface = state.surface
    rows = None if risk is None else risk.options
    if rows is None or group is None or len(rows.symbols) != group.n:
        return [0.0] * len(surface.slices)
    on = rows.source == SOURCE_SURFACE
    expiry = group.expiry[: group.n][on]
    t_now = np.maximum(expiry - market.as_of, 0.0) / SECONDS_PER_YEAR
    fwd, dfds = forwards(market.spot, t_now, market.rate, market.div_yield, market.is_future)
    buckets = vega_buckets(surface, group.strike[: group.n][on],
                           (expiry - state.as_of) / SECONDS_PER_YEAR, fwd, market.spot,
                           state.config.stickiness, dfds)
    per: np.ndarray = buckets.per_expiry(rows.position[2][on], len(surface.slices))
    return [float(x) + 0.0 for x in per]
