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
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from app.book import UnderlyingMarket
from app.book.vols import SurfaceState, forwards
from app.domain import iso_utc
from app.domain.units import SECONDS_PER_YEAR
from app.engine.commands import SetSurface, SurfaceFitted
from app.errors import Conflict, DynhedgeError, UnknownSymbol
from app.surface import Quotes, SurfaceFit, fit_surface

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
    safe: dict[str, Any] = json_safe(out)
    return safe


def json_safe(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_safe(v) for v in x]
    if isinstance(x, np.generic):
        return json_safe(x.item())
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
