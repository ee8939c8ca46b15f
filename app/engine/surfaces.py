"""The volatility surface of each underlying in the service (issue 12, CONTRACT §8 `surface`).

A surface is swapped in whole, on the event loop, by one of two journaled commands:
- `SetSurface`: a desk's own surface (PUT /v1/surfaces/{u}), locked against refits until the
  desk says otherwise;
- `SurfaceFitted`: a refit from the options' quotes that passed its arbitrage and error checks.
A refit is due every `refit_s` of wall time, or as soon as `min_new_quotes` new quotes came;
`Refitter` gathers the fresh quotes on the loop (a copy: cheap), fits in a worker thread (the
fit holds the GIL only outside its numba kernels, a few ms) and hands the result back to the
loop: an accepted fit is journaled and installed like any command (a restart replays the same
surface, nothing is refitted at start-up), a rejected one only updates the report shown and
the count of rejections by reason."""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from app.book import UnderlyingMarket
from app.book.vols import SOURCE_SURFACE, SurfaceState, forwards
from app.domain import iso_utc
from app.domain.units import SECONDS_PER_YEAR
from app.engine.commands import SetSurface, SurfaceFitted
from app.errors import Conflict, DynhedgeError, InvalidInput, UnknownSymbol
from app.surface import (
    Quotes,
    SsviParams,
    Surface,
    SurfaceFit,
    butterfly_check,
    fit_surface,
    smile_vols,
    ssvi_surface,
    surface_from_params,
    vega_buckets,
)

if TYPE_CHECKING:
    from app.engine.core import Core
    from app.engine.runner import Runner

log = logging.getLogger("dynhedge.surfaces")
POLL_S = 0.05  # how often the refitter looks for a due refit
MIN_GAP_S = 1.0  # min_new_quotes never brings a refit closer than this after the last one


# --- the commands -------------------------------------------------------------------------

def state_of(core: Core, underlying: str) -> SurfaceState:
    """The surface state of an underlying; UnknownSymbol, or Conflict without `surface`."""
    market = core.book.markets.get(underlying)
    if market is None:
        raise UnknownSymbol("underlying", underlying)
    if market.surface is None:
        raise Conflict(f"{underlying} has no surface: PUT /v1/underlyings/{underlying} with "
                       "`surface` first")
    return market.surface


def check(core: Core, cmd: SetSurface | SurfaceFitted) -> None:
    state = state_of(core, cmd.underlying)
    if isinstance(cmd, SurfaceFitted) and state.locked:
        raise Conflict(f"the surface of {cmd.underlying} is the desk's, locked against refits")


def set_surface(core: Core, cmd: SetSurface) -> SurfaceState:
    state = state_of(core, cmd.underlying)
    if cmd.surface is not None:
        state.install(cmd.surface, cmd.as_of, "desk")
    state.locked = cmd.locked
    core.dirty.add(cmd.underlying)
    return state


def fitted(core: Core, cmd: SurfaceFitted) -> SurfaceState:
    state = state_of(core, cmd.underlying)
    state.install(cmd.surface, cmd.as_of, "fit")
    state.report = cmd.report
    state.last_fit_wall = cmd.wall
    core.dirty.add(cmd.underlying)
    return state


def reason_key(reason: str) -> str:
    """The counter's name of a fit's reason for not being swapped in."""
    for prefix, key in (("butterfly", "butterfly"), ("calendar", "calendar"),
                        ("RMS", "rms_error"), ("no expiry", "no_expiry_fitted"),
                        ("no SVI fit", "expiry_not_fitted")):
        if reason.startswith(prefix):
            return key
    return "other"


# --- refits ----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, eq=False)
class FitJob:
    """What one refit reads, copied on the loop: the quotes (with the option symbols, in the
    same order), the valuation time and spot they are read at, the model."""

    underlying: str
    as_of: float
    spot: float
    wall: float
    model: str
    quotes: Quotes
    symbols: tuple[str, ...]
    labels: dict[float, str]


def due(state: SurfaceState, now: float) -> bool:
    """A refit is due: new quotes came, no fit runs, the surface is not the desk's locked
    one, and `refit_s` passed since the last fit — or `min_new_quotes` came and MIN_GAP_S
    passed (a busy chain refits at most once a second, so does the journal)."""
    if state.fitting or state.locked or state.new_quotes <= 0:
        return False
    cfg = state.config
    last = state.last_fit_wall
    if last is None:
        return True
    since = now - last
    return since >= cfg.refit_s or (state.new_quotes >= cfg.min_new_quotes
                                    and since >= min(MIN_GAP_S, cfg.refit_s))


def gather(underlying: str, market: UnderlyingMarket, wall: float) -> FitJob | None:
    """The fresh quotes of unexpired options (at most `quote_max_age_s` of event time old),
    read at the underlying's valuation time and spot; None when there is nothing to fit.
    American quotes give their (American) implied vol, not their prices: the fit's price
    checks are European."""
    state = market.surface
    if state is None or market.spot is None or market.as_of is None:
        return None
    as_of, spot = market.as_of, market.spot
    for sym in [s for s, q in state.quotes.items() if q.expiry <= as_of]:
        del state.quotes[sym]  # expired: never read again
    oldest = as_of - state.config.quote_max_age_s
    rows = [(sym, q) for sym, q in state.quotes.items() if q.ts >= oldest and q.expiry > as_of]
    if not rows:
        return None
    expiry = np.array([q.expiry for _, q in rows])
    t = (expiry - as_of) / SECONDS_PER_YEAR
    forward, _ = forwards(spot, t, market.rate, market.div_yield, market.is_future)
    american = np.array([q.american for _, q in rows])
    bid = np.where(american, np.nan, [q.bid for _, q in rows])
    ask = np.where(american, np.nan, [q.ask for _, q in rows])
    quotes = Quotes.of([q.strike for _, q in rows], t, forward,
                       is_call=np.array([q.is_call for _, q in rows]),
                       iv=[q.iv for _, q in rows], bid=bid, ask=ask,
                       discount=np.exp(-market.rate * t))
    labels = {float(ti): iso_utc(float(e)) or "" for ti, e in zip(t, expiry, strict=True)}
    return FitJob(underlying, as_of, spot, wall, state.config.model, quotes,
                  tuple(sym for sym, _ in rows), labels)


def run_fit(job: FitJob) -> tuple[SurfaceFit, float]:
    """The fit itself (in a worker thread), and how long it took (s)."""
    started = time.perf_counter()
    fit = fit_surface(job.quotes, model=job.model, spot=job.spot, expiry=job.labels)
    return fit, time.perf_counter() - started


def report(job: FitJob, fit: SurfaceFit, seconds: float) -> dict[str, Any]:
    """The fit's report as GET /v1/surfaces shows it: rejected quotes by option symbol, the
    fit's event time, wall time and duration; JSON-safe (non-finite numbers as null)."""
    out = fit.as_dict()
    quotes = out["quotes"]
    quotes["rejected"] = [{"symbol": job.symbols[r["index"]], "reason": r["reason"]}
                          for r in quotes["rejected"]]
    out["as_of"] = iso_utc(job.as_of)
    out["at"] = iso_utc(job.wall)
    out["fit_ms"] = seconds * 1e3
    return _json_safe(out)


def _json_safe(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.generic):
        return _json_safe(x.item())
    return x


class Refitter:
    """The background refits of a runner: one worker thread, one fit at a time."""

    def __init__(self, runner: Runner, poll_s: float = POLL_S) -> None:
        self.runner = runner
        self.poll_s = poll_s
        self.fits = 0  # fits run (accepted or not)
        self._executor: ThreadPoolExecutor | None = None

    async def run(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="surface-fit")
        try:
            while True:
                await asyncio.sleep(self.poll_s)
                await self.once()
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def once(self) -> int:
        """Run every refit due now (one after another); returns how many ran."""
        core = self.runner.core
        ran = 0
        for u in sorted(core.book.markets):
            market = core.book.markets.get(u)
            state = None if market is None else market.surface
            now = core.clock.now()
            if market is None or state is None or not due(state, now):
                continue
            job = gather(u, market, now)
            state.new_quotes, state.last_fit_wall = 0, now
            if job is None:
                continue
            state.fitting = True
            metrics = self.runner.metrics
            try:
                loop = asyncio.get_running_loop()
                fit, seconds = await loop.run_in_executor(self._executor, run_fit, job)
            except Exception:
                log.exception("surface fit of %s failed", u)
                metrics.surface_fits.labels("failed").inc()
                continue
            finally:
                state.fitting = False
            ran += 1
            self.fits += 1
            metrics.surface_fit_seconds.observe(seconds)
            outcome = await self._finish(job, fit, state, seconds)
            metrics.surface_fits.labels(outcome).inc()
        return ran

    async def _finish(self, job: FitJob, fit: SurfaceFit, state: SurfaceState,
                      seconds: float) -> str:
        """Swap an accepted fit in (journaled), or keep its report; returns the outcome."""
        rep = report(job, fit, seconds)
        if fit.accepted and fit.surface is not None:
            try:
                await self.runner.execute(SurfaceFitted(job.underlying, fit.surface,
                                                        job.as_of, job.wall, rep))
                return "accepted"
            except DynhedgeError as exc:  # locked meanwhile, or the underlying changed
                rep = {**rep, "accepted": False, "reasons": [str(exc)]}
                key = "locked" if state.locked else "other"
                state.rejected[key] += 1
                outcome = "locked" if key == "locked" else "rejected"
        else:
            for r in fit.reasons:
                state.rejected[reason_key(r)] += 1
            log.warning("surface fit of %s not swapped in: %s", job.underlying,
                        "; ".join(fit.reasons))
            outcome = "rejected"
        state.report = rep
        return outcome


# --- a desk's surface, and a grid of vols (the read side) ------------------------------------

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
            "vols": _json_safe(sv.vol.reshape(e.size, n).tolist())}


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
