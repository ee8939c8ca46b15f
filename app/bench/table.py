"""Machine description and the rich table for benchmark rows."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterable
from typing import Any


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo ("unknown" elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, Any]:
    """Cores, CPU model, OS and the versions that decide the speed of the numeric code."""
    import numba
    import numpy

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count() or 0
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": usable,
        "numba_threads": os.environ.get("NUMBA_NUM_THREADS", "default"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
    }


def si(value: float | None, unit: str = "") -> str:
    """Rates get SI prefixes (1234567 -> '1.23 M'); figures with a unit such as µs or ms
    keep it readable as is ('1,670'). 3 significant figures either way."""
    if value is None:
        return "-"
    if unit and not unit.endswith("/s"):
        return f"{float(f'{value:.3g}'):,.10g}"
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}"
    return f"{value:.3g}"


def render(rows: Iterable[dict[str, Any]], machine: dict[str, Any]) -> None:
    """Print the machine line and one table of all rows."""
    from rich.console import Console
    from rich.table import Table

    # Piped output (README, CI logs) gets a fixed wide table instead of rich's 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=150)
    console.print(
        f"[bold]machine[/]: {machine['cpu']} - {machine['cores']} cores "
        f"({machine['cores_usable']} usable), NUMBA_NUM_THREADS={machine['numba_threads']}; "
        f"Python {machine['python']}, numpy {machine['numpy']}, numba {machine['numba']}")
    table = Table(show_lines=False)
    for col, justify in (("section", "left"), ("name", "left"), ("n", "right"),
                         ("value", "right"), ("unit", "left"), ("reference", "right"),
                         ("ratio", "right"), ("per call", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        per_call = row.get("seconds_per_call")
        unit = str(row.get("unit", ""))
        table.add_row(
            str(row["section"]), str(row["name"]),
            f"{row['n']:,}" if isinstance(row.get("n"), int) else str(row.get("n", "")),
            si(row.get("value"), unit), unit, si(row.get("reference"), unit),
            f"{row['ratio']:.2f}x" if row.get("ratio") is not None else "-",
            f"{per_call * 1e6:,.1f} µs" if per_call is not None else "")
    console.print(table)
