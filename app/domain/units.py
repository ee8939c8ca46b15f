"""The desk's units (CONTRACT §1), written down once: every layer converts through these.

Time in years is seconds / SECONDS_PER_YEAR (a 365-day year, as in the pricing core); theta is
per calendar day; vega per vol point and rho per 1 % of rate.
"""

from __future__ import annotations

SECONDS_PER_DAY = 86_400.0
DAYS_PER_YEAR = 365.0
SECONDS_PER_YEAR = DAYS_PER_YEAR * SECONDS_PER_DAY
VOL_POINT = 0.01  # vega per 1 vol point (0.01 of vol)
RATE_POINT = 0.01  # rho per 1 % of rate
BASIS_POINT = 1e-4  # a convertible's credit spread sensitivity per 1 bp of spread

__all__ = ["BASIS_POINT", "DAYS_PER_YEAR", "RATE_POINT", "SECONDS_PER_DAY", "SECONDS_PER_YEAR",
           "VOL_POINT"]
