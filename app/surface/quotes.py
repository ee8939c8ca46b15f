"""Option quotes for a fit, and the filter that decides which of them the fit may use.

A quote is one option of one expiry: strike, t (years), the forward of its expiry, call or
put, and its implied vol and/or its bid/ask (prices of one option, discounted by `discount`
= e^{−rt}). Vols missing are implied from the mid (Black-76 on the forward, the caller's
American de-americanization, if any, done before). Per-quote problems are data: the filter
marks each quote used or rejected with one of the REASONS, in this order:

    expired                 t ≤ 0
    crossed_market          bid > ask
    zero_width_market       bid == ask
    no_vol                  neither an iv nor both bid and ask
    no_implied_vol          the mid has no Black vol (below intrinsic, above the forward...)
    vol_out_of_range        iv outside (0, 10]
    price_outside_bounds    undiscounted call outside [max(F − K, 0), F], put [max(K − F, 0), K]
    not_monotone_in_strike  calls rising (puts falling) with strike, or changing faster than 1
    not_convex_in_strike    a negative butterfly between neighbouring strikes
    too_few_quotes          its expiry has fewer usable quotes than the fit needs

Static arbitrage between quotes is tested per expiry and per call/put on neighbouring strikes
with the quotes' price bands ([bid, ask], or the price of the iv when there is no market): a
violation is one that no prices inside the bands avoid. Each round rejects the quote that
takes part in the most violations (ties: the smallest weight), until none is left.
Weights (when the caller gives none): vega / (ask − bid), i.e. 1 / the spread in vol, or the
vega alone without a market; scaled to a maximum of 1 per expiry and floored at 1e-3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from app.pricing import greeks, implied_vol

__all__ = ["REASONS", "QuoteSelection", "Quotes", "filter_quotes"]

EXPIRED = "expired"
CROSSED = "crossed_market"
ZERO_WIDTH = "zero_width_market"
NO_VOL = "no_vol"
NO_IMPLIED_VOL = "no_implied_vol"
VOL_OUT_OF_RANGE = "vol_out_of_range"
OUTSIDE_BOUNDS = "price_outside_bounds"
NOT_MONOTONE = "not_monotone_in_strike"
NOT_CONVEX = "not_convex_in_strike"
TOO_FEW = "too_few_quotes"
REASONS = (EXPIRED, CROSSED, ZERO_WIDTH, NO_VOL, NO_IMPLIED_VOL, VOL_OUT_OF_RANGE,
           OUTSIDE_BOUNDS, NOT_MONOTONE, NOT_CONVEX, TOO_FEW)
MAX_VOL = 10.0
WEIGHT_FLOOR = 1e-3
_F64 = np.dtype(np.float64)


def _array(x: Any, name: str, n: int) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=_F64)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be numeric") from None
    try:
        return np.array(np.broadcast_to(arr, (n,)))
    except ValueError:
        raise ValueError(f"{name}: length {arr.shape} does not match strike ({n},)") from None


def _calls(x: Any, n: int) -> np.ndarray:
    """is_call as bool[n] from booleans or "call"/"put" strings."""
    arr = np.asarray(x)
    if arr.dtype.kind in "US":
        calls = arr == "call"
        if not np.all(calls | (arr == "put")):
            raise ValueError("is_call: must be booleans or 'call'/'put'")
        arr = calls
    elif arr.dtype != np.bool_:
        raise ValueError("is_call: must be booleans or 'call'/'put'")
    try:
        return np.array(np.broadcast_to(arr, (n,)))
    except ValueError:
        raise ValueError(f"is_call: length {arr.shape} does not match strike ({n},)") from None


@dataclass(frozen=True, slots=True, eq=False)
class Quotes:
    """N quotes as float64[N] arrays (is_call bool[N]); NaN marks a missing iv, bid, ask,
    vega (per 1.00 vol, discounted) or weight. Build with `Quotes.of(...)` (is_call may be
    booleans or "call"/"put")."""

    strike: np.ndarray
    t: np.ndarray
    forward: np.ndarray
    is_call: np.ndarray
    iv: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    discount: np.ndarray
    vega: np.ndarray
    weight: np.ndarray

    @classmethod
    def of(cls, strike: Any, t: Any, forward: Any, *, is_call: Any = True, iv: Any = np.nan,
           bid: Any = np.nan, ask: Any = np.nan, discount: Any = 1.0, vega: Any = np.nan,
           weight: Any = np.nan) -> Quotes:
        """Broadcast every field to strike's length. ValueError naming the field for strike or
        forward not positive and finite, t or discount not finite, discount ≤ 0, a negative
        weight or vega."""
        k = np.atleast_1d(np.asarray(strike, dtype=_F64)).reshape(-1)
        n = k.size
        out = cls(strike=k, t=_array(t, "t", n), forward=_array(forward, "forward", n),
                  is_call=_calls(is_call, n),
                  iv=_array(iv, "iv", n), bid=_array(bid, "bid", n), ask=_array(ask, "ask", n),
                  discount=_array(discount, "discount", n), vega=_array(vega, "vega", n),
                  weight=_array(weight, "weight", n))
        for name in ("strike", "forward"):
            a = getattr(out, name)
            if not np.all(np.isfinite(a) & (a > 0.0)):
                raise ValueError(f"{name}: must be positive and finite")
        if not np.all(np.isfinite(out.t)):
            raise ValueError("t: must be finite (years to expiry)")
        if not np.all(np.isfinite(out.discount) & (out.discount > 0.0)):
            raise ValueError("discount: must be positive and finite (e^{-r t})")
        for name in ("weight", "vega"):
            if np.any(getattr(out, name) < 0.0):
                raise ValueError(f"{name}: must be >= 0")
        return out

    def __len__(self) -> int:
        return int(self.strike.size)


@dataclass(frozen=True, slots=True, eq=False)
class QuoteSelection:
    """What the filter made of the quotes (arrays of length N, in the quotes' order).

    used: bool; reason: str ("" when used, else one of REASONS); iv: the vol each quote
    stands for (NaN where none); k: ln(K/F); weight: the fit weight (0 when rejected)."""

    quotes: Quotes
    used: np.ndarray
    reason: np.ndarray
    iv: np.ndarray
    k: np.ndarray
    weight: np.ndarray

    def rejected(self) -> list[tuple[int, str]]:
        """[(index, reason)] of the rejected quotes."""
        return [(int(i), str(self.reason[i])) for i in np.flatnonzero(~self.used)]

    def counts(self) -> dict[str, int]:
        """{reason: number of quotes} over the rejected ones."""
        names, n = np.unique(self.reason[~self.used], return_counts=True)
        return {str(a): int(b) for a, b in zip(names, n, strict=True)}


def _band(q: Quotes, iv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Undiscounted price band [lo, hi] per quote: the market, or the price of the iv."""
    market = np.isfinite(q.bid) & np.isfinite(q.ask)
    lo = np.where(market, q.bid, np.nan) / q.discount
    hi = np.where(market, q.ask, np.nan) / q.discount
    need = ~market & np.isfinite(iv)
    if need.any():
        price = greeks(q.is_call[need], q.forward[need], q.strike[need], q.t[need], iv[need],
                       0.0, model="black76")["price"]
        lo[need] = price
        hi[need] = price
    return lo, hi


def _violations(k: np.ndarray, lo: np.ndarray, hi: np.ndarray, call: np.ndarray,
                tol: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Static-arbitrage violations between neighbours of quotes sorted by strike (call:
    bool[n], per quote): (pairs bool[n−1]: i and i+1 not monotone, triples bool[n−2]:
    i..i+2 not convex). The caller masks pairs and triples that straddle two groups."""
    dk = np.diff(k)
    tl = tol[:-1]
    # calls: C(K2) ≤ C(K1) and C(K1) − C(K2) ≤ K2 − K1; puts: P(K1) ≤ P(K2), P(K2) − P(K1) ≤ dK
    calls = (lo[1:] > hi[:-1] + tl) | (lo[:-1] - hi[1:] > dk + tl)
    puts = (lo[:-1] > hi[1:] + tl) | (lo[1:] - hi[:-1] > dk + tl)
    pairs = np.where(call[:-1], calls, puts) & (dk > 0.0)
    k0, k1, k2 = k[:-2], k[1:-1], k[2:]
    spaced = (k0 < k1) & (k1 < k2)
    lam = np.where(spaced, (k2 - k1) / np.where(spaced, k2 - k0, 1.0), 0.0)
    triples = spaced & (lo[1:-1] > lam * hi[:-2] + (1.0 - lam) * hi[2:] + tol[1:-1])
    return pairs, triples


def _arbitrage_rounds(k: np.ndarray, lo: np.ndarray, hi: np.ndarray, weight: np.ndarray,
                      call: np.ndarray, tol: np.ndarray) -> dict[int, str]:
    """{position in the group: reason} of the quotes of one group (expiry, call/put) to
    reject, one per round."""
    alive = np.arange(k.size)
    rejected: dict[int, str] = {}
    while alive.size >= 2:
        pairs, triples = _violations(k[alive], lo[alive], hi[alive], call[alive], tol[alive])
        if not (pairs.any() or triples.any()):
            break
        in_pairs = np.zeros(alive.size)
        in_pairs[:-1] += pairs
        in_pairs[1:] += pairs
        count = in_pairs.copy()
        if triples.size:
            count[:-2] += triples
            count[1:-1] += triples
            count[2:] += triples
        top = np.flatnonzero(count == count.max())
        pick = int(top[np.argmin(weight[alive[top]])])
        rejected[int(alive[pick])] = NOT_MONOTONE if in_pairs[pick] else NOT_CONVEX
        alive = np.delete(alive, pick)
    return rejected


def filter_quotes(q: Quotes, min_quotes: int = 5) -> QuoteSelection:
    """Decide which quotes a fit may use and why the others may not (module docstring);
    expiries (equal t) left with fewer than min_quotes usable quotes are rejected whole."""
    n = len(q)
    reason = np.full(n, "", dtype=object)

    def reject(mask: np.ndarray, why: str) -> None:
        reason[mask & (reason == "")] = why

    reject(q.t <= 0.0, EXPIRED)
    market = np.isfinite(q.bid) & np.isfinite(q.ask)
    reject(market & (q.bid > q.ask), CROSSED)
    reject(market & (q.bid == q.ask), ZERO_WIDTH)
    iv = q.iv.copy()
    from_mid = ~np.isfinite(iv) & market & (reason == "")
    reject(~np.isfinite(iv) & ~market, NO_VOL)
    if from_mid.any():
        mid = 0.5 * (q.bid[from_mid] + q.ask[from_mid])
        rate = -np.log(q.discount[from_mid]) / q.t[from_mid]
        iv[from_mid] = implied_vol(q.is_call[from_mid], mid, q.forward[from_mid],
                                   q.strike[from_mid], q.t[from_mid], rate, model="black76")
        reject(from_mid & ~np.isfinite(iv), NO_IMPLIED_VOL)
    reject(np.isfinite(iv) & ~((iv > 0.0) & (iv <= MAX_VOL)), VOL_OUT_OF_RANGE)
    iv[reason != ""] = np.nan

    lo, hi = _band(q, iv)
    intrinsic = np.maximum(np.where(q.is_call, q.forward - q.strike, q.strike - q.forward), 0.0)
    cap = np.where(q.is_call, q.forward, q.strike)
    tol = 1e-10 * q.forward
    reject((reason == "") & ((hi < intrinsic - tol) | (lo > cap + tol)), OUTSIDE_BOUNDS)

    weight = _weights(q, iv, reason == "")
    _static_arbitrage(q, lo, hi, weight, reason)
    ok = reason == ""
    _, inverse, counts = np.unique(q.t[ok], return_inverse=True, return_counts=True)
    few = np.flatnonzero(ok)[counts[inverse] < min_quotes]
    reason[few] = TOO_FEW
    used = reason == ""
    iv_used = np.where(np.isfinite(iv), iv, np.nan)
    return QuoteSelection(quotes=q, used=used, reason=reason.astype(str), iv=iv_used,
                          k=np.log(q.strike / q.forward), weight=np.where(used, weight, 0.0))


def _static_arbitrage(q: Quotes, lo: np.ndarray, hi: np.ndarray, weight: np.ndarray,
                      reason: np.ndarray) -> None:
    """Mark the quotes the rounds reject (reason updated in place): one vectorized pass over
    every group, rounds only in the groups where it finds a violation."""
    idx = np.flatnonzero(reason == "")
    if idx.size < 2:
        return
    order = idx[np.lexsort((q.strike[idx], q.is_call[idx], q.t[idx]))]
    t, call = q.t[order], q.is_call[order]
    tol = 1e-10 * q.forward[order]
    same = (t[1:] == t[:-1]) & (call[1:] == call[:-1])
    pairs, triples = _violations(q.strike[order], lo[order], hi[order], call, tol)
    pairs &= same
    triples &= same[:-1] & same[1:]
    if not (pairs.any() or triples.any()):
        return
    flagged = np.union1d(np.flatnonzero(pairs), np.flatnonzero(triples))
    for key in {(float(t[i]), bool(call[i])) for i in flagged}:
        g = order[(t == key[0]) & (call == key[1])]
        bad = _arbitrage_rounds(q.strike[g], lo[g], hi[g], weight[g], q.is_call[g],
                                1e-10 * q.forward[g])
        for pos, why in bad.items():
            reason[g[pos]] = why


def _weights(q: Quotes, iv: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """The caller's weights, else vega / spread (vega alone without a market), scaled to a
    maximum of 1 per expiry and floored at WEIGHT_FLOOR; 0 where not ok."""
    weight = np.zeros(len(q))
    if not ok.any():
        return weight
    vega = q.vega.copy()
    need = ok & ~np.isfinite(vega)
    if need.any():
        rate = -np.log(q.discount[need]) / q.t[need]
        vega[need] = greeks(q.is_call[need], q.forward[need], q.strike[need], q.t[need],
                            iv[need], rate, model="black76")["vega"]
    spread = q.ask - q.bid
    raw = np.where(np.isfinite(spread) & (spread > 0.0), vega / np.where(spread > 0, spread, 1),
                   vega)
    raw = np.where(np.isfinite(q.weight), q.weight, raw)
    _, inverse = np.unique(q.t[ok], return_inverse=True)
    top = np.zeros(inverse.max() + 1)
    np.maximum.at(top, inverse, raw[ok])
    scaled = np.where(top[inverse] > 0.0, raw[ok] / np.where(top[inverse] > 0, top[inverse], 1),
                      1.0)
    weight[ok] = np.maximum(scaled, WEIGHT_FLOOR)
    return weight
