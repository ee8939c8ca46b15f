"""Backtests of hedging strategies over simulated or recorded markets, on the live engine's
pricing core (`app.pricing`) and hedge decision (`app.hedging.decide`).

`python -m app backtest --help` for the command line; `run_backtest` to drive it from code.
"""

from app.backtest.costs import CostModel
from app.backtest.run import RunConfig, build_strategies, run_backtest
from app.backtest.scenario import DEFAULT_BOOK, Scenario, load_book, scenario_from_mapping
from app.backtest.simulate import Outcome
from app.backtest.strategies import Strategy, parse_strategy

__all__ = [
    "DEFAULT_BOOK",
    "CostModel",
    "Outcome",
    "RunConfig",
    "Scenario",
    "Strategy",
    "build_strategies",
    "load_book",
    "parse_strategy",
    "run_backtest",
    "scenario_from_mapping",
]
