"""`python -m app bench --section pricing --quick` runs and writes its JSON."""

from __future__ import annotations

import json

from app.bench.cli import main


def test_pricing_bench_quick_writes_json(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert main(["--section", "pricing", "--quick", "--json", str(path)]) == 0
    data = json.loads(path.read_text())
    assert {"cpu", "cores", "python", "numpy", "numba"} <= set(data["machine"])
    names = {(row["name"], row["n"]) for row in data["rows"]}
    assert ("greeks (all 9, validated)", 10) in names
    assert any(name == "implied_vol" for name, _ in names)
    for row in data["rows"]:
        assert {"section", "name", "n", "value", "unit", "reference", "ratio"} <= set(row)
        assert row["section"] == "pricing" and row["value"] > 0
    assert "greeks" in capsys.readouterr().out
