"""Validated, vectorized Greeks for Black-Scholes-Merton and Black-76 options.

Conventions (raw mathematical units, per unit of underlying, float64):
- price in currency; delta = dV/dS; gamma = d²V/dS²;
- vega = dV/dσ per 1.00 of vol (σ = 0.20 means 20 %);
- theta = dV/d(calendar time) per year: the change as time passes, i.e. -dV/dt where t is
  the time to expiry, so usually negative for a long option;
- rho = dV/dr per 1.00 of rate. Black-76: the futures price is held fixed, rho = -t * price;
- vanna = d delta/dσ = d vega/dS; volga = d vega/dσ (per 1.00 vol each);
- charm = d delta/d(calendar time) per year, same sign convention as theta (-d delta/dt).

Edges (no NaN, no warning):
- t <= 0 (at or past expiry): price = intrinsic, delta = +1 (call, S > K) / -1 (put, S < K)
  / 0 otherwise - in particular 0 for both call and put when S == K -, other Greeks 0.
- σ√t < SV_FLOOR = 1e-12 (vol 0, or vanishing vol/time): the σ → 0 limit: the discounted
  intrinsic of the forward, delta = φ e^{-qt} 1{option in the money forward}, gamma, vega,
  vanna, volga 0; theta, rho and charm keep their (finite) σ → 0 limits, i.e. those of the
  deterministic payoff e^{-rt}(F - K)+, so the figures are continuous as vol shrinks.
- spot or strike <= 0, inf or NaN; vol < 0, inf or NaN; t, rate, div_yield NaN or inf:
  ValueError naming the argument.

style="american" (or an array of "european"/"american", or of booleans is_american) prices
American exercise with the same figures, units and conventions (method and edges in
app.pricing.american): in the exercise region price = intrinsic, delta = ±1, the rest 0.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.pricing._kernels import SV_FLOOR, greeks_kernel
from app.pricing.american import price_american
from app.pricing.dividends import dividend_schedule, figures_with_dividends

GREEK_NAMES = ("price", "delta", "gamma", "vega", "theta", "rho", "vanna", "volga", "charm")
MODELS = ("bsm", "black76")
STYLES = ("european", "american")

__all__ = ["GREEK_NAMES", "MODELS", "STYLES", "SV_FLOOR", "greeks", "greeks_into"]

# Index = code returned by the kernel's validation (see _kernels.BAD_*).
_BAD_MESSAGES = (
    "",
    "spot must be positive and finite",
    "strike must be positive and finite",
    "t must be finite (time to expiry in years; <= 0 means expired)",
    "vol must be >= 0 and finite",
    "rate must be finite",
    "div_yield must be finite",
)

_F64 = np.dtype(np.float64)


def black76_flag(model: str) -> bool:
    """True for "black76", False for "bsm"; ValueError otherwise."""
    if model == "bsm":
        return False
    if model == "black76":
        return True
    raise ValueError(f"model must be 'bsm' or 'black76', got {model!r}")


def is_call_array(kind: Any) -> np.ndarray:
    """kind ("call"/"put", bool is_call, or an array of either) as a bool array."""
    if isinstance(kind, str):
        if kind == "call":
            return np.asarray(True)
        if kind == "put":
            return np.asarray(False)
        raise ValueError(f"kind must be 'call' or 'put', got {kind!r}")
    arr = np.asarray(kind)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind in "US":
        calls: np.ndarray = np.equal(arr, "call")
        if not np.all(calls | (arr == "put")):
            bad = arr[~(calls | (arr == "put"))].flat[0]
            raise ValueError(f"kind must be 'call' or 'put', got {bad!r}")
        return calls
    raise ValueError(f"kind must be 'call'/'put' strings or booleans (is_call), got {arr.dtype}")


def is_american_array(style: Any) -> np.ndarray:
    """style ("european"/"american", bool is_american, or an array of either) as bools."""
    if isinstance(style, str):
        if style in STYLES:
            return np.asarray(style == "american")
        raise ValueError(f"style must be 'european' or 'american', got {style!r}")
    arr = np.asarray(style)
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind in "US":
        american: np.ndarray = np.equal(arr, "american")
        known = american | (arr == "european")
        if not np.all(known):
            raise ValueError(f"style must be 'european' or 'american', got {arr[~known].flat[0]!r}")
        return american
    raise ValueError(f"style must be 'european'/'american' strings or booleans, got {arr.dtype}")


def as_float_array(x: Any, name: str) -> np.ndarray:
    """x as a float64 array (no copy when it already is one)."""
    try:
        arr: np.ndarray = np.asarray(x, dtype=_F64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    return arr


def common_shape(arrays: tuple[np.ndarray, ...], names: tuple[str, ...]) -> tuple[int, ...]:
    """Broadcast shape of the inputs; the fast path is "all the same shape or scalars"."""
    shape: tuple[int, ...] = ()
    for a in arrays:
        s = a.shape
        if s and s != shape:
            if shape:
                try:
                    return np.broadcast_shapes(*(b.shape for b in arrays))
                except ValueError:
                    shapes = ", ".join(f"{n}{b.shape}" for n, b in zip(names, arrays, strict=True))
                    raise ValueError(f"arguments do not broadcast: {shapes}") from None
            shape = s
    return shape


def flat(a: np.ndarray, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """a broadcast to `shape`, as a contiguous 1-D array of dtype (a view when possible)."""
    if a.shape != shape:
        a = np.broadcast_to(a, shape)
    out = np.ascontiguousarray(a, dtype=dtype).reshape(-1)
    # numba types read-only arrays apart: copy them rather than compile a new kernel variant.
    return out if out.flags.writeable else out.copy()


def greeks(kind: Any, spot: Any, strike: Any, t: Any, vol: Any, rate: Any,
           div_yield: Any = 0.0, model: str = "bsm", style: Any = "european",
           dividends: Any = None) -> dict[str, np.ndarray]:
    """Price and eight Greeks of European or American options, vectorized (broadcasting).

    kind: "call"/"put", bool is_call, or an array of either; spot: spot price (BSM) or
    futures price (model="black76", div_yield then ignored); strike; t: years to expiry;
    vol: annual volatility (0.2 = 20 %); rate, div_yield: continuous annual rates; style:
    "european", "american", or an array of them (one call prices a mixed book); dividends:
    cash dividends of the underlying, [(ex_time_years, amount), ...] or (times, amounts)
    arrays, priced in the spot model on a finite-difference grid (app.pricing.dividends),
    European and American alike (model "bsm" only).
    Returns {name: float64 array of the broadcast shape} for name in GREEK_NAMES (units in
    the module docstring). Raises ValueError naming the first invalid argument.
    """
    black76 = black76_flag(model)
    american = is_american_array(style)
    schedule = None
    if dividends is not None:
        schedule = dividend_schedule(dividends)
        if black76 and schedule[0].size:
            raise ValueError("dividends: cash dividends apply to stocks (model='bsm')")
    call = is_call_array(kind)
    s = as_float_array(spot, "spot")
    k = as_float_array(strike, "strike")
    tt = as_float_array(t, "t")
    v = as_float_array(vol, "vol")
    r = as_float_array(rate, "rate")
    q = np.asarray(0.0) if black76 else as_float_array(div_yield, "div_yield")
    shape = common_shape((call, s, k, tt, v, r, q, american),
                         ("kind", "spot", "strike", "t", "vol", "rate", "div_yield", "style"))
    out = np.empty((9, *shape))
    s_in: float | np.ndarray
    r_in: float | np.ndarray
    q_in: float | np.ndarray
    if s.ndim == 0 and r.ndim == 0 and q.ndim == 0:
        # One underlying: the market inputs go in as scalars (no N-sized copies).
        s_in, r_in, q_in = float(s), float(r), float(q)
    else:
        s_in, r_in, q_in = flat(s, shape, _F64), flat(r, shape, _F64), flat(q, shape, _F64)
    code = greeks_kernel(flat(call, shape, np.dtype(np.bool_)), s_in, flat(k, shape, _F64),
                         flat(tt, shape, _F64), flat(v, shape, _F64), r_in, q_in, black76, True,
                         out.reshape(9, -1))
    if code:
        raise ValueError(_BAD_MESSAGES[code])
    if schedule is not None and schedule[0].size:
        figures_with_dividends(flat(call, shape, np.dtype(np.bool_)), flat(s, shape, _F64),
                               flat(k, shape, _F64), flat(tt, shape, _F64),
                               np.maximum(flat(v, shape, _F64), 1e-4), flat(r, shape, _F64),
                               flat(q, shape, _F64), flat(american, shape, np.dtype(np.bool_)),
                               schedule[0], schedule[1], out.reshape(9, -1))
    elif american.any():
        price_american(flat(american, shape, np.dtype(np.bool_)), flat(call, shape,
                       np.dtype(np.bool_)), flat(s, shape, _F64), flat(k, shape, _F64),
                       flat(tt, shape, _F64), flat(v, shape, _F64), flat(r, shape, _F64),
                       flat(q, shape, _F64), black76, out.reshape(9, -1))
    return dict(zip(GREEK_NAMES, out, strict=True))


def greeks_into(is_call: np.ndarray, spot: float | np.ndarray, strike: np.ndarray,
                t: np.ndarray, vol: np.ndarray, rate: float | np.ndarray,
                div_yield: float | np.ndarray, black76: bool, out: np.ndarray) -> np.ndarray:
    """Hot-path Greeks with no validation and no allocation; returns `out`.

    is_call: bool[N]; strike, t, vol: float64[N]; spot, rate, div_yield: either all three
    Python floats (one underlying) or all three float64[N] (other mixes work but compile a
    new specialization on first use); black76: bool (div_yield ignored when True);
    out: float64[9, N], rows in GREEK_NAMES order. All arrays C-contiguous. Inputs are NOT
    checked: NaN or negative spot/strike/vol give meaningless figures - validate upstream
    (e.g. once per instrument update) or use `greeks`.
    """
    greeks_kernel(is_call, spot, strike, t, vol, rate, div_yield, black76, False, out)
    return out
