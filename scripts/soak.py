#!/usr/bin/env python
"""Memory soak of the whole loop: the RSS of a real `python -m app serve` over time, under a
steady load of ticks with every signal filled.

Starts the service (Redis at HEDGE_BENCH_REDIS_URL or HEDGE_TEST_REDIS_URL, else the local
default), runs `scripts/loadtest.py`'s load against it — ticks at --rate over a WebSocket
for a book of 50 underlyings × 200 options, band 1 share so nearly every tick makes a
signal, a bot in another process reading the Redis channel and filling every signal with
`POST /v1/fills` — and samples
the service's RSS (VmRSS) every --sample-s seconds. Prints minute → RSS, and what the
service counted (ticks, signals, fills).

With --tracemalloc N the service starts tracemalloc (N frames) half of --trace-after into the
load, dumps a snapshot --trace-after seconds into it and one at its end (on SIGUSR1); the
soak prints the growth between the two by line, then the largest few with their tracebacks.
Tracing slows the service and adds its own memory: use it to find what grows, not for the
RSS figures (and at a lower --rate: a traced service falls behind 300 ticks/s).

    scripts/soak.py --rate 300 --duration 600                  # the README's soak
    scripts/soak.py --rate 300 --duration 180 --tracemalloc 12 # what grows, by line

Bounded: duration ≤ 3,600 s; the service and the bot are stopped at the end, whatever
happens.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

SERVE_TRACED = "--serve-traced"  # internal: run the service under tracemalloc


def serve_traced(frames: int, out_dir: str) -> int:
    """The service, in this process. The first SIGUSR1 starts tracemalloc (`frames` deep;
    not from the start: numba's imports under tracemalloc take minutes) and touches
    `out_dir`/snapshot-0.done; each next one dumps a snapshot to `out_dir`/snapshot-K.
    tracemalloc (K = 1, 2, …), then touches snapshot-K.done."""
    count = 0

    def dump(signum: int, frame: Any) -> None:
        nonlocal count
        path = Path(out_dir) / f"snapshot-{count}.tracemalloc"
        if count == 0:
            tracemalloc.start(frames)
        else:
            tracemalloc.take_snapshot().dump(str(path))
        path.with_suffix(".done").touch()
        count += 1

    signal.signal(signal.SIGUSR1, dump)
    from app.serve import main as serve

    return serve([])


def snapshot(pid: int, out_dir: Path, k: int, timeout_s: float = 300.0) -> Path:
    """Snapshot k of the traced service (k = 0 starts the tracing)."""
    os.kill(pid, signal.SIGUSR1)
    done = out_dir / f"snapshot-{k}.done"
    deadline = time.monotonic() + timeout_s
    while not done.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"no snapshot {k} from the service within {timeout_s:g} s")
        time.sleep(0.2)
    return out_dir / f"snapshot-{k}.tracemalloc"


def growth_report(first: Path, second: Path, top: int = 25) -> str:
    skip = [tracemalloc.Filter(False, tracemalloc.__file__),
            tracemalloc.Filter(False, "<frozen importlib._bootstrap>"),
            tracemalloc.Filter(False, "<unknown>")]
    a = tracemalloc.Snapshot.load(str(first)).filter_traces(skip)
    b = tracemalloc.Snapshot.load(str(second)).filter_traces(skip)
    lines = [f"traced memory {sum(s.size for s in a.statistics('filename')) / 2**20:.1f} → "
             f"{sum(s.size for s in b.statistics('filename')) / 2**20:.1f} MiB; growth by line:"]
    for d in b.compare_to(a, "lineno")[:top]:
        frame = d.traceback[0]
        lines.append(f"  {d.size_diff / 2**20:+8.2f} MiB {d.count_diff:+9d} blocks  "
                     f"{os.path.relpath(frame.filename, ROOT)}:{frame.lineno}")
    lines.append("largest growth by traceback:")
    for d in b.compare_to(a, "traceback")[:5]:
        lines.append(f"  {d.size_diff / 2**20:+.2f} MiB {d.count_diff:+d} blocks")
        lines += [f"      {line}" for line in d.traceback.format(limit=8)]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> dict[str, Any]:
    import loadtest

    from app.bench.service_metrics import scrape, total
    from app.bench.service_stack import cpu_seconds, rss_mb, start_service, stop_service

    trace_dir = Path(tempfile.mkdtemp(prefix="dynhedge-soak-"))
    prefix = None
    if args.tracemalloc:
        # start_service appends "python -m app serve": the traced server ignores those
        prefix = [sys.executable, __file__, SERVE_TRACED, str(args.tracemalloc), str(trace_dir),
                  "--"]
    stack = start_service(prefix=prefix, ready_timeout_s=180.0)
    pid = stack.pid
    assert pid is not None
    samples: list[tuple[float, float]] = [(0.0, rss_mb(pid))]
    cpu0 = cpu_seconds(pid)
    result: dict[str, Any] = {}
    try:
        load_args = loadtest.parse_args([
            "--rate", str(args.rate), "--duration", str(args.duration), "--drain-s", "30",
            "--underlyings", str(args.underlyings), "--options", str(args.options),
            "--max-signals-per-s", str(args.max_signals_per_s),
            "--fill-concurrency", str(args.fill_concurrency)])

        def load() -> None:
            try:
                result.update(loadtest.run(load_args, given=stack))
            except BaseException as exc:  # reported with the samples taken
                result["failure"] = f"{type(exc).__name__}: {exc}"

        thread = threading.Thread(target=load, name="load", daemon=True)
        t0 = time.monotonic()
        thread.start()
        snapshots: list[Path] = []
        next_sample = args.sample_s
        while thread.is_alive():
            now = time.monotonic() - t0
            if now >= next_sample:
                samples.append((now, rss_mb(pid)))
                next_sample += args.sample_s
            if args.tracemalloc and not snapshots and now >= args.trace_after / 2:
                snapshots.append(snapshot(pid, trace_dir, 0))  # starts tracing
            if args.tracemalloc and len(snapshots) == 1 and now >= args.trace_after:
                snapshots.append(snapshot(pid, trace_dir, 1))
            thread.join(0.5)
        samples.append((time.monotonic() - t0, rss_mb(pid)))
        result["service_cpu_pct"] = 100 * (cpu_seconds(pid) - cpu0) / samples[-1][0]
        if args.tracemalloc and len(snapshots) == 2:
            snapshots.append(snapshot(pid, trace_dir, 2))
            result["tracemalloc"] = growth_report(snapshots[1], snapshots[2])
        counted = scrape(stack.base)
        result["counted"] = {name: total(counted, f"dynhedge_{name}_total")
                             for name in ("ticks", "signals", "fills")}
    finally:
        stop_service(stack)
        for p in trace_dir.iterdir():
            p.unlink()
        trace_dir.rmdir()
    result["rss_samples"] = samples
    return result


def report(r: dict[str, Any], sample_s: float) -> str:
    samples = r["rss_samples"]
    lines = ["minute   RSS MiB"]
    per_minute = max(1, round(60 / sample_s))
    for i, (t, rss) in enumerate(samples):
        if i % per_minute == 0 or i == len(samples) - 1:
            lines.append(f"{t / 60:6.1f}   {rss:7.1f}")
    c = r.get("counted", {})
    lines.append(f"service counted {c.get('ticks', 0):,.0f} ticks, {c.get('signals', 0):,.0f} "
                 f"signals, {c.get('fills', 0):,.0f} fills; "
                 f"{r.get('service_cpu_pct', float('nan')):.0f} % of a core")
    if "tick_to_signal_ms" in r:
        lines.append(f"load: {r['signals_received']:,} signals received, fills "
                     f"{r['fills']}, tick→signal p99 {r['tick_to_signal_ms']['p99']:.2f} ms, "
                     f"errors {len(r['errors'])}")
    if "failure" in r:
        lines.append(f"the load failed: {r['failure'][:500]}")
    if "tracemalloc" in r:
        lines.append(r["tracemalloc"])
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == [SERVE_TRACED]:
        return serve_traced(int(argv[1]), argv[2])
    p = argparse.ArgumentParser(prog="scripts/soak.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rate", type=float, default=300.0, help="ticks per second (300)")
    p.add_argument("--duration", type=float, default=600.0, help="seconds of load (600)")
    p.add_argument("--sample-s", type=float, default=10.0, help="RSS sampling period (10)")
    p.add_argument("--underlyings", type=int, default=50)
    p.add_argument("--options", type=int, default=200, help="options per underlying (200)")
    p.add_argument("--max-signals-per-s", type=float, default=1_000.0,
                   help="the policies' throttle per underlying (1000: none)")
    p.add_argument("--fill-concurrency", type=int, default=8)
    p.add_argument("--tracemalloc", type=int, default=0, metavar="FRAMES",
                   help="trace allocations with this many frames (0: off)")
    p.add_argument("--trace-after", type=float, default=60.0,
                   help="seconds into the load of the first snapshot (60)")
    args = p.parse_args(argv)
    if not 0 < args.duration <= 3_600:
        p.error("--duration must be in (0, 3600]")
    if not 1 <= args.sample_s <= 600:
        p.error("--sample-s must be in [1, 600]")
    result = run(args)
    print(report(result, args.sample_s))
    return 1 if "failure" in result else 0


if __name__ == "__main__":
    raise SystemExit(main())
