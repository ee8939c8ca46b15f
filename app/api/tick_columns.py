"""A frame of ticks validated in bulk: the plain spot ticks as columns, the rest one by one.

A plain spot tick is an object with exactly `symbol` (a valid symbol), `price` (a float, or an
int below 2**53, finite and > 0), optionally `ts` (a float in the event-time window) and
`type: "tick"` (the ingest socket's message type) — the common frame of a feed handler. Such
items are checked a column at a time: the types of a whole column in one set, the numbers with
numpy. Whatever is not plain (an option quote, an ISO `ts`, a bad field, a repeated
`null`…) goes through the per-item parser (`app.api.ingest.parse_ticks`), so its answer — the
Tick, or the field and reason that reject it — is the per-item path's own. An item is taken
as plain only when that parser would accept it as the same Tick: the fast path never
decides an answer the per-item path would not give (tests/api/test_tick_frame_parity.py)."""

from __future__ import annotations

from itertools import compress, repeat
from typing import Any

import numpy as np

from app.api.ingest import parse_ticks
from app.api.schemas import check_symbol
from app.domain.timefmt import EARLIEST_EVENT_TS, LATEST_TS
from app.engine.commands import TickFrame

_EXACT_INT = 2.0**53  # an int price below this is the same number as a float
_NUMBER = frozenset({float, int})
_STR = frozenset({str})
_FLOAT = frozenset({float})
_TS = frozenset({float, type(None)})
_VALID_SYMBOLS: set[str] = set()  # symbols check_symbol passed (bounded, see _valid)
_MAX_REMEMBERED = 4096


def parse_tick_frame(items: list[Any], received: float) -> TickFrame:
    """The frame's ticks (REST bodies and the ingest socket's runs of ticks alike)."""
    n = len(items)
    rows = items if set(map(type, items)) <= {dict} else [
        d if type(d) is dict else {} for d in items]
    get = dict.get
    symbol: list[Any] = list(map(get, rows, repeat("symbol")))
    price = list(map(get, rows, repeat("price")))
    ts = list(map(get, rows, repeat("ts")))
    kind = list(map(get, rows, repeat("type")))
    common = _common(rows, symbol, price, ts, kind, received)
    if common is not None:
        return common
    # exactly the keys symbol, price (both non-null), ts if a float, type if "tick"
    size = np.fromiter(map(len, rows), np.intp, n)
    try:
        kinds = set(kind)
    except TypeError:  # an unhashable `type`: not a tick
        kinds = {0}
    if kinds <= {"tick"} or kinds == {None}:
        has_type: Any = 1 if kinds == {"tick"} else 0
    else:
        has_type = np.fromiter((type(k) is str and k == "tick" for k in kind), np.intp, n)
    given = _mask(ts, _FLOAT, n)
    ok = (size == 2 + has_type + given) & _mask(symbol, _STR, n) & _mask(
        price, _NUMBER, n) & _mask(ts, _TS, n)
    p = _floats(price, ok)
    t = _floats(ts, ok, received)
    with np.errstate(invalid="ignore"):
        ok &= np.isfinite(p) & (p > 0.0) & np.isfinite(t)
        # a given ts lies in the event-time window (one not given is the receive time)
        ok &= ~given | ((t >= EARLIEST_EVENT_TS) & (t < LATEST_TS))
    flags = ok.tolist()
    valid = _valid(dict.fromkeys(compress(symbol, flags)))
    if valid is not None:
        ok &= np.fromiter((f and s in valid for f, s in zip(flags, symbol, strict=True)),
                          bool, n)
        flags = ok.tolist()
    index = np.flatnonzero(ok)
    symbols = symbol if len(index) == n else list(compress(symbol, flags))
    rest = np.flatnonzero(~ok).tolist()
    others: list[tuple[int, Any]] = []
    if rest:
        # the message `type` aside (the per-item parser drops it), so one batch may hold
        others = list(zip(rest, parse_ticks([_untyped(items[i]) for i in rest], received),
                          strict=True))
    return TickFrame(received, index, symbols, p[index], t[index], others)


def _common(rows: list[Any], symbol: list[Any], price: list[Any], ts: list[Any],
            kind: list[Any], received: float) -> TickFrame | None:
    """The frame of a feed handler — every item `{type?, symbol, price, ts?}` alike, float
    numbers, all of them good — checked with a few set and array operations; None for any
    other frame (the general path sorts it out item by item)."""
    try:
        kinds = set(kind)
    except TypeError:
        return None
    if kinds != {"tick"} and kinds != {None}:
        return None
    t_types = set(map(type, ts))
    if t_types == {float}:
        given = True
    elif t_types == {type(None)}:
        given = False
    else:
        return None
    if (set(map(len, rows)) != {2 + (kinds == {"tick"}) + given}
            or set(map(type, symbol)) != _STR or set(map(type, price)) != _FLOAT):
        return None
    p = np.array(price, dtype=np.float64)
    t = np.array(ts, dtype=np.float64) if given else np.full(len(ts), received)
    ok = (p > 0.0) & (p < np.inf)
    if given:
        ok &= (t >= EARLIEST_EVENT_TS) & (t < LATEST_TS)
    if not ok.all() or _valid(dict.fromkeys(symbol)) is not None:
        return None
    return TickFrame(received, np.arange(len(p)), symbol, p, t, [])


def _untyped(item: Any) -> Any:
    if type(item) is dict and "type" in item:
        return {k: v for k, v in item.items() if k != "type"}
    return item


def _mask(column: list[Any], kinds: frozenset[Any], n: int) -> Any:
    """True (all) or a bool array: the items whose type is one of `kinds`."""
    if set(map(type, column)) <= kinds:
        return np.ones(n, bool)
    return np.fromiter((type(v) in kinds for v in column), bool, n)


def _floats(column: list[Any], ok: Any, default: float = np.nan) -> Any:
    """The column as float64: `default` for None, NaN or ±inf where the item is not plain
    (an int of 2**53 or more is +inf: refused as not finite)."""
    types = set(map(type, column))
    if types <= {float}:
        return np.array(column, dtype=np.float64)
    if types == {type(None)}:
        return np.full(len(column), default)
    out = np.full(len(column), np.nan)
    for i, v in enumerate(column):
        if v is None:
            out[i] = default
        elif ok[i]:
            if type(v) is float or -_EXACT_INT < v < _EXACT_INT:
                out[i] = v
            else:
                out[i] = np.inf
    return out


def _valid(symbols: dict[str, None]) -> set[str] | None:
    """None when every symbol given is valid, else the valid ones."""
    known = _VALID_SYMBOLS
    if symbols.keys() <= known:
        return None
    bad = set()
    for s in symbols:
        if s in known:
            continue
        try:
            check_symbol(s)
        except ValueError:
            bad.add(s)
            continue
        if len(known) >= _MAX_REMEMBERED:
            known.clear()
        known.add(s)
    return None if not bad else {s for s in symbols if s not in bad}


__all__ = ["parse_tick_frame"]
