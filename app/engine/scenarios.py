"""Scenario P&L by full revaluation (issue 14): what the book gains or loses under a spot,
vol, time and rate shock, per underlying and in total, with the delta, gamma and vega after.

Every cell revalues each underlying's options (and convertibles) through the same pricing as
the risk view — `OptionGroup.revalue`: quotes, the surface and its stickiness, American rows —
and touches no state. Stock, future and hedge positions move by their delta × the spot move.

Presets:
- `span16`: the 16 SPAN scenarios per underlying — price 0, ±⅓, ±⅔, ±1 of its price scan range
  (`price_scan_pct` % of spot), each with vol up and down by its vol scan range (`vol_scan`,
  absolute), and the two extreme moves of ±2 ranges (vol unchanged) counted at 35 %; the
  worst cell's loss is the underlying's `span_risk`, and the book's is their sum;
- `grid`: spot −30 … +30 % in 7 steps × vol −30, −15, 0, +15, +30 % relative × rate −100,
  −50, 0, +50, +100 bp (175 cells);
- `pm`: spot −15 … +15 % in ten equal steps, vol unchanged (the portfolio-margin convention).

`move: beta` moves each underlying by its beta × the given spot move (a benchmark's move)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from app.book.vols import option_vols
from app.domain.units import SECONDS_PER_DAY, VOL_POINT
from app.errors import InvalidInput, UnknownSymbol

if TYPE_CHECKING:
    from app.book import Book, UnderlyingMarket

PRESETS = ("span16", "grid", "pm")
MAX_CELLS = 5_000
SPAN_EXTREME_WEIGHT = 0.35
GRID_SPOTS = (-30.0, -20.0, -10.0, 0.0, 10.0, 20.0, 30.0)
GRID_VOLS = (-0.30, -0.15, 0.0, 0.15, 0.30)
GRID_RATES = (-100.0, -50.0, 0.0, 50.0, 100.0)
PM_SPOTS = tuple(-15.0 + 3.0 * i for i in range(11))
# span16 in scan ranges: (price fraction, vol direction, weight), SPAN's order
SPAN16 = tuple(
    [(p, v, 1.0) for p in (0.0, 1 / 3, -1 / 3, 2 / 3, -2 / 3, 1.0, -1.0) for v in (1.0, -1.0)]
    + [(2.0, 0.0, SPAN_EXTREME_WEIGHT), (-2.0, 0.0, SPAN_EXTREME_WEIGHT)])


@dataclass(frozen=True, slots=True)
class ScenarioRequest:
    """What POST /v1/risk/scenarios asks. Vol moves are fractions: absolute (0.04 = +4 vol
    points) or relative (−0.3 = vol × 0.7); rate moves in basis points."""

    underlyings: tuple[str, ...] | None = None
    preset: str | None = None
    spot_moves_pct: tuple[float, ...] = (0.0,)
    vol_moves: tuple[float, ...] = (0.0,)
    vol_mode: str = "absolute"
    rate_moves_bp: tuple[float, ...] = (0.0,)
    days_forward: float = 0.0
    move: str = "own"  # or "beta"

    def resolved(self) -> ScenarioRequest:
        """The request with a preset's axes filled in (InvalidInput when it gives both)."""
        if self.preset is None:
            cells = len(self.spot_moves_pct) * len(self.vol_moves) * len(self.rate_moves_bp)
            if cells > MAX_CELLS:
                raise InvalidInput("spot_moves_pct", f"{cells} cells: at most {MAX_CELLS}")
            return self
        axes: tuple[tuple[float, ...], tuple[float, ...], str, tuple[float, ...]]
        if self.preset == "grid":
            axes = (GRID_SPOTS, GRID_VOLS, "relative", GRID_RATES)
        elif self.preset == "pm":
            axes = (PM_SPOTS, (0.0,), "relative", (0.0,))
        else:
            axes = ((), (), "absolute", (0.0,))  # span16: per underlying, from its scan ranges
        return ScenarioRequest(self.underlyings, self.preset, axes[0], axes[1], axes[2],
                               axes[3], self.days_forward, self.move)


@dataclass(frozen=True, slots=True)
class Shock:
    spot_pct: float  # before beta
    vol: float  # the vol move (absolute or relative, as the request's vol_mode)
    rate_bp: float
    weight: float = 1.0
    scenario: int | None = None  # span16: 1 … 16


def shocks_for(req: ScenarioRequest, market: UnderlyingMarket) -> list[Shock]:
    """The cells of one underlying, in answer order (spot, then vol, then rate)."""
    if req.preset == "span16":
        return [Shock(p * market.price_scan_pct, v * market.vol_scan, 0.0, w, i + 1)
                for i, (p, v, w) in enumerate(SPAN16)]
    return [Shock(s, v, r) for s in req.spot_moves_pct for v in req.vol_moves
            for r in req.rate_moves_bp]


def revalue_underlying(book: Book, underlying: str, shocks: list[Shock], req: ScenarioRequest
                       ) -> dict[str, np.ndarray] | None:
    """P&L and the figures after each shock for one underlying (arrays aligned with
    `shocks`), None when it has no spot. Nothing in the book changes."""
    m = book.markets.get(underlying)
    if m is None or m.spot is None or m.as_of is None:
        return None
    spot0, t0 = m.spot, m.as_of
    beta = m.beta if req.move == "beta" else 1.0
    n = len(shocks)
    pnl, delta, gamma, vega = (np.zeros(n) for _ in range(4))
    new_spot = np.array([spot0 * max(1.0 + beta * s.spot_pct / 100.0, 1e-6) for s in shocks])
    as_of = t0 + req.days_forward * SECONDS_PER_DAY
    linear = book.linear_delta(underlying)
    pnl += linear * (new_spot - spot0)
    delta += linear
    group = book.groups.get(underlying)
    if group is not None and group.n:
        size = group.quantity[: group.n] * group.multiplier[: group.n]
        base = group.revalue(spot0, t0, m)[0][0]
        base_vols: dict[float, np.ndarray] = {}
        for k, s in enumerate(shocks):
            sp = float(new_spot[k])
            vols = base_vols.get(sp)
            if vols is None:
                vols = base_vols[sp] = _vols_at(group, m, sp, as_of)
            shift, scale = (s.vol, 1.0) if req.vol_mode == "absolute" else (0.0, 1.0 + s.vol)
            out, _ = group.revalue(sp, as_of, m, vol_shift=shift, vol_scale=scale,
                                   rate_shift=s.rate_bp * 1e-4, vols=vols)
            pnl[k] += (out[0] - base) @ size
            delta[k] += out[1] @ size
            gamma[k] += out[2] @ size
            vega[k] += out[3] @ size * VOL_POINT
    bonds = book.convertibles.get(underlying)
    if bonds is not None and bonds.n:
        qty = bonds.quantity
        base = np.nan_to_num(bonds.revalue(spot0, t0, m)[0][0])
        for k, s in enumerate(shocks):
            shift, scale = (s.vol, 1.0) if req.vol_mode == "absolute" else (0.0, 1.0 + s.vol)
            out, _ = bonds.revalue(float(new_spot[k]), as_of, m, vol_shift=shift,
                                   vol_scale=scale, rate_shift=s.rate_bp * 1e-4)
            out = np.nan_to_num(out)
            pnl[k] += (out[0] - base) @ qty
            delta[k] += out[1] @ qty
            gamma[k] += out[2] @ qty
            vega[k] += out[3] @ qty * VOL_POINT
    weight = np.array([s.weight for s in shocks])
    return {"pnl": pnl * weight, "delta": delta, "gamma": gamma, "vega": vega,
            "spot": new_spot}


def _vols_at(group: Any, m: UnderlyingMarket, spot: float, as_of: float) -> np.ndarray:
    n = group.n
    return option_vols(group.iv[:n], group.iv_ts[:n], m.vol, m.surface, group.sticky,
                       group.strike[:n], group.expiry[:n], spot, as_of, m.rate, m.div_yield,
                       m.is_future).vol


def run(book: Book, req: ScenarioRequest, names: list[str]) -> dict[str, Any]:
    """The whole answer: per underlying (`names`, or the request's), and the book's total."""
    req = req.resolved()
    if req.underlyings is not None:
        for i, u in enumerate(req.underlyings):
            if u not in book.markets:
                raise UnknownSymbol(f"underlyings.{i}", u)
        names = list(dict.fromkeys(req.underlyings))
    parts: dict[str, Any] = {}
    unpriced: dict[str, str] = {}
    total: dict[str, np.ndarray] | None = None
    span_total = 0.0
    shocks: list[Shock] = []
    for u in names:
        m = book.markets.get(u)
        if m is None:
            unpriced[u] = "no market parameters"
            continue
        shocks = shocks_for(req, m)
        got = revalue_underlying(book, u, shocks, req)
        if got is None:
            unpriced[u] = "no spot"
            continue
        dollar = got["delta"] * got["spot"]
        part = _part(shocks, got, req, dollar)
        part.update(spot=m.spot, beta=m.beta)
        if req.preset == "span16":
            part.update(price_scan_pct=m.price_scan_pct, vol_scan=m.vol_scan,
                        span_risk=part["loss"])
            span_total += part["loss"]
        parts[u] = part
        add = {"pnl": got["pnl"], "dollar_delta": dollar, "vega": got["vega"]}
        total = add if total is None else {k: total[k] + add[k] for k in total}
    out: dict[str, Any] = {
        "preset": req.preset,
        "vol_mode": req.vol_mode,
        "move": req.move,
        "days_forward": req.days_forward,
        "axes": {"spot_moves_pct": list(req.spot_moves_pct), "vol_moves": list(req.vol_moves),
                 "rate_moves_bp": list(req.rate_moves_bp)},
        "total": _total(shocks, total, req),
        "underlyings": parts,
        "unpriced": unpriced,
    }
    if req.preset == "span16":
        out["axes"] = {"price_scan_fractions": [p for p, _, _ in SPAN16],
                       "vol_scan_directions": [v for _, v, _ in SPAN16],
                       "weights": [w for _, _, w in SPAN16]}
        out["total"]["span_risk"] = span_total
    return out


def _num(x: float) -> float | None:
    return float(x) + 0.0 if math.isfinite(x) else None


def _cell(s: Shock, req: ScenarioRequest) -> dict[str, Any]:
    cell: dict[str, Any] = {"spot_move_pct": s.spot_pct, "vol_move": s.vol,
                            "rate_move_bp": s.rate_bp}
    if s.scenario is not None:
        cell.update(scenario=s.scenario, weight=s.weight)
    return cell


def _part(shocks: list[Shock], got: dict[str, np.ndarray], req: ScenarioRequest,
          dollar: np.ndarray) -> dict[str, Any]:
    cells = [{**_cell(s, req), "pnl": _num(got["pnl"][k]), "delta": _num(got["delta"][k]),
              "gamma": _num(got["gamma"][k]), "vega": _num(got["vega"][k]),
              "dollar_delta": _num(dollar[k])} for k, s in enumerate(shocks)]
    return _with_worst(cells)


def _total(shocks: list[Shock], total: dict[str, np.ndarray] | None,
           req: ScenarioRequest) -> dict[str, Any]:
    if total is None:
        return {"cells": [], "worst": None, "loss": 0.0}
    cells = []
    for k, s in enumerate(shocks):
        cell = _cell(s, req)
        if req.preset == "span16":  # each underlying has its own scan ranges: fractions here
            p, v, _ = SPAN16[k]
            cell.update(spot_move_pct=None, vol_move=None, price_scan_fraction=p,
                        vol_scan_direction=v)
        cells.append({**cell, "pnl": _num(total["pnl"][k]),
                      "dollar_delta": _num(total["dollar_delta"][k]),
                      "vega": _num(total["vega"][k])})
    return _with_worst(cells)


def _with_worst(cells: list[dict[str, Any]]) -> dict[str, Any]:
    priced = [c for c in cells if c["pnl"] is not None]
    worst = min(priced, key=lambda c: c["pnl"]) if priced else None
    loss = max(0.0, -worst["pnl"]) if worst is not None else 0.0
    return {"cells": cells, "worst": worst, "loss": loss + 0.0}


def book_part(book: Book, preset: str) -> list[float | None] | None:
    """The book's part of a firm-wide worst loss of `preset` (app.engine.firm_book): span16
    `[span risk]` (a sum over underlyings, so the firm's is the sum of the parts); grid and
    pm the book's P&L per cell (None: a cell it could not price), since the firm's worst is
    the worst cell of the summed cells, not the sum of each book's worst. None when nothing
    is valued."""
    ans = run(book, ScenarioRequest(preset=preset), sorted(book.markets))
    if not ans["underlyings"]:
        return None
    total = ans["total"]
    if preset == "span16":
        return [float(total["span_risk"])]
    return [c["pnl"] for c in total["cells"]]


def worst_loss(book: Book, underlying: str, preset: str) -> float | None:
    """The loss of the worst cell of `preset` for one underlying; None when it is not
    valued. What an underlying's `scenario_loss` limit watches (the book's: `book_part`)."""
    ans = run(book, ScenarioRequest(preset=preset), [underlying])
    if not ans["underlyings"]:
        return None
    total = ans["total"]
    return float(total["span_risk"] if preset == "span16" else total["loss"])
