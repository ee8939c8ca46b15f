"""One underlying's attribution over the day, accumulated at every recompute.

At each recompute the interval since the previous one is attributed with `app.pnl.predict`
(the Greeks of the options held at the start of the interval times the moves over it: spot,
each option's own vol, time, rate) and the options' revaluation change over it — the same
holdings valued at the new point — is added up; `unexplained` = revaluation − the terms'
sum, so the terms plus unexplained are the revaluation exactly. The hedge's and the stock's
moves (their shares × the spot move) and the hedge effectiveness (`app.pnl.Effectiveness`,
1-minute buckets of event time) are kept beside it.

Cost per recompute: a few numpy operations over the underlying's option rows, no Python loop
per option. Everything here is plain state: `record()` / `of_record()` checkpoint it."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.book.risk import OptionRows
from app.domain.units import SECONDS_PER_YEAR
from app.pnl import EXPLAIN_STEPS, PREDICT_TERMS, Effectiveness, MarketPoint, explain, predict
from app.pnl.effectiveness import _Moments

_BATCH = 256
# revalue(spot, as_of, vols (one per current row), rate) -> price per unit of each row
Revalue = Callable[[float, float, np.ndarray, float], np.ndarray]


@dataclass(slots=True)
class Point:
    """Where the underlying was valued last: the option rows (immutable snapshot), spot,
    event time, rate, and the hedge's and the stock's shares then."""

    rows: OptionRows | None
    spot: float
    as_of: float
    rate: float
    hedge_shares: float
    stock_shares: float
    version: int = 0  # the options' version then: their holdings change only when it does


@dataclass(slots=True)
class Track:
    terms: dict[str, float] = field(default_factory=lambda: dict.fromkeys(PREDICT_TERMS, 0.0))
    steps: dict[str, float] = field(default_factory=lambda: dict.fromkeys(EXPLAIN_STEPS, 0.0))
    revaluation: float = 0.0  # the options' revaluation change over the day's intervals, $
    hedge_move: float = 0.0  # the hedge's shares × spot moves, $
    stock_move: float = 0.0
    intervals: int = 0
    effectiveness: Effectiveness = field(default_factory=Effectiveness)
    last: Point | None = None
    as_of: float | None = None  # event time of the last interval's end
    anchor: Point | None = None  # where the open explain interval starts
    explained_to: float | None = None  # the event time the closed intervals reach
    explained_revaluation: float = 0.0  # the revaluation then (what they sum to)
    # per interval not yet through predict: delta, gamma, vega·dσ, theta, rho, vanna·dσ,
    # volga·dσ² of the options held (raw units × quantity × multiplier), dS, dt, dr
    _buf: np.ndarray = field(default_factory=lambda: np.zeros((10, _BATCH)))
    _k: int = 0
    _open: tuple[Point | None, dict[str, float] | None] = (None, None)  # read cache

    def observe(self, rows: OptionRows | None, spot: float, as_of: float, rate: float,
                hedge_shares: float, stock_shares: float, revalue: Revalue | None = None,
                version: int = 0) -> None:
        """The underlying was revalued at (spot, as_of, rate) with these option rows.
        `revalue` prices the current rows at another point (for `explain`, run when an
        explain interval closes: the holdings changed, or a minute of event time passed)."""
        p = self.last
        new = self.last = Point(rows, spot, as_of, rate, hedge_shares, stock_shares, version)
        if p is None:
            self._anchor_at(new)
            return
        ds = spot - p.spot
        self.hedge_move += p.hedge_shares * ds
        self.stock_move += p.stock_shares * ds
        self.intervals += 1
        self.as_of = as_of
        before = p.rows
        if before is not None and rows is not None:
            n = len(before.symbols)
            # rows only grow within a day (a fill appends; a load starts a new day and new
            # tracks): the first n are the same options
            if n and len(rows.symbols) >= n and rows.symbols[n - 1] == before.symbols[n - 1]:
                w = before.size
                raw = before.raw
                # the book's Greeks (one matrix product); the vol terms weighted by each
                # option's own vol move, so predict runs with dσ = 1 on the interval's sums
                g = raw[1:8] @ w
                dvol = rows.iv[:n] - before.iv
                if dvol.any():
                    wd = w * dvol
                    g[2], g[5] = raw[3] @ wd, raw[6] @ wd
                    g[6] = raw[7] @ (wd * dvol)
                else:
                    g[2] = g[5] = g[6] = 0.0
                k = self._k
                if k == _BATCH:
                    self.flush()
                    k = 0
                self._buf[:7, k] = g
                self._buf[7:, k] = (ds, (as_of - p.as_of) / SECONDS_PER_YEAR, rate - p.rate)
                self._k = k + 1
                self.revaluation += float(w @ (rows.raw[0, :n] - raw[0]))
        self.effectiveness.observe(as_of, self.revaluation,
                                   self.revaluation + self.hedge_move)
        a = self.anchor
        if a is None or (version != p.version and _weights_changed(p.rows, rows)) or (
                math.floor(as_of / 60.0) != math.floor(a.as_of / 60.0)):
            steps = None if a is None or revalue is None else explain_between(a, new, revalue)
            if steps is not None:
                for name in EXPLAIN_STEPS:
                    self.steps[name] += steps[name]
            self._anchor_at(new)

    def _anchor_at(self, point: Point) -> None:
        """The open explain interval starts at `point`: what is closed covers the day up to
        it, and the revaluation then."""
        self.anchor = point
        self.explained_to = point.as_of
        self.explained_revaluation = self.revaluation

    def explained(self, revalue: Revalue | None,
                  open_interval: bool = True) -> tuple[dict[str, float], float | None, float]:
        """The explain steps of the day, the event time they reach and the revaluation they
        sum to: the closed intervals, and (`open_interval`) the open one — anchor to the last
        valuation, revalued once per valuation and kept."""
        out = dict(self.steps)
        a, last = self.anchor, self.last
        if (not open_interval or a is None or last is None or last is a
                or revalue is None):
            return out, self.explained_to, self.explained_revaluation
        if self._open[0] is not last:
            self._open = (last, explain_between(a, last, revalue))
        opened = self._open[1]
        if opened is None:
            return out, self.explained_to, self.explained_revaluation
        for name in EXPLAIN_STEPS:
            out[name] += opened[name]
        return out, last.as_of, self.revaluation

    def flush(self) -> None:
        """Run `predict` over the intervals observed since the last flush (one call for up
        to _BATCH intervals: the tick path only stores each interval's Greeks and moves)."""
        k = self._k
        if not k:
            return
        b = self._buf[:, :k]
        terms = predict(b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], 1.0, b[8], b[9])
        for name in PREDICT_TERMS:
            self.terms[name] += float(terms[name].sum())
        self._k = 0

    def new_day(self) -> None:
        """The day closed: the sums start again from the last point."""
        self.flush()
        last = self.last
        fresh = Track()
        for name in Track.__slots__:
            setattr(self, name, getattr(fresh, name))
        self.last = last
        if last is not None:
            self._anchor_at(last)

    def attribution(self) -> dict[str, float]:
        self.flush()
        out = {name: self.terms[name] for name in PREDICT_TERMS}
        out["unexplained"] = self.revaluation - sum(out.values())
        return out

    # --- checkpoint -----------------------------------------------------------------------

    def record(self, revalue: Revalue | None = None) -> dict[str, Any]:
        """The sums, the open explain interval closed into them (not the last point: a
        restart starts the next interval at its first recompute)."""
        e = self.effectiveness
        self.flush()
        return {
            "terms": dict(self.terms), "steps": self.explained(revalue)[0],
            "revaluation": self.revaluation,
            "hedge_move": self.hedge_move, "stock_move": self.stock_move,
            "intervals": self.intervals, "as_of": self.as_of,
            "effectiveness": {
                "bucket_s": e.bucket_s, "bucket": e.bucket,
                "options": [e.options.n, e.options.mean, e.options.m2],
                "hedged": [e.hedged.n, e.hedged.mean, e.hedged.m2],
                "options_at_start": e.options_at_start, "hedged_at_start": e.hedged_at_start,
                "last_options": e.last_options, "last_hedged": e.last_hedged,
                "trades": e.trades, "cost": e.cost,
            },
        }

    @classmethod
    def of_record(cls, d: dict[str, Any]) -> Track:
        t = cls()
        t.terms.update({k: float(v) for k, v in d["terms"].items() if k in t.terms})
        t.steps.update({k: float(v) for k, v in (d.get("steps") or {}).items() if k in t.steps})
        t.revaluation, t.hedge_move = float(d["revaluation"]), float(d["hedge_move"])
        t.stock_move, t.intervals = float(d["stock_move"]), int(d["intervals"])
        t.as_of = d.get("as_of")
        # the record closed its open interval: the steps reach its last valuation
        t.explained_to, t.explained_revaluation = t.as_of, t.revaluation
        e = d["effectiveness"]
        t.effectiveness = Effectiveness(
            bucket_s=e["bucket_s"], options=_Moments(*e["options"]),
            hedged=_Moments(*e["hedged"]), bucket=e["bucket"],
            options_at_start=e["options_at_start"], hedged_at_start=e["hedged_at_start"],
            last_options=e["last_options"], last_hedged=e["last_hedged"],
            trades=e["trades"], cost=e["cost"])
        return t


def _weights_changed(a: OptionRows | None, b: OptionRows | None) -> bool:
    if a is None or b is None:
        return a is not b
    return len(a.symbols) != len(b.symbols) or not np.array_equal(a.size, b.size)


def explain_between(a: Point, b: Point, revalue: Revalue) -> dict[str, float] | None:
    """`app.pnl.explain` of the options held at `a` from point `a` to point `b` (time, spot,
    vol, rate; each step priced at the new time); its steps sum to their value change.
    None when the rows are not the same options."""
    ra, rb = a.rows, b.rows
    if ra is None or rb is None:
        return None if ra is not rb else dict.fromkeys(EXPLAIN_STEPS, 0.0)
    n, big = len(ra.symbols), len(rb.symbols)
    if big < n or rb.symbols[:n] != ra.symbols:
        return None
    w = np.zeros(big)
    w[:n] = ra.size
    vols_a = rb.iv.copy()
    vols_a[:n] = ra.iv

    def value(p: MarketPoint) -> np.ndarray:
        return np.asarray(revalue(float(p.spot), p.t, np.asarray(p.vols), float(p.rate)) @ w)

    v0 = np.asarray(ra.raw[0] @ ra.size)
    v1 = np.asarray(rb.raw[0, :n] @ ra.size)
    steps = explain(value, MarketPoint(a.as_of, a.spot, vols_a, a.rate),
                    MarketPoint(b.as_of, b.spot, rb.iv, b.rate), v0=v0, v1=v1)
    return {name: float(steps[name]) for name in EXPLAIN_STEPS}
