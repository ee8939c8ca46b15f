"""The asyncio shell around the core: one writer, a conflating inbox, bounded egress.

- Ticks are applied to market state on arrival (cheap, validated, answered at once) and mark
  their underlying dirty; the recompute task revalues dirty underlyings one at a time,
  yielding between them. However many ticks came, one recompute sees the latest: that is
  the coalescing (latest tick per underlying wins). Fills and commands are never coalesced:
  journaled, applied and recomputed before their answer goes out.
- Signals go to a bounded outbox; the publisher journals them, fans them out to WebSocket
  subscribers and publishes them on the bus, in seq order, retrying while the bus is down.
  A full outbox halts hedging with a reason instead of dropping signals.
- Readers take the latest immutable snapshot; nobody waits on a slow consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from app.codec import dumps, loads
from app.domain import Tick
from app.engine.commands import apply_event, instrument_fields
from app.engine.core import Core
from app.engine.metrics import Metrics
from app.engine.ports import Journal, SignalBus
from app.engine.views import risk_view
from app.errors import Conflict, DynhedgeError, NotReady
from app.hedging import Signal

log = logging.getLogger("dynhedge.runner")
T = TypeVar("T")
SIGNAL_LOG_SIZE = 10_000


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


class Runner:
    def __init__(
        self,
        core: Core,
        journal: Journal,
        bus: SignalBus,
        metrics: Metrics,
        *,
        outbox_size: int = 10_000,
        feed_size: int = 1_000,
        risk_push_hz: float = 10.0,
    ) -> None:
        self.core = core
        self.journal = journal
        self.bus = bus
        self.metrics = metrics
        self.outbox: asyncio.Queue[Signal] = asyncio.Queue(outbox_size)
        self.risk_feed = Feed("risk", feed_size, metrics)
        self.signal_feed = Feed("signals", feed_size, metrics)
        self.signal_log: deque[tuple[int, bytes]] = deque(maxlen=SIGNAL_LOG_SIZE)
        self.fill_payloads: dict[str, str] = {}
        self.fill_results: dict[str, dict[str, Any]] = {}
        self.risk_push_s = 1.0 / risk_push_hz
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._risk_changed: set[str] = set()
        self._tick_perf: dict[str, float] = {}  # underlying -> perf time of its latest tick
        self._unreflected: dict[str, float] = {}  # underlying -> first tick risk lacks
        self._signal_perf: dict[int, float] = {}  # seq -> perf time of the triggering tick
        self._tasks: list[asyncio.Task[None]] = []
        self._overflow: deque[Signal] = deque()  # signals past a full outbox, never dropped
        self.bus_problem: str | None = None
        self.ready = False

    # --- life -----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.journal.start()
        await self._restore()
        await self.bus.start()
        await self._refill_bus()
        self.core.dirty.update(self.core.book.markets)
        for u in list(self.core.dirty):
            self.core.risk[u] = self.core.value(u)
        self._tasks = [
            asyncio.create_task(self._recompute_loop(), name="recompute"),
            asyncio.create_task(self._publish_loop(), name="publisher"),
            asyncio.create_task(self._risk_push_loop(), name="risk-push"),
            asyncio.create_task(self._sweep_loop(), name="ttl-sweeper"),
        ]
        self._wake.set()
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        # let the publisher hand over what is queued, briefly
        deadline = time.monotonic() + 1.0
        while not self.outbox.empty() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        await self.bus.close()
        await self.journal.close()

    async def _restore(self) -> None:
        """Rebuild the book, policies, halts and pending signals from the journal."""
        events = await self.journal.replay()
        payloads = await self.journal.fill_payloads()
        for kind, body in events:
            try:
                result = apply_event(self.core, kind, body)
            except DynhedgeError as exc:  # journaled bodies were valid when written
                log.error("journal replay: %s event skipped: %s", kind, exc)
                continue
            if kind == "fill":
                self.fill_results[body["exec_id"]] = _fill_answer(result)
        self.fill_payloads = payloads
        self.core.hedger.next_seq = max(self.core.hedger.next_seq,
                                        await self.journal.max_seq() + 1)
        for raw in await self.journal.signals_after(
            max(0, self.core.hedger.next_seq - 1 - SIGNAL_LOG_SIZE), SIGNAL_LOG_SIZE
        ):
            self.signal_log.append((_seq(raw), raw))
        self.core.dirty.clear()
        if events:
            log.info("restored %d journal events; next seq %d", len(events),
                     self.core.hedger.next_seq)

    async def _refill_bus(self) -> None:
        """A bus whose record lacks signals the journal has (a Redis that restarted empty)
        gets them again, in order, from the last seq it holds."""
        try:
            held = await self.bus.last_seq() or 0
        except Exception as exc:  # the bus being down at start is not fatal: the outbox retries
            self.bus_problem = f"{self.bus.name}: {type(exc).__name__}"
            return
        missing = await self.journal.signals_after(held, 1_000_000)
        for raw in missing:
            await self.bus.publish(_seq(raw), raw)
        if missing:
            log.warning("re-published %d signals the bus did not hold (from seq %d)",
                        len(missing), held + 1)

    # --- ingest ---------------------------------------------------------------------------

    def ingest_ticks(
        self, ticks: list[Tick | DynhedgeError]
    ) -> tuple[int, list[tuple[int, DynhedgeError]]]:
        """Apply ticks (already parsed; a parse error comes as the exception in its place).
        Returns (accepted, [(index, error)]). Never blocks: recompute happens later."""
        accepted = 0
        rejected: list[tuple[int, DynhedgeError]] = []
        now = time.perf_counter()
        core = self.core
        for i, tick in enumerate(ticks):
            if isinstance(tick, DynhedgeError):
                rejected.append((i, tick))
                continue
            try:
                underlying = core.apply_tick(tick)
            except DynhedgeError as exc:
                rejected.append((i, exc))
                continue
            accepted += 1
            self._tick_perf[underlying] = now
            self._unreflected.setdefault(underlying, now)
        if accepted:
            self.metrics.ticks.labels("accepted").inc(accepted)
            self._wake.set()
        if rejected:
            self.metrics.ticks.labels("rejected").inc(len(rejected))
        return accepted, rejected

    async def submit_fill(self, body: dict[str, Any], payload: str) -> dict[str, Any]:
        """Journal (write-ahead), apply, recompute; then answer. Idempotent on exec_id."""
        exec_id = body["exec_id"]
        async with self._lock:
            prior = self.fill_payloads.get(exec_id)
            if prior is not None:
                if prior != payload:
                    self.metrics.fills.labels("conflict").inc()
                    raise Conflict(f"exec_id {exec_id!r} was already used for another fill")
                self.metrics.fills.labels("duplicate").inc()
                return {**self.fill_results[exec_id], "duplicate": True}
            # check before the journal write: a fill the book cannot take is never journaled
            self.core.resolve_instrument(body["symbol"], instrument_fields(body))
            try:
                await self.journal.append_fill(exec_id, payload, body)
            except Exception as exc:
                raise NotReady(f"journal write failed: {exc}") from exc
            outcome = apply_event(self.core, "fill", body)
            self.fill_payloads[exec_id] = payload
            answer = _fill_answer(outcome)
            self.fill_results[exec_id] = answer
            self.metrics.fills.labels("overfill" if outcome.overfill else "applied").inc()
            if outcome.overfill:
                log.warning("fill %s over-fills signal %s", exec_id, body.get("signal_id"))
            self._recompute_dirty_now()
        return {**answer, "duplicate": False}

    async def command(
        self, kind: str, body: dict[str, Any], check: Callable[[], T] | None = None
    ) -> Any:
        """Journal a command, apply it, and recompute what it touched before answering.
        `check` runs first and may raise: a refused command is never journaled."""
        async with self._lock:
            if check is not None:
                check()
            try:
                await self.journal.append(kind, body)
            except Exception as exc:
                raise NotReady(f"journal write failed: {exc}") from exc
            result = apply_event(self.core, kind, body)
            self._recompute_dirty_now()
            return result

    def manual_signal(self, underlying: str, order_qty: float, instrument: str | None) -> Signal:
        sig = self.core.manual_signal(underlying, order_qty, instrument)
        self._emit([sig])
        self._risk_changed.add(underlying)
        return sig

    # --- recompute --------------------------------------------------------------------------

    def _recompute_one(self, underlying: str) -> None:
        t0 = time.perf_counter()
        signals = self.core.recompute(underlying)
        done = time.perf_counter()
        self.metrics.recompute_seconds.observe(done - t0)
        first = self._unreflected.pop(underlying, None)
        if first is not None:
            self.metrics.risk_lag_seconds.observe(done - first)
        self._risk_changed.add(underlying)
        if signals:
            perf = self._tick_perf.get(underlying, t0)
            for s in signals:
                self._signal_perf[s.seq] = perf
            self._emit(signals)

    def _recompute_dirty_now(self) -> None:
        for u in sorted(self.core.dirty):
            self._recompute_one(u)

    async def _recompute_loop(self) -> None:
        core = self.core
        while True:
            await self._wake.wait()
            self._wake.clear()
            while core.dirty:
                self.metrics.inbox_depth.set(len(core.dirty))
                u = next(iter(core.dirty))
                try:
                    self._recompute_one(u)
                except Exception:
                    core.dirty.discard(u)
                    log.exception("recompute of %s failed", u)
                await asyncio.sleep(0)  # let ingest and readers in between underlyings
            self.metrics.inbox_depth.set(0)

    # --- egress -----------------------------------------------------------------------------

    def _emit(self, signals: list[Signal]) -> None:
        for s in signals:
            try:
                self.outbox.put_nowait(s)
            except asyncio.QueueFull:
                # never drop a signal: it stays in the log and journal path below; stop hedging
                self.core.hedger.system_halt = "signal outbox full"
                log.error("signal outbox full: hedging halted until it drains")
                self._overflow.append(s)
            self.metrics.signals.labels(s.reason).inc()
        self.metrics.outbox_depth.set(self.outbox.qsize())

    async def _publish_loop(self) -> None:
        backoff = 0.05
        while True:
            first = await self.outbox.get()
            batch = [first]
            while not self.outbox.empty() and len(batch) < 256:
                batch.append(self.outbox.get_nowait())
            while self._overflow and self.outbox.qsize() < self.outbox.maxsize // 2:
                self.outbox.put_nowait(self._overflow.popleft())
            if (self.core.hedger.system_halt == "signal outbox full" and not self._overflow
                    and self.outbox.qsize() < self.outbox.maxsize // 2):
                self.core.hedger.system_halt = None
                log.warning("signal outbox drained: hedging resumes")
            rows = [(s.seq, s.id, dumps(s.as_message())) for s in batch]
            await self._journal_signals(batch, rows)
            for s, (_, _, raw) in zip(batch, rows, strict=True):
                # readers see a signal once it is journaled, so a fill that names it can
                # never reach the journal before the signal does
                self.signal_log.append((s.seq, raw))
                self.signal_feed.offer(raw)
                while True:
                    try:
                        await self.bus.publish(s.seq, raw)
                        self.bus_problem = None
                        backoff = 0.05
                        break
                    except Exception as exc:
                        self.metrics.redis_errors.inc()
                        self.bus_problem = f"{self.bus.name} publish failed: {type(exc).__name__}"
                        await asyncio.sleep(backoff)
                        backoff = min(backoff * 2, 1.0)
                perf = self._signal_perf.pop(s.seq, None)
                if perf is not None:
                    self.metrics.tick_to_signal_seconds.observe(time.perf_counter() - perf)
            self.metrics.outbox_depth.set(self.outbox.qsize())

    async def _journal_signals(
        self, batch: list[Signal], rows: list[tuple[int, str, bytes]]
    ) -> None:
        hedger = self.core.hedger
        while True:
            try:
                await self.journal.append_signals(rows)
                for s in batch:
                    p = hedger.signals.get(s.id)
                    await self.journal.append("signal", {
                        "id": s.id, "seq": s.seq, "underlying": s.underlying,
                        "instrument": s.instrument, "order_qty": s.order_qty,
                        "expires_at": p.expires_at if p else time.time(),
                        "clipped": bool(p and p.clipped),
                        "shares": p.shares if p else {s.underlying: s.order_qty},
                        "counts": p.counts if p else True,
                    })
                return
            except Exception:
                log.exception("journal write of signals failed; retrying")
                await asyncio.sleep(0.2)

    async def _risk_push_loop(self) -> None:
        while True:
            await asyncio.sleep(self.risk_push_s)
            if not self._risk_changed or not self.risk_feed.queues:
                self._risk_changed.clear()
                continue
            changed, self._risk_changed = self._risk_changed, set()
            for u in sorted(changed):
                r = self.core.risk.get(u)
                if r is not None:
                    self.risk_feed.offer(dumps(risk_view(r)))

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            for u in self.core.expire_pending():
                self._risk_changed.add(u)

    # --- read side ----------------------------------------------------------------------------

    async def signals_after(self, after: int, limit: int) -> list[bytes]:
        oldest = self.signal_log[0][0] if self.signal_log else None
        if oldest is not None and after + 1 >= oldest:
            out = [raw for seq, raw in self.signal_log if seq > after]
            return out[:limit]
        return await self.journal.signals_after(after, limit)

    async def problems(self) -> list[str]:
        out = []
        j = await self.journal.problem()
        if j:
            out.append(j)
        b = await self.bus.problem()
        if b:
            out.append(b)
        elif self.bus_problem and not self.outbox.empty():
            out.append(self.bus_problem)
        if self.core.hedger.system_halt:
            out.append(f"hedging halted: {self.core.hedger.system_halt}")
        return out


def _fill_answer(outcome: Any) -> dict[str, Any]:
    return {
        "exec_id": outcome.exec_id,
        "position": {"symbol": outcome.symbol, "quantity": outcome.quantity},
        "overfill": outcome.overfill,
    }


def _seq(raw: bytes) -> int:
    return int(loads(raw)["seq"])
