"""Where the limits' alerts go (issue 14): the journal first — the journal's alerts are what
rebuild the limits' states at start-up — then the WebSocket feed and the bus (Redis channel
and stream), counted in Prometheus. The runner calls `flush` under its lock, so alerts keep
their order with the commands around them; a bus failure loses nothing (GET /v1/alerts)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from app.codec import dumps, kept
from app.engine.feed import Feed
from app.engine.metrics import Metrics
from app.engine.ports import Journal, SignalBus
from app.engine.views import alert_view

log = logging.getLogger("dynhedge.alerts")


class AlertEgress:
    def __init__(self, journal: Journal, bus: SignalBus, metrics: Metrics,
                 feed_size: int) -> None:
        self.journal = journal
        self.bus = bus
        self.metrics = metrics
        self.feed = Feed("alerts", feed_size, metrics)
        self._publishing: set[asyncio.Future[Any]] = set()

    async def flush(self, outbox: list[dict[str, Any]]) -> bool:
        """Journal and hand out the alerts waiting in `outbox`, oldest first; False when the
        journal refused one (it stays at the head, for the next call)."""
        while outbox:
            alert = outbox[0]
            try:
                await self.journal.append("alert", alert)
            except Exception:
                log.exception("alert %s not journaled; retried with the next", alert["seq"])
                return False
            outbox.pop(0)
            self.metrics.alerts.labels(alert["kind"]).inc()
            message = kept(dumps(alert_view(alert)))
            self.feed.offer(message)
            task = asyncio.ensure_future(self._publish(message))
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)
        return True

    async def _publish(self, message: bytes) -> None:
        try:
            await self.bus.publish_alert(message)
        except Exception as exc:
            self.metrics.redis_errors.inc()
            log.warning("alert not published on the bus (it is journaled and served by "
                        "GET /v1/alerts): %s", exc)

    async def drain(self) -> None:
        """Wait for the publishes under way (at stop, before the bus closes)."""
        if self._publishing:
            await asyncio.gather(*self._publishing, return_exceptions=True)
