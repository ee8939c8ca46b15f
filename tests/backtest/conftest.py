"""Backtest tests: plots render off-screen."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
