"""The book a backtest runs: the same JSON the service loads, plus its market parameters.

A book file is `{"start": ISO time, "underlyings": {SYM: {spot, rate, div_yield, vol, hedge?}},
"positions": [items of PUT /v1/positions]}`; position items are `{symbol, quantity, …instrument
fields}` and an OCC symbol alone defines an option on a stock (CONTRACT §2, §3).

Inside, each underlying's book is a set of arrays (`Legs`): one row per distinct option, its
weight in share-equivalents (quantity × multiplier), plus the delta-one holding (stock or
futures, in shares of the underlying). Convertible bonds (`type: convertible`) are held as
they are (`convertibles`, priced along the paths by `app.backtest.convertibles`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.backtest.convertibles import BondHolding
from app.domain import InstrumentType, canonical_symbol, instrument_from_fields, parse_ts
from app.domain.instrument import ex_time_from
from app.errors import InvalidInput
from app.hedging.policy import HedgeSpec
from app.pricing.arrays import FloatArray

# The worked example: short 100 at-the-money calls (multiplier 100) on a $100 stock that
# expire in 20 trading days (4 calendar weeks: start and expiry both at the 16:00 NY close).
DEFAULT_BOOK: dict[str, Any] = {
    "start": "2025-01-06T21:00:00Z",
    "underlyings": {"XYZ": {"spot": 100.0, "rate": 0.04, "div_yield": 0.0, "vol": 0.20}},
    "positions": [{"symbol": "XYZ   250203C00100000", "quantity": -100}],
}


@dataclass(frozen=True, slots=True)
class Legs:
    """The options of one underlying's book as arrays, all shape (n_options,).

    `weight` is quantity × multiplier (share-equivalents; negative when short); `expiry` in
    epoch seconds; `strike` in $ of the underlying.
    """

    is_call: NDArray[np.bool_]
    strike: FloatArray
    expiry: FloatArray
    weight: FloatArray
    american: NDArray[np.bool_] | None = None  # None: every row European

    @property
    def size(self) -> int:
        return int(self.strike.shape[0])

    @property
    def is_american(self) -> NDArray[np.bool_]:
        if self.american is None:
            return np.zeros(self.size, dtype=bool)
        return self.american

    @staticmethod
    def empty() -> Legs:
        z = np.zeros(0)
        return Legs(np.zeros(0, dtype=bool), z, z, z)

    def merged(self) -> Legs:
        """One row per distinct (call/put, strike, expiry, style): weights summed, zero rows
        dropped."""
        if self.size == 0:
            return self
        keys = np.stack([self.is_call.astype(np.float64), self.strike, self.expiry,
                         self.is_american.astype(np.float64)], axis=1)
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        weight = np.zeros(uniq.shape[0])
        np.add.at(weight, inverse.ravel(), self.weight)
        keep = weight != 0.0
        american = uniq[keep, 3] > 0.5
        return Legs(uniq[keep, 0] > 0.5, uniq[keep, 1], uniq[keep, 2], weight[keep],
                    american if american.any() else None)

    def concat(self, other: Legs) -> Legs:
        american = np.concatenate([self.is_american, other.is_american])
        return Legs(np.concatenate([self.is_call, other.is_call]),
                    np.concatenate([self.strike, other.strike]),
                    np.concatenate([self.expiry, other.expiry]),
                    np.concatenate([self.weight, other.weight]),
                    american if american.any() else None)


@dataclass(frozen=True, slots=True)
class UnderlyingBook:
    """One underlying: its market parameters, its options and its delta-one holding.

    `spot` $, `rate` and `div_yield` continuous per year, `vol` the flat implied vol the book
    is priced at; `delta_one` in shares of the underlying (stock, or futures × multiplier);
    `is_future` selects Black-76 and a hedge that needs no financing.
    """

    symbol: str
    spot: float
    rate: float
    div_yield: float
    vol: float
    legs: Legs
    delta_one: float = 0.0
    is_future: bool = False
    hedge: HedgeSpec = field(default_factory=lambda: HedgeSpec("?"))
    convertibles: tuple[BondHolding, ...] = ()
    dividends: tuple[tuple[float, float], ...] = ()  # (ex time epoch s, cash per share)

    @property
    def model(self) -> str:
        return "black76" if self.is_future else "bsm"

    @property
    def carry(self) -> float:
        """Growth rate of the underlying under the pricing measure, per year (r − q; 0 for a
        future)."""
        return 0.0 if self.is_future else self.rate - self.div_yield


@dataclass(frozen=True, slots=True)
class Scenario:
    """A loaded book: `start` and `end` in epoch seconds. `end` is the last expiry, or the
    book file's optional `end` (a horizon for a book of stock only, e.g. portfolio insurance)."""

    start: float
    underlyings: tuple[UnderlyingBook, ...]
    horizon: float | None = None

    @property
    def end(self) -> float:
        if self.horizon is not None:
            return self.horizon
        expiries = [float(u.legs.expiry.max()) for u in self.underlyings if u.legs.size]
        expiries += [b.spec.maturity for u in self.underlyings for b in u.convertibles]
        if not expiries:
            raise InvalidInput("end", "the book holds no option: give an end time")
        return max(expiries)

    @property
    def life_s(self) -> float:
        return self.end - self.start


def _number(raw: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
    value = raw.get(key, default)
    if value is None:
        raise InvalidInput(f"{where}.{key}", "required")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{where}.{key}", "must be a number") from None
    if not np.isfinite(x):
        raise InvalidInput(f"{where}.{key}", "must be finite")
    return x


def scenario_from_mapping(data: dict[str, Any]) -> Scenario:
    """Build a `Scenario` from a book mapping; raises `InvalidInput` naming the field."""
    if "start" not in data:
        raise InvalidInput("start", "required (ISO-8601 time)")
    try:
        start = parse_ts(data["start"], "start")
    except ValueError as exc:
        raise InvalidInput("start", str(exc)) from None
    params = data.get("underlyings") or {}
    if not isinstance(params, dict) or not params:
        raise InvalidInput("underlyings", "a mapping of at least one underlying is required")
    items = data.get("positions")
    if not isinstance(items, list):
        raise InvalidInput("positions", "a list of position items is required")

    per_under: dict[str, dict[str, Any]] = {
        sym: {"calls": [], "strikes": [], "expiries": [], "weights": [], "styles": [],
              "delta_one": 0.0, "future": False, "bonds": []}
        for sym in params
    }
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "symbol" not in item:
            raise InvalidInput(f"positions[{i}].symbol", "required")
        fields = {k: v for k, v in item.items() if k not in ("symbol", "quantity")}
        try:
            inst = instrument_from_fields(canonical_symbol(str(item["symbol"])), fields)
        except ValueError as exc:
            raise InvalidInput(f"positions[{i}]", str(exc)) from None
        qty = _number(item, "quantity", f"positions[{i}]")
        acc = per_under.get(inst.underlying)
        if acc is None:
            raise InvalidInput(f"positions[{i}].underlying",
                               f"{inst.underlying!r} has no entry in underlyings")
        if inst.convertible is not None:
            if inst.convertible.maturity > start:
                acc["bonds"].append(BondHolding(inst.symbol, inst.convertible, qty))
        elif inst.is_option:
            if inst.expiry is not None and inst.expiry <= start:
                continue  # expired before the run starts: not part of the risk
            acc["calls"].append(inst.is_call)
            acc["strikes"].append(inst.strike)
            acc["expiries"].append(inst.expiry)
            acc["weights"].append(qty * inst.multiplier)
            acc["styles"].append(inst.style)  # None: the underlying's option_style
        else:
            acc["delta_one"] += qty * inst.multiplier
            if inst.type is InstrumentType.FUTURE:
                acc["future"] = True

    books = []
    for sym, raw in params.items():
        where = f"underlyings.{sym}"
        if not isinstance(raw, dict):
            raise InvalidInput(where, "must be a mapping")
        acc = per_under[sym]
        option_style = str(raw.get("option_style", "european")).lower()
        if option_style not in ("european", "american"):
            raise InvalidInput(f"{where}.option_style", "must be european or american")
        american = np.array([(st or option_style) == "american" for st in acc["styles"]],
                            dtype=bool)
        legs = Legs(
            np.asarray(acc["calls"], dtype=bool),
            np.asarray(acc["strikes"], dtype=np.float64),
            np.asarray(acc["expiries"], dtype=np.float64),
            np.asarray(acc["weights"], dtype=np.float64),
            american if american.any() else None,
        ).merged()
        hedge_raw = raw.get("hedge") or {}
        hedge = HedgeSpec(
            instrument=str(hedge_raw.get("instrument", sym)),
            multiplier=_number(hedge_raw, "multiplier", f"{where}.hedge", 1.0),
            ratio=_number(hedge_raw, "ratio", f"{where}.hedge", 1.0),
            lot_size=_number(hedge_raw, "lot_size", f"{where}.hedge", 1.0),
        )
        spot, vol = _number(raw, "spot", where), _number(raw, "vol", where)
        if spot <= 0:
            raise InvalidInput(f"{where}.spot", "must be > 0")
        if not 0 < vol <= 10:
            raise InvalidInput(f"{where}.vol", "must be in (0, 10]")
        is_future = bool(acc["future"] or raw.get("type") == "future")
        dividends = _dividends(raw.get("dividends") or [], where, start)
        if dividends and is_future:
            raise InvalidInput(f"{where}.dividends", "a future pays no cash dividend")
        books.append(UnderlyingBook(
            symbol=sym, spot=spot, rate=_number(raw, "rate", where, 0.0),
            div_yield=_number(raw, "div_yield", where, 0.0), vol=vol, legs=legs,
            delta_one=float(acc["delta_one"]), is_future=is_future, hedge=hedge,
            convertibles=tuple(acc["bonds"]), dividends=dividends,
        ))
    horizon = None
    if data.get("end") is not None:
        try:
            horizon = parse_ts(data["end"], "end")
        except ValueError as exc:
            raise InvalidInput("end", str(exc)) from None
    scenario = Scenario(start=start, underlyings=tuple(books), horizon=horizon)
    if scenario.end <= start:
        raise InvalidInput("end", "the book's last expiry (or end) must come after start")
    return scenario


def _dividends(raw: Any, where: str, start: float) -> tuple[tuple[float, float], ...]:
    """`dividends: [{ex_date, amount}]` of an underlying (as PUT /v1/underlyings takes them):
    the ones going ex after `start`, in time order."""
    if not isinstance(raw, list):
        raise InvalidInput(f"{where}.dividends", "a list of {ex_date, amount} is required")
    out = []
    for j, item in enumerate(raw):
        at = f"{where}.dividends.{j}"
        if not isinstance(item, dict) or "ex_date" not in item:
            raise InvalidInput(f"{at}.ex_date", "required")
        try:
            ex = ex_time_from(item["ex_date"])
        except ValueError as exc:
            raise InvalidInput(f"{at}.ex_date", str(exc)) from None
        amount = _number(item, "amount", at)
        if not (math.isfinite(amount) and amount >= 0.0):
            raise InvalidInput(f"{at}.amount", "must be a finite cash amount >= 0")
        if ex > start:
            out.append((ex, amount))
    return tuple(sorted(out))


def load_book(path: str | Path | None) -> Scenario:
    """The book file at `path`, or the worked example when None."""
    if path is None:
        return scenario_from_mapping(DEFAULT_BOOK)
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise InvalidInput("book", f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidInput("book", "must be a JSON object")
    return scenario_from_mapping(data)
