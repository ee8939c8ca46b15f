"""A shard's risk figures in Redis: the firm-wide aggregate's source of record.

Each recomputed underlying's figures (the per-underlying risk view of GET /v1/risk, as pushed
on WS /v1/ws/risk, at most `HEDGE_RISK_PUSH_HZ` a second) are written to `{prefix}:{U}` — the
braces a Redis Cluster hash tag per underlying — as `{shard, published_at, risk: {...}}`, and
the underlying is listed in the shard's index set `{prefix}:shard:{K}`. A load that drops an
underlying from the book drops it from the index. The gateway reads these for a shard that is
down (its last figures, marked stale)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from app.adapters.shard_registry import ShardRedisTask

log = logging.getLogger("dynhedge.risk-publisher")


def risk_key(prefix: str, underlying: str) -> str:
    return f"{prefix}:{{{underlying}}}"


def index_key(prefix: str, index: int) -> str:
    return f"{prefix}:shard:{{{index}}}"


class RiskPublisher(ShardRedisTask):
    def start(self, subscribe: Callable[[], asyncio.Queue[bytes | None]],
              current: Callable[[], list[dict[str, Any]]]) -> None:
        """`subscribe` a risk feed; `current` every underlying's figures now."""
        self._task = asyncio.create_task(self._run(subscribe, current), name="risk-publisher")

    async def _run(self, subscribe: Callable[[], asyncio.Queue[bytes | None]],
                   current: Callable[[], list[dict[str, Any]]]) -> None:
        failing = False
        queue = subscribe()
        pending: dict[str, dict[str, Any]] = {r["underlying"]: r for r in current()}
        full = True  # the index is rewritten from the whole book
        while True:
            if not pending:
                message = await queue.get()
                if message is None:  # dropped as a slow consumer: everything again
                    queue, full = subscribe(), True
                    pending = {r["underlying"]: r for r in current()}
                else:
                    r = orjson.loads(message)
                    pending[r["underlying"]] = r
            while not queue.empty():
                message = queue.get_nowait()
                if message is not None:
                    r = orjson.loads(message)
                    pending[r["underlying"]] = r
            try:
                await asyncio.wait_for(self._write(pending, full, current), self.timeout_s)
                pending, full = {}, False
                if failing:
                    log.warning("risk figures reach Redis again")
                failing = False
            except Exception as exc:  # kept, and written with the next round
                if not failing:
                    log.error("risk figures not written to Redis: %s", exc)
                failing = True
                await asyncio.sleep(0.2)

    async def _write(self, figures: dict[str, dict[str, Any]], full: bool,
                     current: Callable[[], list[dict[str, Any]]]) -> None:
        now = time.time()
        index = index_key(self.prefix, self.shard.index)
        if full:
            held = {r["underlying"] for r in current()}
            await self.client.delete(index)
            if held:
                await self.client.sadd(index, *held)
        elif figures:
            await self.client.sadd(index, *figures)
        await asyncio.gather(*(self.client.set(risk_key(self.prefix, u), orjson.dumps(
            {"shard": self.shard.label, "published_at": now, "risk": r}))
            for u, r in figures.items()))

async def stored_risk(client: Any, prefix: str, index: int) -> dict[str, dict[str, Any]]:
    """The last figures shard `index` published: {underlying: {shard, published_at, risk}}."""
    members = await client.smembers(index_key(prefix, index))
    names = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
    values = await asyncio.gather(*(client.get(risk_key(prefix, u)) for u in names))
    return {u: orjson.loads(v) for u, v in zip(names, values, strict=True) if v}
