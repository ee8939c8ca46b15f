"""`python -m app bench --section service --quick` runs end to end — the service as a
subprocess with a real Redis, a subscriber process, the WebSocket sender — and every row has
a finite figure. A smoke test of the harness, not a timed test: no figure is held to its
target here (the README's table and the bench itself say whether targets hold)."""

from __future__ import annotations

import json
import math

import pytest
import redis

from app.bench.cli import main
from app.bench.service_metrics import Histogram
from app.bench.service_stack import REDIS_URL

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ROW_KEYS = {"section", "name", "n", "value", "unit", "reference", "ratio"}


@pytest.fixture
def reachable_redis() -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:  # scripts/test always provides one; say so plainly
        pytest.fail(f"no Redis at {REDIS_URL}: {exc}")
    finally:
        client.close()


def test_service_bench_quick_gives_finite_rows_for_every_part(reachable_redis, tmp_path,
                                                               capsys):
    path = tmp_path / "bench.json"
    assert main(["--section", "service", "--quick", "--json", str(path)]) == 0
    rows = json.loads(path.read_text())["rows"]
    assert rows and all(row["section"] == "service" for row in rows)
    for row in rows:
        assert set(row) >= ROW_KEYS, row["name"]
        assert isinstance(row["value"], int | float) and math.isfinite(row["value"]), row
        assert row["value"] >= 0, row
        assert row["ok"] in (True, False, None), row
    names = " | ".join(row["name"] for row in rows)
    for part in ("in-process tick->signal p99, band, 1,000 options",
                 "every-rail p99 / band-only p99", "end-to-end tick->Redis subscriber p99",
                 "max tick rate, one WebSocket", "risk lag p99 at max tick rate"):
        assert part in names
    e2e = next(r for r in rows if r["name"].startswith("end-to-end") and "p99" in r["name"])
    assert e2e["signals"] > 0 and e2e["errors"] == [] and e2e["rejected"] == 0
    assert "end-to-end" in capsys.readouterr().out


def test_histogram_quantile_interpolates_inside_the_bucket_like_prometheus():
    h = Histogram(bounds=(0.001, 0.01, 0.1, math.inf), counts=(50, 90, 100, 100),
                  total=100, sum=1.0)
    assert h.quantile(0.5) == pytest.approx(0.001)
    assert h.quantile(0.7) == pytest.approx(0.001 + 0.009 * 20 / 40)
    assert h.quantile(0.99) == pytest.approx(0.01 + 0.09 * 9 / 10)
    assert h.max_bucket() == 0.1
    assert h.bucket_of(0.7) == (0.001, 0.01) and h.bucket_of(0.99) == (0.01, 0.1)
    assert not h.beyond(0.99)
    overflow = Histogram((0.1, math.inf), (98, 100), 100, 1.0)
    # past the last finite bound: that bound, flagged (Prometheus answers the same)
    assert overflow.quantile(0.99) == 0.1 and overflow.beyond(0.99)
    assert overflow.max_bucket() == math.inf
    assert math.isnan(Histogram((0.1, math.inf), (0, 0), 0, 0.0).quantile(0.5))
