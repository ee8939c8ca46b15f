"""Statistics of a run, `summary.json`, `paths.npz` and the terminal table.

All money in $ for the whole book (options, delta-one holdings, hedges and costs), per path, at
the end of the run. VaR and CVaR are reported as positive loss figures: `var_95` is minus the
5 % quantile of the P&L (the loss exceeded on 5 % of paths), `cvar_95` minus the mean P&L of
the paths at or below that quantile (the average loss in the worst 5 %); a negative figure means
even the tail made money.

`upside_kept` = E[max(P&L, 0)] of the strategy / E[max(P&L, 0)] of `none` (the average gain on
the paths that gain, relative to not hedging). Hedging errors are relative to the magnitude of
the book's initial option value |V0|.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from app.backtest.simulate import Outcome
from app.backtest.strategies import Strategy
from app.pricing.arrays import FloatArray


def tail_risk(pnl: FloatArray, level: float) -> tuple[float, float]:
    """(VaR, CVaR) at `level` (0.95, 0.99) of a (n_paths,) P&L, as positive losses."""
    q = float(np.quantile(pnl, 1.0 - level))
    tail = pnl[pnl <= q]
    return -q, -float(tail.mean()) if tail.size else -q


def strategy_stats(
    name: str, i: int, outcome: Outcome, none_gain: float | None
) -> dict[str, Any]:
    """The figures of strategy row `i` of `outcome` (see the module docstring for units)."""
    pnl = outcome.pnl[i]
    v0 = abs(outcome.initial_value)
    var95, cvar95 = tail_risk(pnl, 0.95)
    var99, cvar99 = tail_risk(pnl, 0.99)
    gain = float(np.maximum(pnl, 0.0).mean())
    attribution = {b: float(v[i].mean()) for b, v in outcome.buckets.items()}
    attribution["unexplained"] = float(outcome.unexplained[i].mean())
    explain = {k: float(v[i].mean()) for k, v in outcome.explain.items()}
    return {
        "name": name,
        "mean_pnl": float(pnl.mean()),
        "std_pnl": float(pnl.std(ddof=1)) if pnl.size > 1 else 0.0,
        "var_95": var95,
        "cvar_95": cvar95,
        "var_99": var99,
        "cvar_99": cvar99,
        "mean_cost": float(outcome.cost[i].mean()),
        "mean_trades": float(outcome.trades[i].mean()),
        "turnover_shares": float(outcome.turnover[i].mean()),
        "turnover_notional": float(outcome.notional[i].mean()),
        "hedge_error_mean_pct": 100.0 * float(pnl.mean()) / v0 if v0 else None,
        "hedge_error_std_pct": 100.0 * float(pnl.std()) / v0 if v0 else None,
        "p05_pnl": float(np.quantile(pnl, 0.05)),
        "p95_pnl": float(np.quantile(pnl, 0.95)),
        "upside_kept": gain / none_gain if none_gain else None,
        "attribution": attribution,
        **({} if outcome.exercises is None else {
            "early_exercises": float(outcome.exercises.mean()),
            "early_exercise_value": (0.0 if outcome.exercise_value is None
                                     else float(outcome.exercise_value[i].mean()))}),
        **({"explain": explain} if explain else {}),
    }


def summarize(
    strategies: Sequence[Strategy], outcome: Outcome, shown: int | None = None
) -> list[dict[str, Any]]:
    """Stats per strategy, in the given order; the first `shown` are the requested ones."""
    names = [s.name for s in strategies]
    none_gain = None
    if "none" in names:
        none_gain = float(np.maximum(outcome.pnl[names.index("none")], 0.0).mean())
    rows = [strategy_stats(n, i, outcome, none_gain) for i, n in enumerate(names)]
    return rows if shown is None else rows[:shown]


def write_summary(path: Path, rows: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    path.write_text(json.dumps({"strategies": rows, **extra}, indent=2, allow_nan=False))


def write_paths(path: Path, names: Sequence[str], outcome: Outcome) -> None:
    """`paths.npz`: per strategy × path arrays (`pnl`, `cost`, `trades`, `turnover`, one
    `attribution_<bucket>` each), `names`, the sample path and up to 200 spot paths."""
    arrays: dict[str, Any] = {
        "names": np.array(list(names)),
        "pnl": outcome.pnl, "cost": outcome.cost, "trades": outcome.trades,
        "turnover": outcome.turnover,
        **{f"attribution_{b}": v for b, v in outcome.buckets.items()},
        "attribution_unexplained": outcome.unexplained,
        **{f"sample_{k}": v for k, v in outcome.sample.items()},
    }
    if outcome.spot_paths is not None:
        arrays["spot_paths"] = outcome.spot_paths
    np.savez_compressed(path, **arrays)


def _money(x: float | None) -> str:
    return "–" if x is None else f"{x:,.0f}"


ROWS: tuple[tuple[str, str, str], ...] = (
    ("mean P&L $", "mean_pnl", "money"),
    ("std P&L $ (risk)", "std_pnl", "money"),
    ("hedge error std % of V0", "hedge_error_std_pct", "pct"),
    ("VaR 95 % $", "var_95", "money"),
    ("CVaR 95 % $", "cvar_95", "money"),
    ("VaR 99 % $", "var_99", "money"),
    ("CVaR 99 % $", "cvar_99", "money"),
    ("mean cost $", "mean_cost", "money"),
    ("mean trades", "mean_trades", "float"),
    ("turnover shares", "turnover_shares", "money"),
    ("upside kept vs none", "upside_kept", "pct100"),
)


def _cell(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "money":
        return _money(value)
    if kind == "pct":
        return f"{value:.1f} %"
    if kind == "pct100":
        return f"{100 * value:.0f} %"
    return f"{value:.1f}"


def _attributed(rows: list[dict[str, Any]]) -> list[str]:
    """The attribution's buckets, in order (delta, gamma, theta, vega, costs, then credit for a
    book of convertibles, unexplained last)."""
    return list(rows[0]["attribution"]) if rows else []


def table(rows: list[dict[str, Any]], title: str) -> Table:
    """Measures down, strategies across (the seed's column comparison)."""
    t = Table(title=title, title_justify="left")
    t.add_column("measure")
    for r in rows:
        t.add_column(r["name"], justify="right")
    for label, key, kind in ROWS:
        t.add_row(label, *(_cell(r[key], kind) for r in rows))
    t.add_section()
    for b in _attributed(rows):
        t.add_row(f"attribution: {b} $", *(_money(r["attribution"][b]) for r in rows))
    return t


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """The same table as GitHub markdown (for the README)."""
    head = "| measure | " + " | ".join(r["name"] for r in rows) + " |"
    sep = "|---|" + "---:|" * len(rows)
    lines = [head, sep]
    for label, key, kind in ROWS:
        lines.append(f"| {label} | " + " | ".join(_cell(r[key], kind) for r in rows) + " |")
    for b in _attributed(rows):
        lines.append(f"| attribution: {b} $ | "
                     + " | ".join(_money(r["attribution"][b]) for r in rows) + " |")
    return "\n".join(lines)


def print_table(rows: list[dict[str, Any]], title: str, console: Console | None = None) -> None:
    (console or Console()).print(table(rows, title))
