"""A market whose implied vols follow a smile: the hedge that assumes the market's own
stickiness leaves the smaller hedging error on a skewed book."""

from __future__ import annotations

import json

from app.backtest.cli import main
from app.backtest.smile import run_stickiness


def test_the_matching_stickiness_hedges_a_skewed_book_best():
    results = {(r.market, r.assumed): r for r in run_stickiness(paths=1_000, steps=100)}
    for market, other in (("strike", "moneyness"), ("moneyness", "strike")):
        matched, wrong = results[(market, market)], results[(market, other)]
        assert matched.std * 3 < wrong.std, (market, matched, wrong)


def test_the_cli_prints_and_writes_the_study(tmp_path, capsys):
    assert main(["--stickiness", "--paths", "300", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "stickiness.json").read_text())
    assert {(r["market"], r["assumed"]) for r in rows} == {
        (m, a) for m in ("strike", "moneyness") for a in ("strike", "moneyness")}
    assert "hedging error" in capsys.readouterr().out
