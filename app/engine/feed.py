"""Bounded fan-out to WebSocket consumers."""

from __future__ import annotations

import asyncio
import contextlib

from app.engine.metrics import Metrics


class Feed:
    """Bounded fan-out queues; a consumer whose queue is full is dropped, never waited on."""

    def __init__(self, name: str, size: int, metrics: Metrics) -> None:
        self.name = name
        self.size = size
        self.metrics = metrics
        self.queues: set[asyncio.Queue[bytes | None]] = set()

    def subscribe(self) -> asyncio.Queue[bytes | None]:
        q: asyncio.Queue[bytes | None] = asyncio.Queue(self.size)
        self.queues.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[bytes | None]) -> None:
        self.queues.discard(q)

    def offer(self, message: bytes) -> None:
        for q in list(self.queues):
            try:
                q.put_nowait(message)
            except asyncio.QueueFull:
                self.queues.discard(q)
                self.metrics.ws_dropped.labels(self.name).inc()
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
                q.put_nowait(None)  # tells the consumer it was dropped
