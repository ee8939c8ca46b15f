"""`python -m app bench --section convertible --quick` runs and writes its rows."""

from __future__ import annotations

import json

from app.bench.cli import main


def test_convertible_bench_quick_writes_its_rows(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert main(["--section", "convertible", "--quick", "--json", str(path)]) == 0
    rows = json.loads(path.read_text())["rows"]
    names = {row["name"]: row for row in rows}
    assert names["solve (full re-solve, all figures)"]["n"] == 100
    assert names["revalue (spot only, grids reused)"]["us_per_tick"] > 0
    assert names["revalue + needs_resolve"]["ratio"] > 1  # a tick is cheaper than a solve
    for row in rows:
        assert row["section"] == "convertible" and row["value"] > 0
    assert "convertible" in capsys.readouterr().out
