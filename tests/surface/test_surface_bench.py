"""`python -m app bench --section surface --quick` runs and writes its rows."""

from __future__ import annotations

import json

from app.bench.cli import main


def test_surface_bench_quick_writes_its_rows(tmp_path, capsys):
    path = tmp_path / "bench.json"
    assert main(["--section", "surface", "--quick", "--json", str(path)]) == 0
    rows = json.loads(path.read_text())["rows"]
    names = [row["name"] for row in rows]
    assert any(n.startswith("fit 8 expiries x 41 strikes, SVI") for n in names)
    assert any(n.startswith("fit one 41-strike slice") for n in names)
    assert any(n.startswith("surface lookup, 1,000 options") for n in names)
    ticks = [row for row in rows if "off the surface" in row["name"]]
    assert len(ticks) == 2 and all(row["reference"] > 0 for row in ticks)  # against flat vol
    for row in rows:
        assert row["section"] == "surface" and row["value"] > 0 and row["unit"] in {"ms", "µs"}
    svi = rows[0]
    assert svi["accepted"] and svi["rms_vol_pts"] < 0.1 and svi["reference"] > 0
    assert "surface" in capsys.readouterr().out
