"""python -m app backtest: hedging strategies over simulated or recorded markets.

With no arguments it runs the worked example (short 100 at-the-money calls, multiplier 100,
on a $100 stock, 20 trading days, $50 per hedge trade) and compares a daily dynamic hedge
(`interval:20`), a static hedge and no hedge.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from app.backtest.blocks import block_sizes
from app.backtest.cluster import BlockFailed, parse_cluster, run_on_ray
from app.backtest.convertibles import CreditParams
from app.backtest.costs import CostModel
from app.backtest.frontier import frontier_rows, frontier_spellings
from app.backtest.markets import HestonParams, JumpParams
from app.backtest.report import print_table, summarize, write_paths, write_summary
from app.backtest.run import RunConfig, build_strategies, run_backtest, steps_of
from app.backtest.scenario import load_book
from app.backtest.simulate import Outcome
from app.errors import InvalidInput

DEFAULT_STRATEGIES = ("interval:20", "static", "none")
CLUSTER_BLOCK = 1_000  # paths per Ray task unless --block-size says otherwise

STRATEGY_HELP = """hedging strategy, repeatable (default: interval:20 static none):
none | static | interval:N (N rebalances over the life, the first at the start) |
band:X[:edge] (X shares) | whalley_wilmott:G[:C] (risk aversion G per $, C $/share) |
portfolio_insurance[:F][@RULE] (synthetic put, floor F x spot, rebalanced by RULE) ;
append +tail[:M[:N]] to hold N puts struck at M x spot bought at the start"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m app backtest",
        description="Back-test hedging strategies of a book on simulated or recorded markets, "
        "with the live engine's pricing core and hedge rules. P&L is in $ for the whole book "
        "per path; VaR/CVaR are positive loss figures.",
        formatter_class=argparse.RawTextHelpFormatter,
    )
    p.add_argument("--book", metavar="FILE", help="book JSON {start, underlyings, positions} "
                   "(default: short 100 ATM calls x100 on a $100 stock, 20 trading days)")
    p.add_argument("--model", default="gbm", metavar="M",
                   help="gbm | heston | merton | replay:FILE (CSV ts,symbol,price); "
                   "default gbm")
    p.add_argument("--paths", type=int, default=10_000, help="simulated paths (default 10000)")
    p.add_argument("--steps", type=int, default=260,
                   help="equal time steps from start to the last expiry (default 260)")
    p.add_argument("--strategy", action="extend", nargs="+", metavar="S", help=STRATEGY_HELP)
    p.add_argument("--commission", type=float, default=50.0,
                   help="$ per hedge trade (default 50)")
    p.add_argument("--per-share", type=float, default=0.0, help="$ per share traded (default 0)")
    p.add_argument("--spread-bps", type=float, default=0.0,
                   help="half-spread paid, bps of the price (default 0)")
    p.add_argument("--impact", type=float, default=0.0,
                   help="square-root impact coefficient: cost = X * daily vol * price * shares"
                   " * sqrt(shares / adv) (default 0)")
    p.add_argument("--adv", type=float, default=1_000_000.0,
                   help="average daily volume in shares, for --impact (default 1e6)")
    p.add_argument("--realized-vol", type=float, default=None,
                   help="vol the market realizes (default: the book's vol)")
    p.add_argument("--drift", type=float, default=None,
                   help="the underlying's drift per year (default: the risk-free rate)")
    p.add_argument("--heston", default=None, metavar="KAPPA,XI,RHO",
                   help="Heston parameters (default 2.0,0.5,-0.7)")
    p.add_argument("--jumps", default=None, metavar="LAMBDA,MEAN,STD",
                   help="Merton jumps per year, log-jump mean and std (default 2,-0.10,0.05)")
    p.add_argument("--spread-jump", type=float, default=0.0, metavar="X",
                   help="a book's convertibles: their credit spreads widen by X (0.01 = "
                   "100 bp) at each down-jump of the stock (merton; default 0: never)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--block-size", type=int, default=None, metavar="B",
                   help="draw and run the paths in blocks of B, each from its own seeds spawned"
                   " from --seed\n(the figures then depend on seed and B, not on where the "
                   "blocks run;\ndefault: one block of all paths, or "
                   f"{CLUSTER_BLOCK:,} with --cluster)")
    p.add_argument("--cluster", default=None, metavar="ray[:ADDRESS]",
                   help="run the blocks as Ray tasks: `ray` starts a local Ray, ray:ADDRESS "
                   "joins a cluster\n(ray:auto, ray:HOST:6379, ray:ray://HOST:10001); the "
                   "figures are bit-identical to\nthe same --seed and --block-size without "
                   "--cluster. Needs pip install '.[cluster]'")
    p.add_argument("--out", default="backtest-out", metavar="DIR",
                   help="where summary.json, paths.npz and the PNGs go (default backtest-out)")
    p.add_argument("--no-frontier", action="store_true",
                   help="skip the interval/band/Whalley-Wilmott sweep (and its plot)")
    p.add_argument("--no-plots", action="store_true", help="write no PNG")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--stickiness", action="store_true",
                   help="instead: the hedging error of a skewed book (short OTM puts) when "
                   "implied vols follow a smile, sticky strike or sticky moneyness, hedged "
                   "with each assumption's delta (--paths, --seed; writes stickiness.json)")
    p.add_argument("--explain", action="store_true",
                   help="also explain each step's option revaluation by sequential steps "
                        "(time, spot, vol; one or two more pricings per step)")
    return p


def _triple(text: str | None, what: str) -> tuple[float, float, float] | None:
    if text is None:
        return None
    try:
        a, b, c = (float(x) for x in text.split(","))
    except ValueError:
        raise InvalidInput(what, "expected three numbers separated by commas") from None
    return a, b, c


def config_from(args: argparse.Namespace) -> RunConfig:
    costs = CostModel(args.commission, args.per_share, args.spread_bps, args.impact, args.adv)
    for name in ("commission", "per_share", "spread_bps", "impact"):
        if getattr(args, name) < 0:
            raise InvalidInput(name.replace("_", "-"), "must be ≥ 0")
    if args.realized_vol is not None and not 0 < args.realized_vol <= 10:
        raise InvalidInput("realized-vol", "must be in (0, 10]")
    if not 0 <= args.spread_jump <= 1:
        raise InvalidInput("spread-jump", "must be in [0, 1]")
    block_size = args.block_size
    if block_size is None and args.cluster is not None:
        block_size = CLUSTER_BLOCK
    if block_size is not None and block_size < 1:
        raise InvalidInput("block-size", "must be at least 1")
    cfg = RunConfig(model=args.model, n_paths=args.paths, n_steps=args.steps, seed=args.seed,
                    realized_vol=args.realized_vol, drift=args.drift, costs=costs,
                    credit=CreditParams(args.spread_jump), block_size=block_size,
                    explain=args.explain)
    if (h := _triple(args.heston, "heston")) is not None:
        cfg = replace(cfg, heston=HestonParams(*h))
    if (j := _triple(args.jumps, "jumps")) is not None:
        cfg = replace(cfg, jumps=JumpParams(*j))
    if cfg.replay_file is not None:
        cfg = replace(cfg, n_paths=1)
    return cfg


def take(outcome: Outcome, idx: list[int]) -> Outcome:
    """The strategies `idx` of an outcome (the sample path's rows too)."""
    sample = dict(outcome.sample)
    for key in ("hedge_shares", "trade_shares", "reasons"):
        sample[key] = sample[key][idx]
    return replace(
        outcome, pnl=outcome.pnl[idx], cost=outcome.cost[idx], trades=outcome.trades[idx],
        turnover=outcome.turnover[idx], notional=outcome.notional[idx],
        buckets={k: v[idx] for k, v in outcome.buckets.items()}, sample=sample,
    )


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    console = Console(stderr=False)
    try:
        return _run(args, console)
    except (InvalidInput, FileNotFoundError) as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 2
    except BlockFailed as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, console: Console) -> int:
    if args.stickiness:
        return _stickiness(args, console)
    scenario = load_book(args.book)
    cfg = config_from(args)
    requested = list(args.strategy or DEFAULT_STRATEGIES)
    steps_cap = None if cfg.replay_file else cfg.n_steps
    spellings = list(requested)
    if "none" not in spellings:
        spellings.append("none")  # the upside reference
    sweep: list[str] = []
    if not args.no_frontier and cfg.replay_file is None:
        sweep = [s for s in frontier_spellings(scenario, cfg.costs, steps_cap)
                 if s not in spellings]
    strategies = build_strategies(spellings + sweep, scenario, cfg.costs, steps_cap)

    if any(s.insurance_floor is not None for s in strategies) and not any(
            u.delta_one for u in scenario.underlyings):
        console.print("note: portfolio_insurance protects the book's stock, and this book "
                      "holds none: it only delta-hedges the options")
    address = None if args.cluster is None else parse_cluster(args.cluster)
    n_blocks = len(block_sizes(cfg.n_paths, cfg.block_size))
    began = time.perf_counter()
    if cfg.block_size is None:  # one block: a bar over its steps
        unit, total = "steps", steps_of(scenario, cfg)
    else:
        unit, total = "blocks", n_blocks
    with Progress(TextColumn("backtest"), BarColumn(), TextColumn("{task.completed}/{task.total}"
                  f" {unit}"), TimeElapsedColumn(), console=console,
                  disable=args.quiet, transient=True) as progress:
        task = progress.add_task("run", total=total)
        advance = lambda: progress.advance(task)  # noqa: E731
        if args.cluster is not None:
            outcome = run_on_ray(scenario, strategies, cfg, address, on_block=advance)
        elif cfg.block_size is None:
            outcome = run_backtest(scenario, strategies, cfg, on_step=advance)
        else:
            outcome = run_backtest(scenario, strategies, cfg, on_block=advance)
    wall = time.perf_counter() - began

    rows = summarize(strategies, outcome)
    by_name = {r["name"]: r for r in rows}
    chosen = [by_name[n] for n in requested]
    sweep_rows = frontier_rows([by_name[n] for n in sweep + [
        n for n in requested if n.partition(":")[0] in ("interval", "band", "whalley_wilmott")
        and "+" not in n]])
    steps = cfg.n_steps if steps_cap else steps_of(scenario, cfg)
    blocks = "" if cfg.block_size is None else f" in {n_blocks:,} blocks of {cfg.block_size:,}"
    where = "" if args.cluster is None else f" on {args.cluster}"
    title = (f"{cfg.model}, {cfg.n_paths:,} paths x {steps} steps{blocks}{where}, "
             f"V0 = {outcome.initial_value:,.0f} $, {wall:.1f} s")
    print_table(chosen, title, console)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    extra: dict[str, Any] = {
        "initial_value": outcome.initial_value,
        "model": cfg.model, "paths": cfg.n_paths, "steps": cfg.n_steps, "seed": cfg.seed,
        "costs": cfg.costs.as_dict(), "realized_vol": cfg.realized_vol, "drift": cfg.drift,
        "spread_jump": cfg.credit.spread_jump,
        "block_size": cfg.block_size, "blocks": n_blocks, "cluster": args.cluster,
        "seconds": wall, "compute_seconds": outcome.seconds,
        "units": "$ for the whole book per path; var/cvar are positive losses",
        "frontier": sweep_rows,
    }
    write_summary(out / "summary.json", chosen, extra)
    idx = [spellings.index(n) for n in requested]
    mine = take(outcome, idx)
    write_paths(out / "paths.npz", requested, mine)
    if not args.no_plots:
        from app.backtest import plots

        plots.pnl_histograms(out / "pnl_histograms.png", requested, mine.pnl)
        plots.sample_path_plot(out / "sample_path.png", requested, mine)
        if sweep and cfg.n_paths > 1:
            plots.frontier_plot(out / "frontier.png", sweep_rows, chosen,
                                f"cost vs risk — {title}")
    console.print(f"wrote {out}/summary.json, paths.npz"
                  + ("" if args.no_plots else " and PNGs"))
    return 0 if np.isfinite(outcome.pnl).all() else 1


def _stickiness(args: argparse.Namespace, console: Console) -> int:
    import json

    from app.backtest.smile import run_stickiness, table

    if args.paths < 1:
        raise InvalidInput("paths", "must be ≥ 1")
    results = run_stickiness(paths=args.paths, seed=args.seed)
    console.print(table(results), markup=False, highlight=False)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "stickiness.json").write_text(json.dumps([r.as_dict() for r in results], indent=1))
    return 0
