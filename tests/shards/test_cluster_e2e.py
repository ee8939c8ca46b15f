"""Two shards and a gateway as real processes over the real Redis: the whole loop through the
gateway (ticks → signals on each shard's own stream → fills → positions), a misrouted write
answered 421, and a shard killed with kill -9: its underlyings 503 through the gateway, the
others unaffected, and after its restart no acknowledged fill is lost."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.faults.harness import wait_until
from tests.shards.cluster import Cluster, call_on, owned_by
from tests.shards.redis_cluster import RedisCluster

pytestmark = [pytest.mark.slow, pytest.mark.redis]
MARKET = {"rate": 0.01, "div_yield": 0.0, "vol": 0.25, "spot": 100.0}


@pytest.fixture(params=["redis", "redis-cluster"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    """Two shards and a gateway over the shared Redis, then over a three-master Redis
    Cluster of the test's own."""
    with contextlib.ExitStack() as stack:
        url = None
        if request.param == "redis-cluster":
            if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
                pytest.skip("redis-server and redis-cli are not on PATH")
            rc = RedisCluster(tmp_path / "redis-cluster")
            stack.callback(rc.close)
            rc.start()
            url = rc.url
        c = Cluster(tmp_path, 2, **({"redis_url": url} if url else {}))
        stack.callback(c.close)
        c.start()
        yield c


def stream_signals(cluster: Cluster, k: int) -> list[dict]:
    with cluster.redis() as r:
        return [orjson.loads(fields[b"data"]) for _, fields in r.xrange(cluster.stream(k))]


def test_two_shards_behind_a_gateway_end_to_end_with_a_kill9(cluster: Cluster):
    with cluster.gw() as gw:
        loop_through_the_gateway(cluster, gw)


def loop_through_the_gateway(cluster: Cluster, gw: httpx.Client) -> None:
    a, b = owned_by(0, 2, "AA"), owned_by(1, 2, "BB")
    # --- set-up through the gateway: each underlying lands on its own shard
    for u in (a, b):
        assert gw.put(f"/v1/underlyings/{u}", json=MARKET).status_code == 200
    r = gw.put("/v1/positions", json=[{"symbol": call_on(a), "quantity": 100},
                                      {"symbol": call_on(b), "quantity": 200}])
    assert r.status_code == 200, r.text
    assert r.json()["loaded"] == 2
    with cluster.shards[0].client() as s0, cluster.shards[1].client() as s1:
        assert [p["symbol"] for p in s0.get("/v1/positions").json()] == [call_on(a)]
        assert [p["symbol"] for p in s1.get("/v1/positions").json()] == [call_on(b)]
        # a write sent to the wrong shard: 421 naming the owner, nothing changed
        r = s0.post("/v1/ticks", json={"symbol": b, "price": 101.0})
        assert r.status_code == 421 and r.json()["shard"] == "1/2"
        r = s1.put(f"/v1/underlyings/{a}", json=MARKET)
        assert r.status_code == 421 and r.json()["shard"] == "0/2"
    # a load with a bad item is refused whole: nothing changes anywhere
    r = gw.put("/v1/positions", json=[{"symbol": call_on(a), "quantity": 1},
                                      {"symbol": call_on(b), "quantity": "x"}])
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "1.quantity"
    assert len(gw.get("/v1/positions").json()) == 2
    for u in (a, b):
        r = gw.put(f"/v1/hedge/policies/{u}", json={"mode": "band", "band": 50})
        assert r.status_code == 200, r.text
    # --- a mixed tick list: split by shard, answers merged with the original indexes
    r = gw.post("/v1/ticks", json=[{"symbol": b, "price": 102.0}, {"price": 1.0},
                                   {"symbol": a, "price": 101.0},
                                   {"symbol": "NOPE1", "price": 1.0},
                                   {"symbol": a, "price": -1.0}])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 2
    assert [x["index"] for x in body["rejected"]] == [1, 3, 4]
    assert "symbol" in body["rejected"][0]["error"]
    # --- each shard's signals on its own stream, ids naming the shard, seq per shard
    sig_a = wait_until(lambda: stream_signals(cluster, 0), 10, "a signal on shard 0's stream")
    sig_b = wait_until(lambda: stream_signals(cluster, 1), 10, "a signal on shard 1's stream")
    assert {s["underlying"] for s in sig_a} == {a} and {s["underlying"] for s in sig_b} == {b}
    assert sig_a[0]["id"].startswith("0-") and sig_b[0]["id"].startswith("1-")
    assert sig_a[0]["seq"] == 1 and sig_b[0]["seq"] == 1
    r = gw.get("/v1/hedge/signals")
    listed = r.json()
    assert {s["id"] for s in listed} == {s["id"] for s in sig_a + sig_b}
    assert [s["ts"] for s in listed] == sorted(s["ts"] for s in listed)
    # the cursor for the next poll: per shard, its last seq listed
    cursor = r.headers["x-next-after"]
    assert cursor == f"0:{sig_a[-1]['seq']},1:{sig_b[-1]['seq']}"
    later = gw.get("/v1/hedge/signals", params={"after": cursor}).json()
    assert not {s["id"] for s in later} & {s["id"] for s in listed}
    # --- fills through the gateway, by symbol
    for n, s in enumerate((sig_a[0], sig_b[0])):
        fill = {"exec_id": f"x{n}", "symbol": s["instrument"], "signal_id": s["id"],
                "side": s["side"], "quantity": s["quantity"], "price": 100.0}
        r = gw.post("/v1/fills", json=fill)
        assert r.status_code == 200, r.text
        assert r.json()["position"]["quantity"] == s["order_qty"]
        assert gw.post("/v1/fills", json=fill).json()["duplicate"] is True
    risk = gw.get("/v1/risk").json()
    assert risk["complete"] is True
    assert set(risk["shards"]) == {"0", "1"} and all(
        v["status"] == "up" and v["as_of"] for v in risk["shards"].values())
    # each shard's figures are in Redis too, under a hash tag per underlying
    with cluster.redis() as r:
        def stored() -> bool:
            raw = r.get(f"{cluster.tag}:risk:{{{b}}}")
            return raw is not None and orjson.loads(raw)["risk"]["hedge_position"] == \
                sig_b[0]["order_qty"]

        wait_until(stored, 5, "shard 1's figures in Redis")
        assert r.smembers(f"{cluster.tag}:risk:shard:{{1}}") == {b.encode()}
    assert risk["underlyings"][a]["hedge_position"] == sig_a[0]["order_qty"]
    assert risk["underlyings"][b]["hedge_position"] == sig_b[0]["order_qty"]
    own = []
    for svc in cluster.shards:
        with svc.client() as c:
            own.append(c.get("/v1/risk").json()["total"])
    for key in ("dollar_delta", "vega", "theta"):
        assert risk["total"][key] == pytest.approx(sum(t[key] for t in own), rel=1e-9)
    # --- reconciliation: the broker's list split by the shard that holds each symbol
    broker = [{"symbol": p["symbol"], "quantity": p["quantity"]}
              for p in gw.get("/v1/positions").json()]
    r = gw.put("/v1/positions/reconcile", json=broker)
    assert r.status_code == 200 and r.json() == {"differences": [], "matched": True}, r.text
    off = [{**p, "quantity": p["quantity"] + 1} if p["symbol"] == call_on(b) else p
           for p in broker]
    r = gw.put("/v1/positions/reconcile", json=off).json()
    assert r["matched"] is False and [d["symbol"] for d in r["differences"]] == [call_on(b)]
    r = gw.post("/v1/positions/reconcile/accept", json={})
    assert r.status_code == 200 and r.json()["accepted"] == [call_on(b)], r.text
    # --- kill -9 shard 1: its underlying 503 through the gateway, shard 0 unaffected
    cluster.shards[1].kill9()
    t_kill = time.monotonic()
    r = gw.get(f"/v1/risk/{b}")
    assert r.status_code == 503 and r.json()["shard"] == "1/2", r.text
    r = gw.post("/v1/fills", json={"exec_id": "late", "symbol": b, "side": "buy",
                                   "quantity": 1, "price": 100.0})
    assert r.status_code == 503 and r.json()["shard"] == "1/2"
    assert gw.get(f"/v1/risk/{a}").status_code == 200
    r = gw.post("/v1/ticks", json=[{"symbol": a, "price": 101.5}, {"symbol": b, "price": 1.0}])
    assert r.json()["accepted"] == 1 and [x["index"] for x in r.json()["rejected"]] == [1]
    # the firm view keeps the dead shard's last figures (from Redis), marked stale
    firm = gw.get("/v1/risk").json()
    assert firm["complete"] is False and firm["shards"]["1"]["status"] == "down"
    assert firm["shards"]["1"]["stale"] is True and firm["shards"]["1"]["published_at"]
    assert firm["underlyings"][b]["stale"] is True
    assert firm["underlyings"][b]["hedge_position"] == sig_b[0]["order_qty"]
    assert "stale" not in firm["underlyings"][a]
    # a book load needs every shard: 503 naming the one down, nothing sent anywhere
    r = gw.put("/v1/positions", json=[{"symbol": call_on(a), "quantity": 1}])
    assert r.status_code == 503 and r.json()["shard"] == "1/2", r.text
    with cluster.shards[0].client() as s0:
        held = {p["symbol"]: p["quantity"] for p in s0.get("/v1/positions").json()}
        assert held[call_on(a)] == 100 and held[a] == sig_a[0]["order_qty"]
    # the kill switch for all reaches the shards that are up, and says which one it missed
    r = gw.post("/v1/hedge/halt")
    assert r.status_code == 503 and r.json()["shard"] == "1/2"
    assert r.json()["applied"] == ["0/2"]
    assert gw.post("/v1/hedge/resume", json={"underlying": a}).status_code == 200
    # its lease lapses on its own (no clean withdrawal after a kill -9)
    wait_until(lambda: gw.get("/readyz").json()["shards"]["1"]["status"] == "down", 10,
               "shard 1's lease expired")
    assert time.monotonic() - t_kill < 10
    # --- restart: the acknowledged fill is there, the gateway routes to it again
    cluster.shards[1].start()
    cluster.shards[1].wait_ready(180)
    wait_until(lambda: gw.get(f"/v1/risk/{b}").status_code == 200, 10, "shard 1 back")
    wait_until(lambda: "stale" not in gw.get("/v1/risk").json()["underlyings"][b], 10,
               "the firm view fresh again")
    again = gw.get(f"/v1/risk/{b}").json()
    assert again["hedge_position"] == sig_b[0]["order_qty"]
    r = gw.post("/v1/fills", json={"exec_id": "x1", "symbol": sig_b[0]["instrument"],
                                   "signal_id": sig_b[0]["id"], "side": sig_b[0]["side"],
                                   "quantity": sig_b[0]["quantity"], "price": 100.0})
    assert r.json()["duplicate"] is True
    # its stream keeps its numbering across the kill: 1, 2, … without a gap or a repeat
    r = gw.post("/v1/hedge/signals", json={"underlying": b, "order_qty": 3})
    assert r.status_code == 200 and r.json()["id"].startswith("1-")
    manual = r.json()
    on_stream = wait_until(lambda: [s for s in stream_signals(cluster, 1)
                                    if s["id"] == manual["id"]] and stream_signals(cluster, 1),
                           10, "the manual signal on shard 1's stream")
    assert [s["seq"] for s in on_stream] == list(range(1, manual["seq"] + 1))
