"""Books and runs shared by the backtest tests."""

from __future__ import annotations

from typing import Any

from app.backtest import CostModel, RunConfig, build_strategies, run_backtest, scenario_from_mapping
from app.backtest.report import summarize
from app.backtest.scenario import Scenario

NO_COSTS = CostModel(commission=0.0)


def one_call_book(
    quantity: float = 10_000, days: float = 365, rate: float = 0.0, div_yield: float = 0.0,
    vol: float = 0.2, kind: str = "call",
) -> Scenario:
    """One at-the-money option on a $100 stock expiring `days` calendar days after start."""
    start = 1_735_689_600.0  # 2025-01-01T00:00:00Z
    book: dict[str, Any] = {
        "start": start,
        "underlyings": {"XYZ": {"spot": 100.0, "rate": rate, "div_yield": div_yield,
                                "vol": vol}},
        "positions": [{"symbol": "OPT", "type": kind, "underlying": "XYZ", "strike": 100.0,
                       "expiry": start + days * 86_400.0, "quantity": quantity}],
    }
    return scenario_from_mapping(book)


def run(scenario: Scenario, spellings: list[str], **config: Any) -> list[dict[str, Any]]:
    cfg = RunConfig(**config)
    strategies = build_strategies(spellings, scenario, cfg.costs, cfg.n_steps)
    outcome = run_backtest(scenario, strategies, cfg)
    return summarize(strategies, outcome)
