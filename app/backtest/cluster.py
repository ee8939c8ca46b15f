"""Backtests on Ray: the run's blocks of paths (`app.backtest.blocks`) as Ray tasks.

`python -m app backtest --cluster ray[:ADDRESS]`: `ray` starts a local Ray for the run (on
127.0.0.1 only, stopped after it); `ray:ADDRESS` joins a running cluster (`ray:auto`,
`ray:HOST:6379`, or a `ray://HOST:10001` client address). Each block is one task that draws
its paths from its own seeds, so the figures are bit-identical to `run_backtest` in one process
with the same seed and block size, whatever the number of nodes and the order the blocks finish
in. A task whose worker dies (killed, out of memory, node lost) is run again by Ray, up to
`retries` times; a block that raises is not (the same inputs would raise again).

Ray is an optional extra (`pip install '.[cluster]'`), imported only when a run asks for a
cluster. A cluster's nodes need this project importable at the driver's version (a local Ray's
workers start in the driver's working directory).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from app.backtest.blocks import BlockJob, combine
from app.backtest.markets import TickTape
from app.backtest.run import RunConfig, jobs_of, prepare, run_block
from app.backtest.scenario import Scenario
from app.backtest.simulate import Outcome
from app.backtest.strategies import Strategy
from app.errors import InvalidInput

RAY_MISSING = "needs Ray, an optional extra: pip install '.[cluster]'"
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
DEFAULT_RETRIES = 3

BlockWork = Callable[[Scenario, Sequence[Strategy], RunConfig, BlockJob, TickTape | None],
                     Outcome]


class BlockFailed(RuntimeError):
    """A block that raised, or whose worker died more often than the retries allow."""


def parse_cluster(text: str) -> str | None:
    """`ray` → None (a local Ray for the run); `ray:ADDRESS` → ADDRESS."""
    kind, sep, address = text.partition(":")
    if kind != "ray" or (sep and not address.strip()):
        raise InvalidInput("cluster", f"{text!r}: expected ray or ray:ADDRESS")
    return address.strip() or None


def import_ray() -> ModuleType:
    """The `ray` module, or InvalidInput naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise InvalidInput("cluster", RAY_MISSING) from None
    return ray


def keep_on_loopback(ray: ModuleType) -> None:
    """Make the Ray this process starts (and every process it spawns) listen and talk on
    127.0.0.1 only, not on the machine's network address: Ray's single-machine mode
    (`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`, read by Ray's processes at start, and by this one's
    `ray_constants`, read when an address is resolved)."""
    os.environ[LOOPBACK_ENV] = "0"
    ray._private.ray_constants.ENABLE_RAY_CLUSTER = False


def run_on_ray(
    scenario: Scenario,
    strategies: Sequence[Strategy],
    config: RunConfig,
    address: str | None = None,
    on_block: Callable[[], None] | None = None,
    retries: int = DEFAULT_RETRIES,
    work: BlockWork = run_block,
    timeout_s: float | None = None,
) -> Outcome:
    """Run the blocks of `config` as Ray tasks and combine them in block order.

    A driver already connected to Ray (`ray.is_initialized()`) uses that cluster; otherwise
    `address` is joined (None: a local Ray is started, and stopped at the end). `on_block` is
    called as each block finishes; `work` runs one block (`run_block`; tests swap it);
    `timeout_s` bounds the wait for the blocks (None: no bound): past it the blocks still
    running are cancelled and BlockFailed raised."""
    tape = prepare(config)  # refuse bad input before a cluster is started
    jobs = jobs_of(scenario, config)
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        if address is None:  # a local Ray for this run alone
            keep_on_loopback(ray)
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level="WARNING")
    try:
        # SPREAD: blocks go round the nodes rather than filling the driver's node first
        task = ray.remote(max_retries=retries, retry_exceptions=False,
                          scheduling_strategy="SPREAD")(_block_task)
        shared = (ray.put(scenario), ray.put(list(strategies)), ray.put(tape))
        refs = [task.remote(work, shared[0], shared[1], config, job, shared[2]) for job in jobs]
        outcomes = _collect(ray, refs, on_block, retries, timeout_s)
    finally:
        if started_here:
            ray.shutdown()
    return combine(outcomes)


def _block_task(work: BlockWork, scenario: Scenario, strategies: Sequence[Strategy],
                config: RunConfig, job: BlockJob, tape: TickTape | None) -> Outcome:
    """One Ray task: one block (Ray resolves the shared objects before the call)."""
    return work(scenario, strategies, config, job, tape)


def _collect(ray: ModuleType, refs: list[Any], on_block: Callable[[], None] | None,
             retries: int, timeout_s: float | None) -> list[Outcome]:
    """The blocks' outcomes in block order, calling `on_block` as each one finishes."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    pending = list(refs)
    while pending:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        done, pending = ray.wait(pending, num_returns=1, timeout=left)
        if not done:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise BlockFailed(f"{len(pending)} of {len(refs)} blocks not finished within "
                              f"{timeout_s:g} s")
        if on_block is not None:
            for _ in done:
                on_block()
    outcomes = []
    for index, ref in enumerate(refs):
        try:
            outcomes.append(ray.get(ref))
        except ray.exceptions.RayTaskError as exc:  # the block raised: not retried
            raise BlockFailed(f"block {index} failed: {exc.cause!r}") from exc
        except ray.exceptions.RayError as exc:  # its worker or node died too often
            raise BlockFailed(f"block {index} lost after {retries} retries: "
                              f"{type(exc).__name__}") from exc
    return outcomes
