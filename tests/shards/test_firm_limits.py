"""Firm-wide limits across shards (issue 15, point 5), two shards and a gateway as real
processes over the real Redis: a `book` limit is judged on the firm's figure — neither shard's
book breaches it alone, the two together do — and its action reaches every shard; an
underlying's limit lives on its owner; the gateway lists each limit once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.harness import wait_until
from tests.shards.cluster import Cluster, owned_by, running

pytestmark = [pytest.mark.slow, pytest.mark.redis]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running(tmp_path, 2) as c:
        yield c


def test_a_book_limit_is_the_firms_and_halts_every_shard(cluster: Cluster):
    a, b = owned_by(0, 2, "FA"), owned_by(1, 2, "FB")
    with cluster.gw() as gw:
        for u in (a, b):
            r = gw.put(f"/v1/underlyings/{u}", json={"vol": 0.2, "spot": 100.0})
            assert r.status_code == 200, r.text
        r = gw.put("/v1/positions", json=[{"symbol": a, "quantity": 1000},
                                          {"symbol": b, "quantity": 1500}])
        assert r.status_code == 200, r.text
        for u in (a, b):
            assert gw.put(f"/v1/hedge/policies/{u}", json={"mode": "band", "band": 1e9}
                          ).status_code == 200
        limits = [{"id": "firm-dd", "metric": "dollar_delta", "warn": 150_000,
                   "breach": 200_000, "action": "halt"},
                  {"id": "a-delta", "scope": a, "metric": "delta", "warn": 5_000,
                   "breach": 10_000}]
        # a bad item changes nothing anywhere
        r = gw.put("/v1/limits", json=[*limits, {"id": "bad", "metric": "vega", "warn": 2,
                                                 "breach": 1}])
        assert r.status_code == 422, r.text
        assert gw.get("/v1/limits").json() == []
        r = gw.put("/v1/limits", json=limits)
        assert r.status_code == 200, r.text
        # each shard alone is inside (100 k and 150 k $); the firm (250 k $) is not
        for k, own in ((0, 100_000.0), (1, 150_000.0)):
            assert gw.get("/v1/risk", params={"shard": k}).json()["total"][
                "dollar_delta"] == pytest.approx(own)

        def firm_limit() -> dict:
            return {x["id"]: x for x in gw.get("/v1/limits").json()}["firm-dd"]

        wait_until(lambda: firm_limit()["shards"] == {"0": "breach", "1": "breach"}, 10,
                   "both shards judge the firm's figure as a breach")
        got = {x["id"]: x for x in gw.get("/v1/limits").json()}
        assert len(gw.get("/v1/limits").json()) == 2  # each limit once
        assert got["firm-dd"]["value"] == pytest.approx(250_000.0)
        assert got["a-delta"]["state"] == "ok" and got["a-delta"]["value"] == 1000.0
        assert "shards" not in got["a-delta"]
        on_b = gw.get("/v1/limits", params={"shard": 1}).json()
        assert [x["id"] for x in on_b] == ["firm-dd"]  # a's limit lives on its owner only
        policies = gw.get("/v1/hedge/policies").json()
        assert policies[a]["state"]["halted"] and policies[b]["state"]["halted"]
        # acknowledged through the gateway on every shard: still outside, so latched
        r = gw.post("/v1/limits/firm-dd/ack")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "breach_acked"
        assert r.json()["shards"] == {"0": "breach_acked", "1": "breach_acked"}
        assert gw.post("/v1/limits/firm-dd/ack").status_code == 409
        assert gw.post("/v1/limits/nope/ack").status_code == 404
        # shard 1 sells down: the firm is back inside (175 k $), both clear
        r = gw.post("/v1/fills", json={"exec_id": "firm-1", "symbol": b, "side": "sell",
                                       "quantity": 750, "price": 100.0})
        assert r.status_code == 200, r.text
        wait_until(lambda: firm_limit()["shards"] == {"0": "warn", "1": "warn"}, 10,
                   "both shards clear with the firm back inside")
        assert firm_limit()["value"] == pytest.approx(175_000.0)
