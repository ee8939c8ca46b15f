"""`python -m app bench [--section NAME]... [--quick] [--json PATH]`.

Sections are modules registered in SECTIONS, imported lazily; a registered section whose
module does not exist yet is skipped with a note, so a later issue only has to add its
module. Everything runs on one core: NUMBA_NUM_THREADS=1 is set before numba is imported.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from typing import Any

# name -> module exposing run(quick: bool) -> list[row]
SECTIONS: dict[str, str] = {
    "pricing": "app.bench.pricing",
    "service": "app.bench.service",
    "backtest": "app.bench.backtest",
    "surface": "app.bench.surface",
    "convertible": "app.bench.convertible",
    "american": "app.bench.american",
    "scenarios": "app.bench.scenarios",
    "cluster": "app.bench.cluster",
    "shards": "app.bench.shards",
    "pnl": "app.bench.pnl",
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m app bench",
                                description="Measure pricing and service speed.")
    p.add_argument("--section", action="append", choices=sorted(SECTIONS), metavar="NAME",
                   help=f"run only this section (repeatable): {', '.join(SECTIONS)}")
    p.add_argument("--quick", action="store_true", help="short run (smaller N, fewer repeats)")
    p.add_argument("--json", metavar="PATH", help="also write machine + rows as JSON")
    return p


def _load(name: str) -> Any | None:
    module = SECTIONS[name]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:  # the section itself is not written yet
            return None
        raise


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # one-core figures
    from app.bench.table import machine_info, render

    machine = machine_info()
    rows: list[dict[str, Any]] = []
    for name in args.section or list(SECTIONS):
        section = _load(name)
        if section is None:
            print(f"(section {name!r} not available yet: {SECTIONS[name]} missing)",
                  file=sys.stderr)
            continue
        started = time.perf_counter()
        rows.extend(section.run(args.quick))
        print(f"(section {name!r}: {time.perf_counter() - started:.1f} s)", file=sys.stderr)
    render(rows, machine)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"machine": machine, "quick": args.quick, "rows": rows}, f, indent=2)
            f.write("\n")
    return 0
