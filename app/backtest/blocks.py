"""Paths in blocks: a run cut into blocks of paths, each with seeds of its own, so its blocks can
run anywhere — one after another in one process (`run_backtest`), or as Ray tasks on a cluster
(`app.backtest.cluster`) — and give the same figures, bit for bit.

Seeds. The run's seed spawns one child per underlying, `SeedSequence(seed).spawn(n)`, as an
unblocked run always has. With a block size B each underlying's child spawns one grandchild per
block, `child.spawn(n_blocks)`, and block j draws its paths of that underlying from grandchild j
alone. Without a block size the run is one block drawn from the children themselves (the draws of
an unblocked run, unchanged). So a blocked run's paths depend on (seed, B) only — not on where,
on how many workers, or in which order its blocks run; another B draws other (equally valid)
paths.

Combining, in block order (block j holds paths j·B … j·B + size_j − 1): the per-path figures are
concatenated; the book's start value is the path-weighted mean of the blocks'; the sample path is
block 0's first path; the spot paths kept for plots are the first 200 over the blocks; `seconds`
is the compute time summed over the blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.backtest.simulate import Outcome
from app.errors import InvalidInput

KEPT_SPOT_PATHS = 200  # as `run_underlying` keeps


@dataclass(frozen=True, slots=True)
class BlockJob:
    """Block `index` of a run: `n_paths` paths, drawn for underlying u from `seeds[u]`."""

    index: int
    n_paths: int
    seeds: tuple[np.random.SeedSequence, ...]


def block_sizes(n_paths: int, block_size: int | None) -> list[int]:
    """Paths per block: all in one without a block size, else B each and the rest last."""
    if n_paths < 1:
        raise InvalidInput("paths", "must be at least 1")
    if block_size is None:
        return [n_paths]
    if block_size < 1:
        raise InvalidInput("block-size", "must be at least 1")
    full, rest = divmod(n_paths, block_size)
    return [block_size] * full + ([rest] if rest else [])


def block_jobs(
    seed: int, n_underlyings: int, n_paths: int, block_size: int | None
) -> list[BlockJob]:
    """The run's blocks with their seeds (see the module's doc)."""
    sizes = block_sizes(n_paths, block_size)
    children = np.random.SeedSequence(seed).spawn(n_underlyings)
    if block_size is None:
        return [BlockJob(0, n_paths, tuple(children))]
    per_underlying = [child.spawn(len(sizes)) for child in children]
    return [
        BlockJob(j, size, tuple(grand[j] for grand in per_underlying))
        for j, size in enumerate(sizes)
    ]


def combine(outcomes: Sequence[Outcome]) -> Outcome:
    """One outcome of the blocks' outcomes, given in block order (one block: itself)."""
    if not outcomes:
        raise ValueError("no block to combine")
    if len(outcomes) == 1:
        return outcomes[0]
    first = outcomes[0]

    def cat(arrays: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(arrays, axis=1)

    sizes = [int(o.pnl.shape[1]) for o in outcomes]
    weighted = 0.0
    for o, size in zip(outcomes, sizes, strict=True):
        weighted += o.initial_value * size
    spots: list[np.ndarray] = []  # the first KEPT_SPOT_PATHS over the blocks
    kept = 0
    for o in outcomes:
        if o.spot_paths is not None and kept < KEPT_SPOT_PATHS:
            spots.append(o.spot_paths[:, : KEPT_SPOT_PATHS - kept])
            kept += spots[-1].shape[1]
    seconds = 0.0
    for o in outcomes:
        seconds += o.seconds
    return Outcome(
        pnl=cat([o.pnl for o in outcomes]),
        cost=cat([o.cost for o in outcomes]),
        trades=cat([o.trades for o in outcomes]),
        turnover=cat([o.turnover for o in outcomes]),
        notional=cat([o.notional for o in outcomes]),
        buckets={k: cat([o.buckets[k] for o in outcomes]) for k in first.buckets},
        initial_value=weighted / sum(sizes),
        sample=first.sample,
        spot_paths=cat(spots) if spots else None,
        seconds=seconds,
    )
