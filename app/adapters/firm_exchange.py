"""The firm-wide book limits' exchange between shards, over Redis (`app.engine.firm_book` says
what is exchanged and why).

Every `EVERY_S`, a shard that has `book` limits writes its `BookPart` to
`{prefix}:book:{K}` (the braces a Redis Cluster hash tag) when it changed, reads the other
shards' parts, and hands their sum to the runner, which judges the book limits on the firm's
figures when that sum changed. A shard that is down leaves its last part in Redis: its risk
did not go away with its process, so the firm's figure keeps it (conservative) until it is
back. A shard that has published nothing yet is left out and named in the log. Redis being
unreachable keeps the last sum (and says so in the log, at most every `COMPLAINT_EVERY_S`)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from app.adapters.shard_registry import ShardRedisTask
from app.domain.shard import Shard
from app.engine.firm_book import BookPart, FirmRest, add_parts

log = logging.getLogger("dynhedge.firm")
EVERY_S = 0.1  # a firm-wide figure lags the shards' own by at most about this
COMPLAINT_EVERY_S = 10.0


def part_key(prefix: str, index: int) -> str:
    return f"{prefix}:book:{{{index}}}"


class FirmExchange(ShardRedisTask):
    def __init__(self, url: str, prefix: str, shard: Shard, timeout_s: float = 0.5) -> None:
        super().__init__(url, prefix, shard, timeout_s)
        self._written: dict[str, Any] | None = None
        self._rest: FirmRest | None = None
        self._complained_at = -COMPLAINT_EVERY_S
        self._missing: tuple[int, ...] = ()

    def start(self, own: Callable[[], BookPart | None],
              judge: Callable[[FirmRest | None], Awaitable[None]]) -> None:
        """`own` this shard's part now (None: no book limit); `judge` the runner's."""
        self._task = asyncio.create_task(self._run(own, judge), name="firm-exchange")

    async def _run(self, own: Callable[[], BookPart | None],
                   judge: Callable[[FirmRest | None], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(EVERY_S)
            try:
                part = own()
                rest = None if part is None else await asyncio.wait_for(
                    self._swap(part), self.timeout_s)
            except Exception as exc:  # the last sum stays: judged again once Redis answers
                now = time.monotonic()
                if now - self._complained_at >= COMPLAINT_EVERY_S:
                    self._complained_at = now
                    log.error("firm-wide limits: the shards' figures not exchanged: %s", exc)
                continue
            if rest != self._rest:
                self._rest = rest
                await judge(rest)

    async def _swap(self, part: BookPart) -> FirmRest:
        """Write our part (when it changed), read the others', and sum them."""
        record = part.record()
        if record != self._written:
            await self.client.set(part_key(self.prefix, self.shard.index), orjson.dumps(
                {"shard": self.shard.label, "published_at": time.time(), **record}))
            self._written = record
        others = [k for k in range(self.shard.count) if k != self.shard.index]
        values = await asyncio.gather(*(self.client.get(part_key(self.prefix, k))
                                        for k in others))
        parts, shards, missing = [], [], []
        for k, raw in zip(others, values, strict=True):
            if raw is None:
                missing.append(k)
                continue
            parts.append(BookPart.from_record(orjson.loads(raw)))
            shards.append(k)
        if tuple(missing) != self._missing:
            self._missing = tuple(missing)
            if missing:
                log.warning("firm-wide limits judged without shard(s) %s: no figures from "
                            "them yet", ", ".join(f"{k}/{self.shard.count}" for k in missing))
        return FirmRest(add_parts(parts), tuple(shards), tuple(missing))
