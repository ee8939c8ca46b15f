"""The in-process signal bus (HEDGE_REDIS_URL unset): subscribers in this process get every
message through their own bounded queue; a full queue drops its subscriber, never blocks."""

from __future__ import annotations

import asyncio


class MemoryBus:
    name = "memory"

    def __init__(self, queue_size: int = 10_000) -> None:
        self.queue_size = queue_size
        self.subscribers: set[asyncio.Queue[bytes]] = set()
        self._last_seq: int | None = None

    async def start(self) -> None:
        return None

    def subscribe(self) -> asyncio.Queue[bytes]:
        q: asyncio.Queue[bytes] = asyncio.Queue(self.queue_size)
        self.subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[bytes]) -> None:
        self.subscribers.discard(q)

    async def publish(self, seq: int, message: bytes) -> None:
        self._last_seq = seq
        for q in list(self.subscribers):
            try:
                q.put_nowait(message)
            except asyncio.QueueFull:
                self.subscribers.discard(q)

    async def publish_many(self, items: list[tuple[int, bytes]]) -> None:
        for seq, message in items:
            await self.publish(seq, message)

    async def last_seq(self) -> int | None:
        return self._last_seq

    async def problem(self) -> str | None:
        return None

    async def close(self) -> None:
        self.subscribers.clear()
