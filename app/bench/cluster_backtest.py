"""Benchmark rows of section `cluster` for the backtest on Ray: what Ray costs over one process.

The same work — the `backtest` section's 100-option book, 5 strategies, paths in blocks — runs
serially in this process (`run_backtest`) and as Ray tasks on a local Ray of ONE CPU
(`run_on_ray`), so both do the same arithmetic on one core and the difference is Ray's own
cost: task submission, scheduling, moving the book to the worker and the blocks' results back.
Target: ≤ 10 % over the serial run once blocks are big enough (a block is ~0.5 s quick, ~2.5 s
full), measured two ways: the CPU seconds of every process (driver, GCS, raylet, agents,
workers) against the serial run's, and Ray's own time — the run's wall time less the blocks'
time measured inside the workers (with one CPU they run one after another), which is less
exposed to the neighbours on a shared machine. The two runs alternate, best of the repeats.
The figures must be bit-identical (checked). One-off costs are rows of their own: starting the
local Ray, and a fresh worker's first block (process start, imports, the numba cache).

Speed-up needs cores this machine does not have: on N free cores the blocks run N at a time,
so a run takes about ceil(blocks / N) × (block time) × (1 + overhead) plus the one-off costs.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import replace
from typing import Any

from app.backtest import CostModel, RunConfig, build_strategies, run_backtest
from app.backtest.cluster import import_ray, keep_on_loopback, run_on_ray
from app.bench.backtest import STRATEGIES, hundred_option_book
from app.errors import InvalidInput

SECTION = "cluster"
MB = 1024 * 1024
TARGET_OVERHEAD_PCT = 10.0


def _same_bits(a: Any, b: Any) -> bool:
    return bool(a.pnl.tobytes() == b.pnl.tobytes() and a.cost.tobytes() == b.cost.tobytes()
                and all(a.buckets[k].tobytes() == b.buckets[k].tobytes() for k in a.buckets))


def tree_cpu_s() -> float:
    """CPU seconds (user + system) of this process and every process under it — with a local
    Ray: its GCS, raylet, agents and workers (Linux /proc; the processes' own accounting)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:  # gone meanwhile
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        cpu[pid] = (int(fields[11]) + int(fields[12])) / tick
    total, stack = 0.0, [os.getpid()]
    while stack:
        pid = stack.pop()
        total += cpu.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return total


def _timed(fn: Any) -> tuple[Any, float, float]:
    """fn()'s result, wall seconds, CPU seconds of the process tree."""
    wall, cpu = time.perf_counter(), tree_cpu_s()
    out = fn()
    return out, time.perf_counter() - wall, tree_cpu_s() - cpu


def run(quick: bool) -> list[dict[str, Any]]:
    try:
        ray = import_ray()
    except InvalidInput as exc:  # Ray is an optional extra
        print(f"(section {SECTION!r}: backtest on Ray skipped, {exc.reason})", file=sys.stderr)
        return []
    book = hundred_option_book()
    paths, steps, block, repeats = (2_000, 252, 500, 3) if quick else (20_000, 252, 2_500, 3)
    cfg = RunConfig(n_paths=paths, n_steps=steps, seed=1, block_size=block,
                    costs=CostModel(commission=1.0, spread_bps=2.0))
    strategies = build_strategies(list(STRATEGIES), book, cfg.costs, steps)
    blocks = -(-paths // block)
    warm = replace(cfg, n_paths=16, block_size=16)
    run_backtest(book, strategies, warm)  # compile / warm the pricing kernel here

    if ray.is_initialized():
        raise RuntimeError("bench cluster: Ray is already initialized in this process")
    keep_on_loopback(ray)
    began = time.perf_counter()
    ray.init(num_cpus=1, object_store_memory=80 * MB, include_dashboard=False,
             log_to_driver=False, logging_level="WARNING")
    start_s = time.perf_counter() - began
    inf = float("inf")
    serial_wall, serial_cpu, ray_wall, ray_cpu = inf, inf, inf, inf
    serial_compute, ray_own = inf, inf  # the blocks' own time; Ray's time around them
    try:
        _, first_s, _ = _timed(lambda: run_on_ray(book, strategies, warm, timeout_s=600))
        identical = True
        for _ in range(repeats):  # alternate, best of each: the machine is shared
            serial, wall, cpu = _timed(lambda: run_backtest(book, strategies, cfg))
            serial_wall, serial_cpu = min(serial_wall, wall), min(serial_cpu, cpu)
            serial_compute = min(serial_compute, serial.seconds)
            on_ray, wall, cpu = _timed(lambda: run_on_ray(book, strategies, cfg,
                                                          timeout_s=600))
            ray_wall, ray_cpu = min(ray_wall, wall), min(ray_cpu, cpu)
            ray_own = min(ray_own, wall - on_ray.seconds)
            identical = identical and _same_bits(serial, on_ray)
    finally:
        ray.shutdown()
    if not identical:
        raise AssertionError("bench cluster: Ray's figures differ from the serial run's")
    cpu_pct = 100.0 * (ray_cpu / serial_cpu - 1.0)
    own_pct = 100.0 * ray_own / serial_compute
    wall_pct = 100.0 * (ray_wall / serial_wall - 1.0)
    work = f"{paths:,} paths x {steps} steps x 5 strategies, 100 options, {blocks} blocks"

    def row(name: str, n: int, value: float, unit: str, reference: float | None = None
            ) -> dict[str, Any]:
        return {"section": SECTION, "name": name, "n": n, "value": value, "unit": unit,
                "reference": reference,
                "ratio": None if reference is None else value / reference}

    return [
        row(f"backtest serial, one process: {work}: CPU", paths, serial_cpu, "s"),
        row("backtest on Ray, 1 CPU, same blocks (bit-identical): CPU of every Ray process",
            paths, ray_cpu, "s", serial_cpu * (1 + TARGET_OVERHEAD_PCT / 100)),
        row("Ray overhead over the serial run, CPU", blocks, cpu_pct, "%",
            TARGET_OVERHEAD_PCT),
        row("Ray overhead per block, CPU", blocks, 1e3 * (ray_cpu - serial_cpu) / blocks,
            "ms"),
        row("Ray's own time (run's wall - the blocks' time in the workers) over the blocks",
            blocks, own_pct, "%", TARGET_OVERHEAD_PCT),
        row("Ray's own time per block", blocks, 1e3 * ray_own / blocks, "ms"),
        row(f"wall: serial {serial_wall:.2f} s, on Ray {ray_wall:.2f} s (shared machine)",
            blocks, wall_pct, "%"),
        row("one-off: start a local Ray (1 CPU, 80 MB store)", 1, start_s, "s"),
        row("one-off: a fresh worker's first block (16 paths)", 1, first_s, "s"),
    ]
