"""The in-process signal bus (HEDGE_REDIS_URL unset): subscribers in this process get every
message through their own bounded queue; a full queue drops its subscriber, never blocks.
Its record is the last seq it took; it never loses it, so it is never re-filled."""

from __future__ import annotations

import asyncio

from app.engine.ports import Delivery


class MemoryBus:
    name = "memory"

    def __init__(self, queue_size: int = 10_000) -> None:
        self.queue_size = queue_size
        self.subscribers: set[asyncio.Queue[bytes]] = set()
        self._last_seq: int | None = None
        self.alerts_published = 0

    async def start(self) -> None:
        return None

    def subscribe(self) -> asyncio.Queue[bytes]:
        q: asyncio.Queue[bytes] = asyncio.Queue(self.queue_size)
        self.subscribers.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[bytes]) -> None:
        self.subscribers.discard(q)

    async def publish_many(self, items: list[tuple[int, bytes]], refill_up_to: int) -> Delivery:
        for seq, message in items:
            self._last_seq = seq
            if seq > refill_up_to:
                self._announce(message)
        return Delivery(len(items))

    def _announce(self, message: bytes) -> None:
        for q in list(self.subscribers):
            try:
                q.put_nowait(message)
            except asyncio.QueueFull:
                self.subscribers.discard(q)

    async def publish_alert(self, message: bytes) -> None:
        """In process, alerts reach their readers through the runner's alert feed."""
        self.alerts_published += 1

    async def last_seq(self) -> int | None:
        return self._last_seq

    async def problem(self) -> str | None:
        return None

    async def close(self) -> None:
        self.subscribers.clear()
