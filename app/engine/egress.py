"""Signals out: journal first, then readers (REST, WebSocket), then the bus — in seq order.

Two stages, so a bus outage never stops the record or the readers:
1. the journal stage takes emitted signals from the outbox, journals them (the record), then
   makes them visible: the signal log behind GET /v1/hedge/signals and the WebSocket feed;
2. the bus stage hands every journaled seq above `published_seq` to the bus, in order, in
   batches, retrying while the bus is down or refuses. The bus answers how many of a batch
   its record (the Redis stream) holds — a prefix: nothing after a refused signal is added —
   and `published_seq` advances over exactly those, whatever Redis answered (OOM at
   `maxmemory`, a timeout, a reset connection): every journaled seq reaches the stream
   once, in order. The stage re-reads what the bus holds after errors and every second, and
   the bus refuses a batch that would leave a gap after its record's end: a Redis that
   restarted empty is re-filled from the journal, from the last seq it holds.

Announcing (the channel) is not recording (the stream): a seq is announced once, the first
time it is added to the stream; a refill goes to the stream only. `announced_seq` is the
highest seq that went on the channel — or may have: a call whose answer was lost (see
`app.adapters.redis_bus`) — and the bus announces only seqs above it. After a restart of the
service it is the larger of what the journal recorded (`meta.announced_seq`, written at most
`ANNOUNCED_SAVE_S` after an announcement, and at a clean stop) and the stream's last id
(everything in the stream was announced or deliberately not). So no seq is announced twice
across a Redis restart, a timeout that landed, or a service restart; the one case left is a
kill -9 of the service and a loss of Redis's data together, which may announce again the
signals of the last `ANNOUNCED_SAVE_S` before the kill.

While signals wait for the bus, its reason is kept for /readyz, every failed attempt is
counted (`dynhedge_redis_publish_errors_total`), the outbox-depth gauge shows the backlog,
and the log says so (the first failure, then at most every `COMPLAINT_EVERY_S`, then the
recovery).

Back-pressure: when the outbox or the bus backlog reaches `outbox_size`, hedging halts with a
reason (the core's system halt, set through the `halt` callback) instead of dropping anything;
it resumes below half. The egress never touches the core: it is handed each signal with the
`SignalSent` record to journal, and calls back for the halt and the seq floor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from app.codec import dumps, kept, loads
from app.engine.command_codec import encode
from app.engine.commands import SignalSent
from app.engine.feed import Feed
from app.engine.metrics import Metrics
from app.engine.ports import Journal, SignalBus
from app.hedging import Signal

log = logging.getLogger("dynhedge.egress")
SIGNAL_LOG_SIZE = 10_000
OUTBOX_HALT = "signal outbox full"
PUBLISH_BATCH = 256  # signals per call to the bus
ANNOUNCED_SAVE_S = 0.2  # the journal's announced_seq lags the channel by at most this
COMPLAINT_EVERY_S = 10.0  # while the bus keeps failing, one log line per this many seconds
REASON_CHARS = 300  # a bus's reason is cut to this for /readyz and the log


class BusRefused(Exception):
    """The bus answered, and refused signal `seq` (and so everything after it) for `reason`."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"refused seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason


class Egress:
    """`halt(reason | None)` sets or clears the core's system halt; `seq_floor(n)` makes the
    core number its next signals from `n` on (a stream ahead of the journal)."""

    def __init__(self, journal: Journal, bus: SignalBus, metrics: Metrics,
                 halt: Callable[[str | None], None], seq_floor: Callable[[int], None],
                 outbox_size: int = 10_000, feed_size: int = 1_000) -> None:
        self.journal = journal
        self.bus = bus
        self.halt = halt
        self.seq_floor = seq_floor
        self.halted: str | None = None
        self.metrics = metrics
        self.outbox_size = outbox_size
        self.outbox: deque[tuple[Signal, SignalSent]] = deque()
        self.signal_log: deque[tuple[int, bytes]] = deque(maxlen=SIGNAL_LOG_SIZE)
        self.signal_feed = Feed("signals", feed_size, metrics)
        self.journaled_seq = 0
        self.published_seq = 0  # the bus's record holds every seq up to this one
        self.announced_seq = 0  # the highest seq that went (or may have gone) on the channel
        self.bus_problem: str | None = None
        self._to_journal = asyncio.Event()
        self._to_publish = asyncio.Event()
        self._announced_moved = asyncio.Event()
        self._saved_announced = 0  # what the journal holds of announced_seq
        # (seq, perf time of the tick behind it), in seq order: none outlives its publication
        self._perf: deque[tuple[int, float]] = deque()
        self._verify_at = 0.0  # monotonic time of the next check of what the bus holds
        self._failures = 0  # failed attempts not reported in the log yet
        self._failing_since = 0.0  # monotonic time of the first failure since the bus took all
        self._complained_at = -COMPLAINT_EVERY_S  # monotonic time of the last log line
        self._complaining = False  # a failure was reported, its end not yet
        self._tasks: list[asyncio.Task[None]] = []
        self._journal_waiters: list[tuple[int, asyncio.Future[None]]] = []

    async def start(self) -> None:
        self.journaled_seq = await self.journal.max_seq()
        self.announced_seq = self._saved_announced = await self.journal.announced_seq()
        for raw in await self.journal.signals_after(
                max(0, self.journaled_seq - SIGNAL_LOG_SIZE), SIGNAL_LOG_SIZE):
            self.signal_log.append((int(loads(raw)["seq"]), raw))
        await self.bus.start()
        try:
            held = await self.bus.last_seq() or 0
            self.published_seq = min(held, self.journaled_seq)
            self.announced_seq = max(self.announced_seq, held)
            if held > self.journaled_seq:
                # a stream ahead of this journal (a wiped journal, a shared stream): numbering
                # goes on above it, or new signals would collide with its ids and be lost
                log.warning("%s holds seq %d, beyond this journal's %d: seq continues at %d",
                            self.bus.name, held, self.journaled_seq, held + 1)
                self.seq_floor(held + 1)
                self.published_seq = self.journaled_seq = held
        except Exception as exc:  # down at start: the bus stage checks again and retries
            self.bus_problem = f"{self.bus.name} unreachable: {type(exc).__name__}"
            self.published_seq = min(self.announced_seq, self.journaled_seq)
            self._verify_at = 0.0
        self._tasks = [asyncio.create_task(self._journal_loop(), name="journal-signals"),
                       asyncio.create_task(self._publish_loop(), name="publish-signals"),
                       asyncio.create_task(self._save_announced_loop(), name="save-announced")]
        self._pressure()
        self._to_publish.set()

    async def stop(self, grace_s: float = 1.0) -> None:
        deadline = time.monotonic() + grace_s
        while self.backlog() and time.monotonic() < deadline:  # noqa: ASYNC110 - bounded grace
            await asyncio.sleep(0.01)
        await cancel_all(self._tasks)
        await self._save_announced()

    # --- in ---------------------------------------------------------------------------------

    def emit(self, signals: list[tuple[Signal, SignalSent]], perf: float | None = None) -> None:
        """Queue signals (each with the record that brings its pending order back on a
        restart) for the journal, the readers and the bus; `perf` the tick's perf time."""
        for s, record in signals:
            self.outbox.append((s, record))
            if perf is not None:
                self._perf.append((s.seq, perf))
            self.metrics.signals.labels(s.reason).inc()
        self._pressure()
        self._to_journal.set()

    async def journaled(self, seq: int) -> None:
        """Wait until every signal up to `seq` is in the journal (the record a restart
        rebuilds from): what an answer that names a signal must wait for."""
        if self.journaled_seq >= seq:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._journal_waiters.append((seq, done))
        await done

    def _wake_journal_waiters(self) -> None:
        still = []
        for seq, done in self._journal_waiters:
            if self.journaled_seq >= seq:
                if not done.done():
                    done.set_result(None)
            else:
                still.append((seq, done))
        self._journal_waiters = still

    def backlog(self) -> int:
        """Signals not yet in the bus's record (outbox + journaled but unpublished)."""
        return len(self.outbox) + self.journaled_seq - self.published_seq

    def _pressure(self) -> None:
        depth = self.backlog()
        self.metrics.outbox_depth.set(depth)
        if depth >= self.outbox_size and self.halted is None:
            self.halted = OUTBOX_HALT
            self.halt(OUTBOX_HALT)
            log.error("%s (%d signals waiting for %s): hedging halted until it drains",
                      OUTBOX_HALT, depth, self.bus.name)
        elif depth < self.outbox_size // 2 and self.halted == OUTBOX_HALT:
            self.halted = None
            self.halt(None)
            log.warning("signal outbox drained: hedging resumes")

    # --- stage 1: the record, then readers ---------------------------------------------------

    async def _journal_loop(self) -> None:
        while True:
            await self._to_journal.wait()
            self._to_journal.clear()
            while self.outbox:
                batch = [self.outbox.popleft() for _ in range(min(256, len(self.outbox)))]
                rows = [(s.seq, s.id, kept(dumps(s.as_message()))) for s, _ in batch]
                await self._journal([encode(record)[1] for _, record in batch], rows)
                for seq, _, raw in rows:
                    # readers see a signal once it is journaled, so a fill that names it can
                    # never reach the journal before the signal does
                    self.signal_log.append((seq, raw))
                    self.signal_feed.offer(raw)
                    self.journaled_seq = max(self.journaled_seq, seq)
                self._wake_journal_waiters()
                self._to_publish.set()

    async def _journal(self, events: list[dict[str, Any]],
                       rows: list[tuple[int, str, bytes]]) -> None:
        while True:
            try:
                await self.journal.append_signals(rows, events)
                return
            except Exception:
                log.exception("journal write of signals failed; retrying")
                await asyncio.sleep(0.2)

    # --- stage 2: the bus ---------------------------------------------------------------------

    async def _publish_loop(self) -> None:
        backoff = 0.05
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._to_publish.wait(), 1.0)
            self._to_publish.clear()
            try:
                if time.monotonic() >= self._verify_at:
                    await self._check_bus()
                while self.published_seq < self.journaled_seq:
                    batch = await self._unpublished(PUBLISH_BATCH)
                    if not batch:
                        raise RuntimeError(f"the journal holds no signal after seq "
                                           f"{self.published_seq}, up to {self.journaled_seq}")
                    delivery = await self.bus.publish_many(batch, self.announced_seq)
                    if delivery.ends_at is not None:  # it lost data since the last batch
                        self._refill_from(delivery.ends_at)
                        continue
                    self._took(batch[:delivery.held])
                    if delivery.error is not None or delivery.held < len(batch):
                        raise BusRefused(batch[delivery.held][0],
                                         delivery.error or "stopped without a reason")
                self._recovered()
                backoff = 0.05
            except Exception as exc:
                self._failed(exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
                self._to_publish.set()

    def _took(self, prefix: list[tuple[int, bytes]]) -> None:
        """The bus's record holds `prefix` (the start of a batch) now."""
        if not prefix:
            return
        self.published_seq = prefix[-1][0]
        if self.published_seq > self.announced_seq:
            self.announced_seq = self.published_seq
            self._announced_moved.set()
        done = time.perf_counter()
        while self._perf and self._perf[0][0] <= self.published_seq:
            _, perf = self._perf.popleft()
            self.metrics.tick_to_signal_seconds.observe(done - perf)
        self._pressure()

    def _failed(self, exc: Exception) -> None:
        self.metrics.redis_errors.inc()
        if isinstance(exc, BusRefused):
            reason = f"{self.bus.name} refused signal seq {exc.seq}: {exc.reason}"
        else:
            detail = f": {exc}" if str(exc) else ""
            reason = f"{self.bus.name} publish failed: {type(exc).__name__}{detail}"
            self._verify_at = 0.0  # re-read what the bus holds before the next attempt
        self.bus_problem = reason[:REASON_CHARS]
        self._pressure()
        now = time.monotonic()
        self._failures += 1
        if not self._failing_since:
            self._failing_since = now
        if now - self._complained_at >= COMPLAINT_EVERY_S:  # at most one line per interval
            self._complained_at = now
            self._complaining = True
            log.error("%s; signals wait for the bus from seq %d (%d waiting; %d failed "
                      "attempts since the last report)", self.bus_problem,
                      self.published_seq + 1, self.backlog(), self._failures)
            self._failures = 0

    def _recovered(self) -> None:
        self.bus_problem = None
        if self._complaining:  # the failures were reported: so is their end
            log.warning("%s took every waiting signal, up to seq %d, %.1f s after the first "
                        "failure", self.bus.name, self.published_seq,
                        time.monotonic() - self._failing_since)
            self._complaining = False
        self._failing_since = 0.0

    async def _check_bus(self) -> None:
        """Re-read what the bus holds; a record behind ours (an empty restarted Redis) is
        re-filled from the journal, from the last seq it holds — the stream only, those seqs
        were announced. A record ahead of ours (another writer) is reported: our signals with
        those seqs would never reach it."""
        held = await self.bus.last_seq() or 0
        if held > self.journaled_seq + len(self.outbox):
            raise RuntimeError(f"{self.bus.name} holds seq {held}, beyond ours "
                               f"({self.journaled_seq}): another writer on the stream?")
        if held < self.published_seq:
            self._refill_from(held)
        elif held > self.published_seq:  # it took them already (an answer we did not get)
            self.published_seq = min(held, self.journaled_seq)
        if held > self.announced_seq:  # everything the stream holds was announced, or never is
            self.announced_seq = held
            self._announced_moved.set()
        self._pressure()
        self._verify_at = time.monotonic() + 1.0

    def _refill_from(self, held: int) -> None:
        """The bus's record ends at `held`, behind what it took: re-fill it from the journal
        (the stream only: those seqs were announced)."""
        if held >= self.published_seq:
            raise RuntimeError(f"{self.bus.name} reports its record ends at seq {held}, "
                               f"not behind the {self.published_seq} it took")
        log.warning("%s holds signals up to seq %d, not %d: re-filling its stream from the "
                    "journal (not announced again)", self.bus.name, held, self.published_seq)
        self.published_seq = held
        self._pressure()

    async def _save_announced_loop(self) -> None:
        while True:
            await self._announced_moved.wait()
            self._announced_moved.clear()
            await self._save_announced()
            await asyncio.sleep(ANNOUNCED_SAVE_S)

    async def _save_announced(self) -> None:
        seq = self.announced_seq
        if seq <= self._saved_announced:
            return
        try:
            await self.journal.set_announced_seq(seq)
            self._saved_announced = seq
        except Exception as exc:  # the stream's last id still tells, unless Redis is lost too
            log.warning("journal write of announced seq %d failed: %s", seq, exc)

    async def _unpublished(self, limit: int) -> list[tuple[int, bytes]]:
        logged = self._logged_after(self.published_seq, limit)
        if logged is not None:
            return logged
        return [(int(loads(raw)["seq"]), raw)
                for raw in await self.journal.signals_after(self.published_seq, limit)]

    def _logged_after(self, after: int, limit: int) -> list[tuple[int, bytes]] | None:
        """The logged signals with seq > `after` (at most `limit`, oldest first), or None when
        the in-memory log no longer reaches back that far. Walks back from the newest: a
        reader or the publisher is usually near the end, never over the whole log."""
        if not self.signal_log or after + 1 < self.signal_log[0][0]:
            return None
        newest: list[tuple[int, bytes]] = []
        for seq, raw in reversed(self.signal_log):
            if seq <= after:
                break
            newest.append((seq, raw))
        newest.reverse()
        return newest[:limit]

    # --- read side ----------------------------------------------------------------------------

    async def signals_after(self, after: int, limit: int) -> list[bytes]:
        logged = self._logged_after(after, limit)
        if logged is not None:
            return [raw for _, raw in logged]
        return await self.journal.signals_after(after, limit)


async def cancel_all(tasks: list[asyncio.Task[None]], timeout_s: float = 2.0) -> None:
    """Cancel tasks and wait for them, boundedly: a cancel swallowed by a library (redis-py's
    blocking reads, wait_for's race on 3.11) must not hang a shutdown."""
    for t in tasks:
        t.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=timeout_s)
