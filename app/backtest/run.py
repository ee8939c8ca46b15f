"""One backtest run: a book, a market model, strategies and costs → per-path outcomes.

Each underlying gets its own paths from its own child of the seed (`SeedSequence(seed).spawn`),
so a run is reproducible and adding an underlying does not change the others' paths. With a
`block_size` the paths are drawn and run in blocks, each from its own spawned seeds
(`app.backtest.blocks`): the same figures one block after another here or as Ray tasks
(`app.backtest.cluster`). Without one (the default) the run is a single block, as it always was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from app.backtest.blocks import BlockJob, block_jobs, combine
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
    with_cash_dividends,
    with_ex_points,
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
    `credit` how the spreads of the book's convertibles move (with Merton's down-jumps);
    `block_size` None = all paths in one block, else blocks of that many paths, each drawn from
    its own seeds (`app.backtest.blocks`: the figures then depend on the seed and block size)."""

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
    block_size: int | None = None
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
    times = with_ex_points(time_grid(scenario.start, scenario.end, config.n_steps), u.dividends)
    vol = u.vol if config.realized_vol is None else config.realized_vol
    if u.is_future:
        growth = 0.0 if config.drift is None else config.drift
    else:
        growth = (u.rate if config.drift is None else config.drift) - u.div_yield
    if config.model == "gbm":
        return with_cash_dividends(gbm_paths(rng, u.spot, growth, vol, times, config.n_paths),
                                   u.dividends)
    if config.model == "merton":
        return with_cash_dividends(merton_paths(rng, u.spot, growth, vol, times, config.n_paths,
                                                config.jumps), u.dividends)
    if config.model == "heston":
        return with_cash_dividends(heston_paths(rng, u.spot, growth, vol, times,
                                                config.n_paths, config.heston, scenario.end),
                                   u.dividends)
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


def prepare(config: RunConfig) -> TickTape | None:
    """Check the model and sizes before any path is drawn; the replay's tape (None: simulated)."""
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
    return tape


def jobs_of(scenario: Scenario, config: RunConfig) -> list[BlockJob]:
    """The run's blocks, with their seeds."""
    return block_jobs(config.seed, len(scenario.underlyings), config.n_paths, config.block_size)


def run_block(
    scenario: Scenario,
    strategies: Sequence[Strategy],
    config: RunConfig,
    job: BlockJob,
    tape: TickTape | None,
    on_step: Callable[[], None] | None = None,
) -> Outcome:
    """One block: every strategy on each underlying's `job.n_paths` paths, drawn from its seed;
    outcomes summed over underlyings. Pure: what it returns depends on its arguments alone."""
    block = config if job.n_paths == config.n_paths else replace(config, n_paths=job.n_paths)
    total: Outcome | None = None
    for u, seed in zip(scenario.underlyings, job.seeds, strict=True):
        market = market_for(u, scenario, block, np.random.default_rng(seed), tape)
        outcome = run_underlying(u, strategies, market, config.costs, on_step,
                                 anchored=tape is None, credit=config.credit,
                                 explain=config.explain)
        total = outcome if total is None else total.merge(outcome)
    assert total is not None
    return total


def run_backtest(
    scenario: Scenario,
    strategies: Sequence[Strategy],
    config: RunConfig,
    on_step: Callable[[], None] | None = None,
    on_block: Callable[[], None] | None = None,
) -> Outcome:
    """Run every strategy on every underlying's paths, block after block in this process;
    outcomes summed over underlyings, blocks combined in order."""
    tape = prepare(config)
    outcomes = []
    for job in jobs_of(scenario, config):
        outcomes.append(run_block(scenario, strategies, config, job, tape, on_step))
        if on_block is not None:
            on_block()
    return combine(outcomes)


def steps_of(scenario: Scenario, config: RunConfig) -> int:
    """Steps the run will take per underlying (for a progress bar): a replay's tick count."""
    if config.replay_file is None:
        return config.n_steps * len(scenario.underlyings)
    tape = read_ticks(config.replay_file)
    return sum(
        replay_paths(tape, u.symbol, scenario.start, u.spot).n_steps
        for u in scenario.underlyings
    )
