"""Paths in blocks, one process: each block's paths depend on (seed, block size, its index)
alone, so blocks run in any order and combined give the run's figures bit for bit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.backtest import RunConfig, build_strategies, run_backtest
from app.backtest.blocks import block_jobs, block_sizes, combine
from app.backtest.run import jobs_of, prepare, run_block
from app.errors import InvalidInput
from tests.backtest.helpers import NO_COSTS, assert_same_bits, two_stock_book

SPELLINGS = ["interval:10", "band:300", "whalley_wilmott:0.01", "static+tail", "none"]


def config(**kw: object) -> RunConfig:
    base = RunConfig(model="merton", n_paths=90, n_steps=12, seed=11, costs=NO_COSTS,
                     block_size=25)
    return replace(base, **kw)  # type: ignore[arg-type]


def strategies_for(cfg: RunConfig) -> list:
    return build_strategies(SPELLINGS, two_stock_book(), cfg.costs, cfg.n_steps)


def test_block_sizes_cover_the_paths_with_the_rest_last() -> None:
    assert block_sizes(90, 25) == [25, 25, 25, 15]
    assert block_sizes(100, 25) == [25, 25, 25, 25]
    assert block_sizes(10, 25) == [10]
    assert block_sizes(90, None) == [90]
    with pytest.raises(InvalidInput) as exc:
        block_sizes(90, 0)
    assert exc.value.field == "block-size"


def test_each_block_has_its_own_seeds_spawned_per_underlying() -> None:
    jobs = block_jobs(11, 2, 90, 25)
    assert [j.n_paths for j in jobs] == [25, 25, 25, 15]
    keys = {s.spawn_key for j in jobs for s in j.seeds}
    assert keys == {(u, b) for u in range(2) for b in range(4)}  # child u, grandchild b
    assert all(s.entropy == 11 for j in jobs for s in j.seeds)
    # no block size: one block drawn from the underlyings' own children (today's draws)
    (only,) = block_jobs(11, 2, 90, None)
    assert [s.spawn_key for s in only.seeds] == [(0,), (1,)]


def test_blocks_run_in_any_order_give_the_run_bit_for_bit() -> None:
    scenario, cfg = two_stock_book(), config()
    strategies = strategies_for(cfg)
    whole = run_backtest(scenario, strategies, cfg)
    assert whole.pnl.shape == (len(SPELLINGS), 90)
    tape = prepare(cfg)
    jobs = jobs_of(scenario, cfg)
    by_index = {job.index: run_block(scenario, strategies, cfg, job, tape)
                for job in reversed(jobs)}
    assert_same_bits(combine([by_index[j] for j in range(len(jobs))]), whole)


def test_a_longer_run_keeps_the_blocks_of_a_shorter_one() -> None:
    scenario, cfg = two_stock_book(), config()
    strategies = strategies_for(cfg)
    short = run_backtest(scenario, strategies, replace(cfg, n_paths=50))
    long = run_backtest(scenario, strategies, cfg)
    assert np.array_equal(long.pnl[:, :50], short.pnl)
    assert np.array_equal(long.spot_paths[:, :50], short.spot_paths)  # type: ignore[index]


def test_the_block_size_changes_the_draws_not_the_statistics() -> None:
    scenario = two_stock_book()
    cfg = config(model="gbm", n_paths=4_000, n_steps=10)
    strategies = strategies_for(cfg)
    one = run_backtest(scenario, strategies, replace(cfg, block_size=None))
    blocked = run_backtest(scenario, strategies, replace(cfg, block_size=500))
    assert not np.array_equal(one.pnl, blocked.pnl)
    assert blocked.pnl.shape == one.pnl.shape
    assert blocked.spot_paths is not None and blocked.spot_paths.shape == (11, 200)
    assert blocked.initial_value == pytest.approx(one.initial_value, rel=1e-12)
    # the same distribution: means within 4 standard errors of the difference
    se = np.sqrt(one.pnl.var(axis=1) / 4_000 + blocked.pnl.var(axis=1) / 4_000)
    assert np.all(np.abs(one.pnl.mean(axis=1) - blocked.pnl.mean(axis=1)) <= 4 * se + 1e-9)


def test_progress_is_reported_once_per_block() -> None:
    scenario, cfg = two_stock_book(), config()
    seen: list[int] = []
    run_backtest(scenario, strategies_for(cfg), cfg, on_block=lambda: seen.append(1))
    assert len(seen) == 4
