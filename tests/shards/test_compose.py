"""The compose services of the scaled-out topology, checked by reading (no Docker engine
here): N shards with distinct K/N, each its own journal volume and address, and a gateway
that expects N of them."""

from __future__ import annotations

from pathlib import Path

import yaml

from app.domain.shard import Shard

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_n_shards_and_a_gateway():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    shards = {name: s for name, s in services.items()
              if "HEDGE_SHARD" in (s.get("environment") or {})}
    parsed = [Shard.parse(s["environment"]["HEDGE_SHARD"]) for s in shards.values()]
    n = len(parsed)
    assert n >= 2 and sorted(p.index for p in parsed) == list(range(n))
    assert {p.count for p in parsed} == {n}
    assert len({str(s["volumes"]) for s in shards.values()}) == n  # a journal each
    assert len({s["environment"]["HEDGE_SHARD_URL"] for s in shards.values()}) == n
    for name, s in shards.items():
        assert s["environment"]["HEDGE_SHARD_URL"].startswith(f"http://{name}:")
        assert "ports" not in s  # reached through the gateway (or on the compose network)
    gateway = services["gateway"]
    assert gateway["command"][-1] == "gateway"
    assert int(gateway["environment"]["HEDGE_SHARDS"]) == n
    assert set(gateway["depends_on"]) >= set(shards)
    assert all("shards" in s["profiles"] for s in [*shards.values(), gateway])
    bot = services["paper-bot-shards"]  # every shard's stream, fills through the gateway
    assert bot["command"][-2:] == ["--shards", str(n)]
    assert bot["environment"]["HEDGE_URL"] == "http://gateway:8000"
