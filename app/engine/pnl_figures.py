"""The P&L figures of the desk, built on read from the ledger and the latest risk snapshots.

Per underlying, in $ since the start of the day (CONTRACT §8 "P&L"):
    pnl = realized + unrealized − fees, split by kind (options, convertibles, stock, hedge);
    attribution (predict terms + unexplained = the options' revaluation over the day);
    residual = options P&L + option fees − trade_edge − revaluation (what the intervals did not
    see: a mark away from the model at the start, the marks of `mark_source: mid`, a gap after
    a restart); trade_edge, hedge_slippage, and the hedge effectiveness.
The options of one underlying are valued with numpy over its rows (cached per ledger
version), so a read of a 200-option underlying costs no Python loop per option."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.book import UnderlyingRisk
from app.engine.pnl_desk import MID_MAX_AGE_S, PnlDesk
from app.pnl import Holding

KIND_FIGURES = {"option": "options", "convertible": "convertibles", "stock": "stock",
                "hedge": "hedge"}
TOTAL_FIELDS = ("pnl", "options", "convertibles", "stock", "hedge", "fees", "realized",
                "unrealized", "trade_edge", "hedge_slippage")


@dataclass(slots=True)
class _Options:
    """One underlying's option holdings as arrays aligned with its group's rows."""

    version: int
    group: object
    holdings: list[Holding]
    rows: np.ndarray  # index of each holding's row in the group
    quantity: np.ndarray
    cost: np.ndarray
    weight: np.ndarray  # multiplier
    realized: float
    fees: float
    others: list[Holding]  # the underlying's holdings not in the arrays
    top: int = 0  # the highest row index

    def __post_init__(self) -> None:
        self.top = int(self.rows.max()) if self.rows.size else -1


class PnlFigures:
    def __init__(self, desk: PnlDesk) -> None:
        self.desk = desk
        self._cache: dict[str, _Options] = {}
        self._by_underlying: tuple[int, dict[str, list[Holding]]] = (-1, {})

    def of(self, underlying: str) -> list[Holding]:
        """The holdings of one underlying (indexed once per ledger version)."""
        version, index = self._by_underlying
        if version != self.desk.version:
            index = {}
            for h in self.desk.ledger.holdings.values():
                index.setdefault(h.underlying, []).append(h)
            self._by_underlying = (self.desk.version, index)
        return index.get(underlying, [])

    def _options(self, underlying: str, holdings: list[Holding]) -> _Options | None:
        desk = self.desk
        group = desk.book.groups.get(underlying)
        c = self._cache.get(underlying)
        if c is not None and c.version == desk.version and c.group is group:
            return c
        opts = [h for h in holdings if h.kind == "option" and group is not None
                and h.symbol in group.index]
        if group is None or not opts:
            self._cache.pop(underlying, None)
            return None
        taken = {id(h) for h in opts}
        c = _Options(desk.version, group, opts,
                     np.array([group.index[h.symbol] for h in opts], dtype=np.intp),
                     np.array([h.quantity for h in opts]), np.array([h.cost for h in opts]),
                     np.array([h.multiplier for h in opts]),
                     sum(h.realized for h in opts), sum(h.fees for h in opts),
                     [h for h in holdings if id(h) not in taken])
        self._cache[underlying] = c
        return c

    def option_values(self, underlying: str, risk: UnderlyingRisk,
                      c: _Options) -> np.ndarray | None:
        """Each option holding's value per unit now: theo, or its fresh mid under
        `mark_source: mid`; None when the underlying is not valued."""
        rows = risk.options
        if not risk.valued or rows is None or c.top >= len(rows.symbols):
            return None
        values: np.ndarray = rows.raw[0][c.rows]
        m = self.desk.book.markets.get(underlying)
        if m is not None and m.mark_source == "mid" and self.desk.mids:
            values = values.copy()
            for k, h in enumerate(c.holdings):
                q = self.desk.mids.get(h.symbol)
                if q is not None and _fresh(q[0], m.option_tick_ts.get(h.symbol), risk.as_of):
                    values[k] = q[1]
        return values

    def linear_value(self, h: Holding, risk: UnderlyingRisk) -> float | None:
        own = self.desk.book.markets.get(h.symbol)
        if own is not None and own.spot is not None:
            return own.spot
        return risk.spot if risk.valued else None

    def convertible_value(self, h: Holding, risk: UnderlyingRisk) -> float | None:
        c = risk.convertibles
        if c is None:
            return None
        try:
            i = c.symbols.index(h.symbol)
        except ValueError:
            return None
        v = float(c.raw[0, i])
        return v if np.isfinite(v) else None

    def value_of(self, h: Holding, risk: UnderlyingRisk) -> float | None:
        if h.kind == "option":
            rows = risk.options
            if rows is None or not risk.valued:
                return None
            group = self.desk.book.groups.get(h.underlying)
            i = None if group is None else group.index.get(h.symbol)
            if i is None or i >= len(rows.symbols):
                return None
            c = _Options(0, group, [h], np.array([i]), np.zeros(1), np.zeros(1), np.zeros(1),
                         0.0, 0.0, [])
            v = self.option_values(h.underlying, risk, c)
            return None if v is None else float(v[0])
        if h.kind == "convertible":
            return self.convertible_value(h, risk)
        return self.linear_value(h, risk)

    # --- views ----------------------------------------------------------------------------

    def underlying(self, underlying: str, risk: UnderlyingRisk, with_explain: bool = True,
                   open_explain: bool = True) -> dict[str, Any]:
        """The figures of one underlying. `with_explain` False leaves `explain` out (None);
        `open_explain` False gives it up to the last closed interval only (`explain_to`,
        `explain_revaluation` say where): the open interval costs revaluations, the rest
        numpy sums only."""
        desk = self.desk
        holdings = self.of(underlying)
        by_kind = dict.fromkeys(KIND_FIGURES.values(), 0.0)
        fees = realized = unrealized = 0.0
        option_fees = 0.0
        priced = True
        c = self._options(underlying, holdings)
        if c is not None:
            v = self.option_values(underlying, risk, c)
            un = 0.0 if v is None else float(((v - c.cost) * c.quantity) @ c.weight)
            priced = v is not None or not c.quantity.any()
            by_kind["options"] += c.realized + un - c.fees
            fees += c.fees
            option_fees += c.fees
            realized += c.realized
            unrealized += un
        for h in (holdings if c is None else c.others):
            value = self.value_of(h, risk) if h.quantity else 0.0
            if value is None:
                priced = False
                value = h.cost
            un = h.unrealized(value)
            by_kind[KIND_FIGURES[h.kind]] += h.realized + un - h.fees
            fees += h.fees
            realized += h.realized
            unrealized += un
            if h.kind == "option":
                option_fees += h.fees
        edge, slip = desk.trade_figures(underlying)
        track = desk.tracks.get(underlying)
        attribution = None if track is None else track.attribution()
        steps, explain_to, explain_reval = (None, None, None) if (
            track is None or not with_explain) else track.explained(
            desk.revaluer(underlying), open_explain)
        revaluation = 0.0 if track is None else track.revaluation
        pnl = realized + unrealized - fees
        return {
            "underlying": underlying,
            "as_of": risk.as_of,
            "priced": priced,
            "pnl": pnl if priced else None,
            **{k: (x if priced else None) for k, x in by_kind.items()},
            "fees": fees,
            "realized": realized,
            "unrealized": unrealized if priced else None,
            "attribution": attribution,
            "explain": steps,
            "explain_to": explain_to,
            "explain_revaluation": explain_reval,
            "revaluation": revaluation,
            "residual": (by_kind["options"] + option_fees - edge - revaluation)
            if priced else None,
            "trade_edge": edge,
            "hedge_slippage": slip,
            "hedge_move": 0.0 if track is None else track.hedge_move,
            "effectiveness": None if track is None else _effectiveness(track, desk, underlying),
        }

    def positions(self, underlying: str, risk: UnderlyingRisk) -> list[dict[str, Any]]:
        out = []
        for h in sorted(self.of(underlying), key=lambda h: (h.kind, h.symbol)):
            value = self.value_of(h, risk) if h.quantity else None
            un = None if value is None and h.quantity else h.unrealized(value or 0.0)
            out.append({
                "symbol": h.symbol, "kind": h.kind, "quantity": h.quantity,
                "start_quantity": h.sod_quantity, "mark": h.mark, "average_cost": h.cost,
                "value": value, "multiplier": h.multiplier, "realized": h.realized,
                "unrealized": un, "fees": h.fees,
                "pnl": None if un is None else h.realized + un - h.fees,
            })
        return out

    def underlyings(self) -> list[str]:
        self.of("")  # the index is current
        return sorted(set(self._by_underlying[1]) | set(self.desk.tracks))


def totals(per: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Sums over the priced underlyings (`unpriced` lists the others)."""
    out: dict[str, Any] = dict.fromkeys(TOTAL_FIELDS, 0.0)
    unpriced = []
    for u, f in per.items():
        if not f["priced"]:
            unpriced.append(u)
            continue
        for k in TOTAL_FIELDS:
            out[k] += f[k] or 0.0
    out["unpriced"] = unpriced
    return out


def _effectiveness(track: Any, desk: PnlDesk, underlying: str) -> dict[str, Any]:
    """The track's variance figures with today's hedge trades from the ledger (journaled,
    so they are exact after a restart whatever the checkpoint held)."""
    e = track.effectiveness
    e.trades, e.cost = desk.hedge_trades(underlying)
    return e.figures()  # type: ignore[no-any-return]


def _fresh(ts: float, last_option_tick: float | None, as_of: float | None) -> bool:
    return (last_option_tick is not None and ts >= last_option_tick and as_of is not None
            and as_of - ts <= MID_MAX_AGE_S)


def marks_now(figures: PnlFigures, risks: dict[str, UnderlyingRisk],
              unmarked_only: bool) -> tuple[tuple[str, str, float], ...]:
    """(underlying, symbol, value per unit now) of each holding with a quantity — only those
    still without a mark when `unmarked_only` — whose underlying is valued."""
    desk = figures.desk
    out = []
    for (u, sym), h in desk.ledger.holdings.items():
        if unmarked_only and (h.mark is not None or not h.sod_quantity):
            continue
        if not unmarked_only and not h.quantity:
            continue
        risk = risks.get(u)
        if risk is None:
            continue
        value = figures.value_of(h, risk)
        if value is not None:
            out.append((u, sym, value))
    return tuple(out)
