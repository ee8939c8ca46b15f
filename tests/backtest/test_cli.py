"""python -m app backtest: files, table, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.__main__ import main as app_main
from app.backtest.cli import main

SUMMARY_KEYS = {"name", "mean_pnl", "std_pnl", "var_95", "cvar_95", "var_99", "cvar_99",
                "mean_cost", "mean_trades", "attribution"}


def test_a_small_run_writes_summary_paths_and_plots(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    code = app_main(["backtest", "--paths", "300", "--steps", "40", "--quiet", "--out", str(out),
                     "--strategy", "interval:20", "static", "none", "band:500+tail",
                     "--spread-bps", "2", "--per-share", "0.001", "--impact", "0.5"])
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    names = [s["name"] for s in summary["strategies"]]
    assert names == ["interval:20", "static", "none", "band:500+tail"]
    for s in summary["strategies"]:
        assert set(s) >= SUMMARY_KEYS
        assert set(s["attribution"]) == {"delta", "gamma", "theta", "vega", "costs",
                                         "unexplained"}
        assert s["cvar_95"] >= s["var_95"] and s["cvar_99"] >= s["var_99"]
    assert summary["frontier"]
    paths = np.load(out / "paths.npz")
    assert paths["pnl"].shape == (4, 300)
    np.testing.assert_allclose(paths["pnl"].mean(axis=1),
                               [s["mean_pnl"] for s in summary["strategies"]])
    for png in ("pnl_histograms.png", "frontier.png", "sample_path.png"):
        assert (out / png).stat().st_size > 10_000
    table = capsys.readouterr().out
    assert "interval:20" in table and "std P&L" in table and "upside kept" in table


@pytest.mark.parametrize("model", ["heston", "merton"])
def test_other_markets_run_from_the_command_line(tmp_path: Path, model: str) -> None:
    out = tmp_path / model
    assert main(["--model", model, "--paths", "200", "--steps", "30", "--quiet", "--no-plots",
                 "--no-frontier", "--out", str(out), "--strategy", "band:300"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    vega = summary["strategies"][0]["attribution"]["vega"]
    assert (vega != 0) == (model == "heston")


def test_a_replay_runs_the_tick_file_through_the_same_loop(tmp_path: Path) -> None:
    ticks = tmp_path / "ticks.csv"
    rows = ["ts,symbol,price"]
    rng = np.random.default_rng(0)
    price = 100.0
    for i in range(1, 200):
        price *= float(np.exp(rng.normal(0, 0.003)))
        rows.append(f"{1736197200 + 600 * i},XYZ,{price:.4f}")
    ticks.write_text("\n".join(rows) + "\n")
    out = tmp_path / "replay"
    assert main(["--model", f"replay:{ticks}", "--quiet", "--out", str(out),
                 "--strategy", "band:200", "interval:50", "none"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["paths"] == 1
    band = summary["strategies"][0]
    assert band["mean_trades"] >= 1


@pytest.mark.parametrize("argv", [["--strategy", "sometimes"], ["--model", "brownian"],
                                  ["--steps", "10", "--strategy", "interval:20"],
                                  ["--model", "replay:/nonexistent.csv"],
                                  ["--book", "/nonexistent.json"], ["--commission", "-1"],
                                  ["--block-size", "0"], ["--cluster", "dask"]])
def test_bad_arguments_exit_2_with_a_reason(argv: list[str], tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code = main([*argv, "--paths", "10", "--quiet", "--out", str(tmp_path)])
    assert code == 2
    assert "backtest:" in capsys.readouterr().err


def test_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for option in ("--book", "--model", "--paths", "--steps", "--strategy", "--commission",
                   "--per-share", "--spread-bps", "--impact", "--realized-vol", "--seed",
                   "--out", "--drift", "--block-size", "--cluster"):
        assert option in text
