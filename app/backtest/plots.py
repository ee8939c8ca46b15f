"""PNG plots of a run (matplotlib, Agg backend: no display needed).

- `pnl_histograms.png`: the P&L distribution of each requested strategy, one panel each,
  shared $ axis.
- `frontier.png`: mean cost versus P&L standard deviation across fixed intervals, fixed bands
  and Whalley–Wilmott risk aversions, with the requested strategies marked.
- `sample_path.png`: the first path's spot and each strategy's hedge position, trades marked.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray

from app.backtest.simulate import Outcome

FAMILY_STYLE = {
    "interval": ("tab:blue", "o", "fixed interval (N rebalances)"),
    "band": ("tab:orange", "s", "fixed band (shares)"),
    "whalley_wilmott": ("tab:green", "^", "Whalley–Wilmott (risk aversion)"),
}


def _text(s: str) -> str:
    """Dollar signs as text, not mathtext delimiters."""
    return s.replace("$", r"\$")


def pnl_histograms(path: Path, names: Sequence[str], pnl: NDArray[np.float64]) -> None:
    """`pnl` (n_strategies, n_paths) $; one panel per strategy."""
    k = len(names)
    fig, axes = plt.subplots(k, 1, figsize=(8, 1.9 * k + 0.8), sharex=True, squeeze=False)
    lo, hi = np.quantile(pnl, [0.001, 0.999])
    bins = np.linspace(lo, hi, 80)
    for ax, name, row in zip(axes[:, 0], names, pnl, strict=True):
        ax.hist(np.clip(row, lo, hi), bins=bins, color="tab:blue", alpha=0.75)
        ax.axvline(row.mean(), color="k", lw=1)
        ax.set_ylabel("paths")
        ax.set_title(_text(f"{name}: mean {row.mean():,.0f} $, std {row.std():,.0f} $"),
                     fontsize=9, loc="left")
    axes[-1, 0].set_xlabel("hedged P&L of the book, $ per path (tails clipped at 0.1 %)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def frontier_plot(
    path: Path, sweep: list[dict[str, Any]], chosen: list[dict[str, Any]], title: str
) -> None:
    """`sweep` and `chosen` rows with name, std_pnl and mean_cost ($)."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for fam, (color, marker, label) in FAMILY_STYLE.items():
        mine = sorted((r for r in sweep if r["name"].partition(":")[0] == fam),
                      key=lambda r: float(r["name"].split(":")[1]))  # by the parameter
        pts = [(r["std_pnl"], r["mean_cost"], r["name"]) for r in mine]
        if not pts:
            continue
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, color=color,
                label=label, lw=1.2, ms=5)
        for x, y, name in pts:
            ax.annotate(name.partition(":")[2], (x, y), fontsize=6, color=color,
                        xytext=(3, 3), textcoords="offset points")
    for r in chosen:
        ax.scatter([r["std_pnl"]], [r["mean_cost"]], s=70, facecolors="none",
                   edgecolors="k", zorder=5)
        ax.annotate(r["name"], (r["std_pnl"], r["mean_cost"]), fontsize=8,
                    xytext=(6, -10), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=10.0)
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("risk: standard deviation of the hedged P&L, $")
    ax.set_ylabel("mean hedging cost, $")
    ax.set_title(_text(title), fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sample_path_plot(path: Path, names: Sequence[str], outcome: Outcome) -> None:
    """The first path: spot on top; hedge position (shares) per strategy below, trades as
    markers (▲ buy, ▼ sell)."""
    sample = outcome.sample
    times = [datetime.fromtimestamp(t, UTC) for t in sample["times"]]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True,
                                      gridspec_kw={"height_ratios": [1, 1.4]})
    top.plot(times, sample["spot"], color="k", lw=1)
    top.set_ylabel("spot $")
    top.set_title("one sample path and its hedge trades", fontsize=10, loc="left")
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, name in enumerate(names):
        color = colors[i % len(colors)]
        hedge = sample["hedge_shares"][i]
        bottom.step(times, hedge, where="post", color=color, lw=1.2, label=name)
        trades = sample["trade_shares"][i]
        for sign, marker in ((1, "^"), (-1, "v")):
            idx = np.flatnonzero(np.sign(trades) == sign)
            bottom.scatter([times[j] for j in idx], hedge[idx], marker=marker, color=color,
                           s=22, zorder=4)
    bottom.set_ylabel("hedge position, shares")
    bottom.legend(fontsize=8)
    bottom.grid(True, alpha=0.3)
    top.grid(True, alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
