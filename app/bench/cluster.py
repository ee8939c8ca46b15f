"""Benchmark section `cluster`: scaling out past one process.

Each part is a module with `run(quick) -> rows`, run in order: the backtest on Ray
(`app.bench.cluster_backtest`); the shards and the gateway add theirs here.
"""

from __future__ import annotations

import importlib
from typing import Any

PARTS = ("app.bench.cluster_backtest",)


def run(quick: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name in PARTS:
        rows.extend(importlib.import_module(name).run(quick))
    return rows
