"""Pricing core: vectorized BSM / Black-76 Greeks and implied vol (numpy + numba only).

Arrays in, arrays out; nothing here imports the rest of `app`. See `greeks.py` for units and
edge-case conventions, `implied_vol.py` for the solver and its reason codes.
"""

from app.pricing.greeks import GREEK_NAMES, MODELS, SV_FLOOR, greeks, greeks_into

__all__ = ["GREEK_NAMES", "MODELS", "SV_FLOOR", "greeks", "greeks_into"]
