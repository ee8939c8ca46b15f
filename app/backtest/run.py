"""One backtest run: a book, a market model, strategies and costs → per-path outcomes.

Each underlying gets its own paths from its own child of the seed (`SeedSequence(seed).spawn`),
so a run is reproducible and adding an underlying does not change the others' paths.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.backtest.convertibles import CreditParams
from app.backtest.costs import CostModel
from app.backtest.markets import (
    HestonParams,
    JumpParams,
    MarketPaths,
    TickTape,
    gbm_paths,
    heston_paths,
    merton_paths,
    read_ticks,
    replay_paths,
    time_grid,
)
from app.backtest.scenario import Scenario, UnderlyingBook
from app.backtest.simulate import Outcome, run_underlying
from app.backtest.strategies import Strategy, parse_strategy
from app.errors import InvalidInput

MODELS = ("gbm", "heston", "merton")


@dataclass(frozen=True, slots=True)
class RunConfig:
    """`model` gbm | heston | merton | replay:FILE; `realized_vol` None = the book's vol;
    `drift` None = the risk-free rate (the price's growth: drift − q; 0 for a future);
    `credit` how the spreads of the book's convertibles move (with Merton's down-jumps)."""

    model: str = "gbm"
    n_paths: int = 10_000
    n_steps: int = 200
    seed: int = 7
    realized_vol: float | None = None
    drift: float | None = None
    costs: CostModel = field(default_factory=CostModel)
    heston: HestonParams = field(default_factory=HestonParams)
    jumps: JumpParams = field(default_factory=JumpParams)
    credit: CreditParams = field(default_factory=CreditParams)
    explain: bool = False  # also explain each step's revaluation (time, spot, vol)

    @property
    def replay_file(self) -> str | None:
        return self.model.partition(":")[2] if self.model.startswith("replay:") else None


def market_for(
    u: UnderlyingBook, scenario: Scenario, config: RunConfig, rng: np.random.Generator,
    tape: TickTape | None = None,
) -> MarketPaths:
    """The paths of underlying `u` under `config.model`."""
    if tape is not None:
        return replay_paths(tape, u.symbol, scenario.start, u.spot)
    times = time_grid(scenario.start, scenario.end, config.n_steps)
    vol = u.vol if config.realized_vol is None else config.realized_vol
    if u.is_future:
        growth = 0.0 if config.drift is None else config.drift
    else:
        growth = (u.rate if config.drift is None else config.drift) - u.div_yield
    if config.model == "gbm":
        return gbm_paths(rng, u.spot, growth, vol, times, config.n_paths)
    if config.model == "merton":
        return merton_paths(rng, u.spot, growth, vol, times, config.n_paths, config.jumps)
    if config.model == "heston":
        return heston_paths(rng, u.spot, growth, vol, times, config.n_paths, config.heston,
                            scenario.end)
    raise InvalidInput("model", f"{config.model!r}: expected gbm, heston, merton or replay:FILE")


def build_strategies(
    spellings: Sequence[str], scenario: Scenario, costs: CostModel, n_steps: int | None
) -> list[Strategy]:
    """Parse the spellings against the book (life, first underlying's spot). `n_steps` None
    skips the N ≤ steps check (a replay's steps are its ticks)."""
    spot = scenario.underlyings[0].spot
    out = []
    for text in spellings:
        s = parse_strategy(text, scenario.life_s, costs, spot)
        if n_steps is not None and s.interval_count is not None and s.interval_count > n_steps:
            raise InvalidInput("strategy", f"{text!r}: N must be ≤ steps ({n_steps})")
        out.append(s)
    names = [s.name for s in out]
    if len(set(names)) != len(names):
        raise InvalidInput("strategy", "each strategy may be named once")
    return out


def run_backtest(
    scenario: Scenario,
    strategies: Sequence[Strategy],
    config: RunConfig,
    on_step: Callable[[], None] | None = None,
) -> Outcome:
    """Run every strategy on every underlying's paths; outcomes summed over underlyings."""
    tape = None
    if config.replay_file is not None:
        path = Path(config.replay_file)
        if not path.is_file():
            raise InvalidInput("model", f"replay file {path} not found")
        tape = read_ticks(path)
    elif config.model not in MODELS:
        raise InvalidInput("model", f"{config.model!r}: expected gbm, heston, merton or "
                           "replay:FILE")
    if config.n_paths < 1:
        raise InvalidInput("paths", "must be at least 1")
    children = np.random.SeedSequence(config.seed).spawn(len(scenario.underlyings))
    total: Outcome | None = None
    for u, child in zip(scenario.underlyings, children, strict=True):
        market = market_for(u, scenario, config, np.random.default_rng(child), tape)
        outcome = run_underlying(u, strategies, market, config.costs, on_step,
                                 anchored=tape is None, credit=config.credit,
                                 explain=config.explain)
        total = outcome if total is None else total.merge(outcome)
    assert total is not None
    return total


def steps_of(scenario: Scenario, config: RunConfig) -> int:
    """Steps the run will take per underlying (for a progress bar): a replay's tick count."""
    if config.replay_file is None:
        return config.n_steps * len(scenario.underlyings)
    tape = read_ticks(config.replay_file)
    return sum(
        replay_paths(tape, u.symbol, scenario.start, u.spot).n_steps
        for u in scenario.underlyings
    )
