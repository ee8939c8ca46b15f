"""The shards' exchange of their parts of the firm's figures, over the real Redis: each shard
gets the sum of the others' parts, a shard that published nothing is named missing, a part
that changes reaches the others, and a shard that stops leaves its last part behind."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from app.adapters.firm_exchange import FirmExchange
from app.domain.shard import Shard
from app.engine.firm_book import BookPart, FirmRest
from tests.integration.conftest import REDIS_URL

pytestmark = [pytest.mark.redis]


async def until(predicate, what: str, timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{what}: not within {timeout_s:g} s")


async def test_each_shard_judges_with_the_sum_of_the_other_shards_parts(redis_client):
    prefix = f"firm-test:{uuid.uuid4().hex[:8]}"
    parts = {k: BookPart((100.0 * (k + 1), 0.0, 0.0, 0.0), -10.0 * k) for k in range(3)}
    heard: dict[int, list[FirmRest | None]] = {k: [] for k in range(3)}
    exchanges = {}

    def start(k: int) -> None:
        async def judge(rest: FirmRest | None) -> None:
            heard[k].append(rest)

        ex = FirmExchange(REDIS_URL, prefix, Shard(k, 3), 0.5)
        ex.start(lambda: parts[k], judge)
        exchanges[k] = ex

    try:
        start(0)
        await until(lambda: heard[0] and heard[0][-1].missing == (1, 2), "shard 0 alone")
        start(1)
        start(2)
        await until(lambda: all(heard[k] and not heard[k][-1].missing for k in range(3)),
                    "every shard hears the other two")
        for k in range(3):
            rest = heard[k][-1]
            others = [j for j in range(3) if j != k]
            assert rest.shards == tuple(others)
            assert rest.part.totals[0] == sum(100.0 * (j + 1) for j in others)
            assert rest.part.pnl == sum(-10.0 * j for j in others)
        parts[2] = BookPart((-600.0, 0.0, 0.0, 0.0), 0.0, {"span16": [42.0]})  # it moved
        await until(lambda: heard[0][-1].part.totals[0] == 200.0 - 600.0, "the move heard")
        assert heard[0][-1].part.scenarios == {"span16": [42.0]}
        n = len(heard[0])
        await asyncio.sleep(0.5)
        assert len(heard[0]) == n, "judged again with nothing changed"
        await exchanges.pop(2).close()  # its part stays: its risk did not go away with it
        await asyncio.sleep(0.3)
        assert heard[0][-1].shards == (1, 2) and heard[0][-1].part.totals[0] == -400.0
    finally:
        for ex in exchanges.values():
            await ex.close()
        keys = list(redis_client.scan_iter(match=f"{prefix}:*"))
        if keys:
            redis_client.delete(*keys)
