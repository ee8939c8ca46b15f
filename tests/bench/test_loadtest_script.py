"""scripts/loadtest.py runs bounded, on loopback, and reports what it promises."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.redis
@pytest.mark.slow
def test_a_short_load_test_reports_latency_fills_errors_and_rss():
    out = subprocess.run(
        [sys.executable, "scripts/loadtest.py", "--rate", "100", "--duration", "2",
         "--underlyings", "5", "--options", "20", "--drain-s", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    for word in ("tick -> signal", "p99.9", "fills", "RSS", "errors            0"):
        assert word in out.stdout, out.stdout[-2000:]
