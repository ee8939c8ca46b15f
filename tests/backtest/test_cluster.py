"""Backtests on Ray: a real Ray cluster of two local nodes (`ray.cluster_utils.Cluster`, one
CPU and an 80 MB object store each, no dashboard, on 127.0.0.1), its blocks bit-identical to the
serial run, a block whose worker is killed run again, a block that raises reported and not
retried.

Every run is bounded (`timeout_s`); the cluster is shut down after the module. The block
functions below go to Ray's workers by value (pytest imports this file under a name the workers
cannot import); the app's modules they call are imported there (workers start in this working
directory)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from app.backtest import RunConfig, build_strategies, run_backtest
from app.backtest import cli as backtest_cli
from app.backtest.blocks import BlockJob
from app.backtest.cluster import BlockFailed, keep_on_loopback, parse_cluster, run_on_ray
from app.backtest.markets import TickTape
from app.backtest.run import run_block
from app.backtest.scenario import Scenario
from app.backtest.simulate import Outcome
from app.backtest.strategies import Strategy
from app.errors import InvalidInput
from tests.backtest.helpers import NO_COSTS, assert_same_bits, two_stock_book

MB = 1024 * 1024
BOUND_S = 120.0  # each run on the cluster
SPELLINGS = ["interval:10", "band:300", "whalley_wilmott:0.01", "static+tail", "none"]
CFG = RunConfig(model="merton", n_paths=240, n_steps=12, seed=5, costs=NO_COSTS, block_size=40)


def _attempt(log_dir: str, job: BlockJob) -> int:
    """Note an attempt at a block (its node too); the attempt's number, from 1."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    path = Path(log_dir) / f"block-{job.index}"
    with path.open("a") as f:
        f.write(node + "\n")
    return len(path.read_text().splitlines())


def logged(log_dir: str, scenario: Scenario, strategies: Sequence[Strategy], config: RunConfig,
           job: BlockJob, tape: TickTape | None) -> Outcome:
    _attempt(log_dir, job)
    return run_block(scenario, strategies, config, job, tape)


def killed_once(victim: int, log_dir: str, scenario: Scenario, strategies: Sequence[Strategy],
                config: RunConfig, job: BlockJob, tape: TickTape | None) -> Outcome:
    if _attempt(log_dir, job) == 1 and job.index == victim:
        os.kill(os.getpid(), signal.SIGKILL)  # the worker dies mid-block, as kill -9 does
    return run_block(scenario, strategies, config, job, tape)


def always_killed(victim: int, log_dir: str, scenario: Scenario,
                  strategies: Sequence[Strategy], config: RunConfig, job: BlockJob,
                  tape: TickTape | None) -> Outcome:
    _attempt(log_dir, job)
    if job.index == victim:
        os.kill(os.getpid(), signal.SIGKILL)
    return run_block(scenario, strategies, config, job, tape)


def raises(victim: int, log_dir: str, scenario: Scenario, strategies: Sequence[Strategy],
           config: RunConfig, job: BlockJob, tape: TickTape | None) -> Outcome:
    _attempt(log_dir, job)
    if job.index == victim:
        raise ValueError("a bug in the block")
    return run_block(scenario, strategies, config, job, tape)


def ray_nodes() -> list[dict[str, Any]]:
    import ray

    return [n for n in ray.nodes() if n["Alive"]]


def attempts(log_dir: Path) -> dict[int, list[str]]:
    """Block index → the nodes of its attempts."""
    return {int(p.name.split("-")[1]): p.read_text().split()
            for p in log_dir.glob("block-*")}


@pytest.fixture(scope="module")
def two_nodes() -> Iterator[Any]:
    import ray
    from ray.cluster_utils import Cluster

    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    keep_on_loopback(ray)
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "object_store_memory": 80 * MB, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1, object_store_memory=80 * MB)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False, logging_level="WARNING")
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture(scope="module")
def serial() -> tuple[Scenario, list[Strategy], Outcome]:
    scenario = two_stock_book()
    strategies = build_strategies(SPELLINGS, scenario, CFG.costs, CFG.n_steps)
    return scenario, strategies, run_backtest(scenario, strategies, CFG)


@pytest.mark.slow
def test_two_nodes_give_the_serial_run_bit_for_bit(
    two_nodes: Any, serial: tuple[Scenario, list[Strategy], Outcome], tmp_path: Path
) -> None:
    scenario, strategies, expected = serial
    finished: list[int] = []
    got = run_on_ray(scenario, strategies, CFG, on_block=lambda: finished.append(1),
                     work=partial(logged, str(tmp_path)), timeout_s=BOUND_S)
    assert_same_bits(got, expected)
    assert len(finished) == 6
    tries = attempts(tmp_path)
    assert sorted(tries) == list(range(6)) and all(len(v) == 1 for v in tries.values())
    nodes = {n for v in tries.values() for n in v}
    assert len(nodes) == 2, "the blocks ran on both nodes"
    assert {n["NodeManagerAddress"] for n in ray_nodes()} == {"127.0.0.1"}


@pytest.mark.slow
def test_a_block_whose_worker_is_killed_runs_again(
    two_nodes: Any, serial: tuple[Scenario, list[Strategy], Outcome], tmp_path: Path
) -> None:
    scenario, strategies, expected = serial
    got = run_on_ray(scenario, strategies, CFG, work=partial(killed_once, 2, str(tmp_path)),
                     timeout_s=BOUND_S)
    assert_same_bits(got, expected)
    tries = attempts(tmp_path)
    assert len(tries[2]) == 2
    assert all(len(v) == 1 for k, v in tries.items() if k != 2)


@pytest.mark.slow
def test_a_block_lost_more_often_than_the_retries_fails_the_run(
    two_nodes: Any, serial: tuple[Scenario, list[Strategy], Outcome], tmp_path: Path
) -> None:
    scenario, strategies, _ = serial
    small = replace(CFG, n_paths=80)  # two blocks
    with pytest.raises(BlockFailed, match="block 1 lost after 1 retries"):
        run_on_ray(scenario, strategies, small, retries=1,
                   work=partial(always_killed, 1, str(tmp_path)), timeout_s=BOUND_S)
    assert len(attempts(tmp_path)[1]) == 2


@pytest.mark.slow
def test_a_block_that_raises_fails_the_run_without_a_retry(
    two_nodes: Any, serial: tuple[Scenario, list[Strategy], Outcome], tmp_path: Path
) -> None:
    scenario, strategies, _ = serial
    small = replace(CFG, n_paths=80)
    with pytest.raises(BlockFailed, match=r"block 0 failed: .*a bug in the block"):
        run_on_ray(scenario, strategies, small, work=partial(raises, 0, str(tmp_path)),
                   timeout_s=BOUND_S)
    assert len(attempts(tmp_path)[0]) == 1


def test_the_cluster_is_spelled_ray_or_ray_address() -> None:
    assert parse_cluster("ray") is None
    assert parse_cluster("ray:auto") == "auto"
    assert parse_cluster("ray:127.0.0.1:6379") == "127.0.0.1:6379"
    assert parse_cluster("ray:ray://head:10001") == "ray://head:10001"
    for bad in ("dask", "ray:", "rays:auto"):
        with pytest.raises(InvalidInput) as exc:
            parse_cluster(bad)
        assert exc.value.field == "cluster"


def test_without_ray_the_cluster_run_names_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    code = backtest_cli.main(["--paths", "20", "--steps", "5", "--strategy", "none",
                              "--cluster", "ray", "--quiet", "--no-plots", "--no-frontier",
                              "--out", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err
    assert "cluster" in err and "pip install '.[cluster]'" in err
    assert not (tmp_path / "summary.json").exists()
