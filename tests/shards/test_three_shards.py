"""Three shards, a gateway and the paper execution bot as real processes over the real Redis:
every shard's signals on its own stream, executed by one bot that reads all three streams and
fills through the gateway; the firm's totals equal the sum of the shards' own."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from websockets.sync.client import connect

from app.domain.shard import shard_of
from tests.faults.harness import PYTHON, ROOT, _end, wait_until
from tests.shards.cluster import REDIS_URL, Cluster, call_on, owned_by, running

pytestmark = [pytest.mark.slow, pytest.mark.redis]
MARKET = {"rate": 0.01, "div_yield": 0.0, "vol": 0.25, "spot": 100.0}


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running(tmp_path, 3) as c:
        yield c


def test_three_shards_a_gateway_and_the_paper_bot_on_every_stream(cluster: Cluster,
                                                                  tmp_path: Path):
    unders = [owned_by(k, 3, f"S{k}X") for k in range(3)]
    future_under = unders[0]
    future = next(f"FUT{i}" for i in range(100) if shard_of(f"FUT{i}", 3) != 0)
    expiry = (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%d")
    assert cluster.gateway is not None
    log = (tmp_path / "bot.log").open("ab")
    bot = subprocess.Popen(
        [PYTHON, "scripts/paper_bot.py", "--url", cluster.gateway.base, "--redis-url",
         REDIS_URL, "--stream", f"{cluster.tag}:stream", "--shards", "3", "--consumer",
         "bot-1", "--log-level", "info"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
    log.close()
    try:
        with cluster.gw() as gw:
            for u in unders:
                assert gw.put(f"/v1/underlyings/{u}", json=MARKET).status_code == 200
            book = [{"symbol": call_on(u), "quantity": 100 * (k + 1)}
                    for k, u in enumerate(unders)]
            book.append({"symbol": future, "quantity": 0, "type": "future",
                         "underlying": future_under, "multiplier": 50, "expiry": expiry})
            custom = next(f"OPT{i}" for i in range(100) if shard_of(f"OPT{i}", 3) != 0)
            book.append({"symbol": custom, "quantity": 1, "type": "call", "strike": 100.0,
                         "underlying": future_under, "expiry": expiry})
            r = gw.put("/v1/positions", json=book)
            assert r.status_code == 200 and r.json()["loaded"] == 5, r.text
            # ticks of an option whose id names no underlying: the gateway finds its shard
            r = gw.post("/v1/ticks", json=[{"symbol": custom, "iv": 0.31},
                                           {"symbol": "NOSUCH9", "iv": 0.3}])
            assert r.json()["accepted"] == 1, r.text
            assert [x["index"] for x in r.json()["rejected"]] == [1]
            assert gw.post("/v1/ticks", json={"symbol": custom, "iv": 0.32}).status_code == 200
            # a bare fill of the future (its id names no underlying): the gateway finds it
            r = gw.post("/v1/fills", json={"exec_id": "fut-1", "symbol": future, "side": "buy",
                                           "quantity": 2, "price": 100.0})
            assert r.status_code == 200, r.text
            assert r.json()["position"] == {"symbol": future, "quantity": 2}
            for u in unders:
                r = gw.put(f"/v1/hedge/policies/{u}", json={"mode": "band", "band": 50})
                assert r.status_code == 200, r.text
            ws_base = cluster.gateway.ws
            with connect(ws_base + "/v1/ws/signals", open_timeout=10) as feed, \
                    connect(ws_base + "/v1/ws/ingest", open_timeout=10) as ingest:
                time.sleep(2.0)  # the gateway's upstream feeds are open (no replay on a feed)
                # ticks over the gateway's ingest socket: split by shard, acks merged
                ingest.send(json.dumps({"type": "hello", "ack": True}))
                assert json.loads(ingest.recv(timeout=10)) == {"type": "hello", "ack": True}
                frame = [{"type": "tick", "symbol": u, "price": 101.0} for u in unders]
                frame.insert(1, {"type": "tick", "symbol": unders[2], "price": -1.0})
                ingest.send(json.dumps(frame))
                ack = json.loads(ingest.recv(timeout=10))
                assert ack["type"] == "ack" and ack["accepted"] == 3
                assert [r["index"] for r in ack["rejected"]] == [1]
                seen: set[str] = set()
                deadline = time.monotonic() + 20
                while len(seen) < 3 and time.monotonic() < deadline:
                    seen.add(json.loads(feed.recv(timeout=20))["id"].split("-")[0])
                assert seen == {"0", "1", "2"}  # every shard's signals on one socket

            def hedged() -> dict | None:
                risk = gw.get("/v1/risk").json()
                figures = [risk["underlyings"][u] for u in unders]
                done = all(f["hedge_position"] != 0 and f["pending"] == 0 for f in figures)
                return risk if done else None

            risk = wait_until(hedged, 30, "every shard's signal executed by the bot")
            assert set(risk["shards"]) == {"0", "1", "2"} and risk["complete"] is True
            own = []
            for svc in cluster.shards:
                with svc.client() as c:
                    own.append(c.get("/v1/risk").json()["total"])
            for key in ("dollar_delta", "dollar_gamma", "vega", "theta", "rho"):
                assert risk["total"][key] == pytest.approx(sum(t[key] for t in own), rel=1e-9)
            signals = gw.get("/v1/hedge/signals").json()
            assert {s["id"].split("-")[0] for s in signals} == {"0", "1", "2"}
            fills = {s["id"]: s for s in signals}
            for u in unders:  # each position is what the bot filled of its shard's signal
                mine = [s for s in fills.values() if s["underlying"] == u]
                assert risk["underlyings"][u]["hedge_position"] == pytest.approx(
                    sum(s["order_qty"] for s in mine))
    finally:
        _end(bot, 10.0)
