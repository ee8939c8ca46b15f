"""Vega by bucket (issue 14): by time to expiry — weekly (≤ 7 days), monthly (≤ 31),
quarterly (≤ 92), longer — and by moneyness — each option in the nearest of the 10Δ put,
25Δ put, ATM, 25Δ call and 10Δ call pillars by its call-equivalent delta (a call's own
Black–Scholes delta, a put's 1 + its delta: 0.90, 0.75, 0.50, 0.25, 0.10). Vega in $ per vol
point, per position; convertibles are not bucketed."""

from __future__ import annotations

import numpy as np

from app.book.risk import OptionRows
from app.domain.units import SECONDS_PER_DAY, VOL_POINT

EXPIRY_BUCKETS = ("weekly", "monthly", "quarterly", "longer")
EXPIRY_EDGES_DAYS = np.array([7.0, 31.0, 92.0])
MONEYNESS_BUCKETS = ("10d_put", "25d_put", "atm", "25d_call", "10d_call")
_PILLARS = np.array([0.90, 0.75, 0.50, 0.25, 0.10])  # call-equivalent delta of each bucket


def empty() -> dict[str, dict[str, float]]:
    return {"expiry": dict.fromkeys(EXPIRY_BUCKETS, 0.0),
            "moneyness": dict.fromkeys(MONEYNESS_BUCKETS, 0.0)}


def vega_buckets(rows: OptionRows | None, as_of: float | None) -> dict[str, dict[str, float]]:
    """{expiry: {weekly, monthly, quarterly, longer}, moneyness: {10d_put, …, 10d_call}}."""
    out = empty()
    if rows is None or as_of is None or not len(rows.symbols):
        return out
    vega = rows.raw[3] * VOL_POINT * rows.size
    days = (rows.expiry - as_of) / SECONDS_PER_DAY
    by_expiry = np.searchsorted(EXPIRY_EDGES_DAYS, days, side="left")
    delta = rows.raw[1]
    call_equiv = np.where(delta >= 0.0, delta, 1.0 + delta)
    by_money = np.abs(call_equiv[:, None] - _PILLARS[None, :]).argmin(axis=1)
    e = np.bincount(by_expiry, weights=vega, minlength=len(EXPIRY_BUCKETS))
    m = np.bincount(by_money, weights=vega, minlength=len(MONEYNESS_BUCKETS))
    out["expiry"] = {k: float(v) + 0.0 for k, v in zip(EXPIRY_BUCKETS, e, strict=True)}
    out["moneyness"] = {k: float(v) + 0.0 for k, v in zip(MONEYNESS_BUCKETS, m, strict=True)}
    return out


def add(total: dict[str, dict[str, float]], part: dict[str, dict[str, float]]) -> None:
    for axis, buckets in part.items():
        for k, v in buckets.items():
            total[axis][k] += v
