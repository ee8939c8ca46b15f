"""The asyncio shell around the core: one writer, a conflating inbox, bounded egress.

- Ticks are applied to market state on arrival (cheap, validated, answered at once) and mark
  their underlying dirty; the recompute task revalues dirty underlyings one at a time,
  yielding between them. However many ticks came, one recompute sees the latest: that is
  the coalescing (latest tick per underlying wins). Fills and commands are never coalesced:
  journaled, applied and recomputed before their answer goes out.
- Signals go to the egress (`app.engine.egress`): journal, readers, then the bus, in seq
  order; a bus outage halts hedging only when its backlog fills, and drops nothing.
- Readers take the latest immutable snapshot; nobody waits on a slow consumer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from app.codec import dumps, kept
from app.domain import Tick
from app.engine.commands import apply_event, instrument_fields
from app.engine.core import Core
from app.engine.egress import Egress, cancel_all
from app.engine.feed import Feed
from app.engine.fill_memo import FillMemo, Recalled
from app.engine.metrics import Metrics
from app.engine.ports import Journal, SignalBus
from app.engine.snapshot import capture, restore
from app.engine.views import risk_view
from app.errors import Conflict, DynhedgeError, NotReady, UnknownSymbol
from app.hedging import Signal

log = logging.getLogger("dynhedge.runner")
RECOMPUTE_SLICE_S = 0.002  # longest run of recomputes without letting ingest in
RECOMPUTE_BUSY_S = 0.001  # a sweep with more work than this is a busy one...
RECOMPUTE_DUTY = 1.0  # ...followed by a pause of this many times its work,
RECOMPUTE_MAX_PAUSE_S = 0.010  # at most this long (bounds the risk lag)
FILL_BATCH = 256  # the most fills committed in one transaction
T = TypeVar("T")


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
        snapshot_every: int = 10_000,
    ) -> None:
        self.core = core
        self.journal = journal
        self.bus = bus
        self.metrics = metrics
        self.egress = Egress(journal, bus, core.hedger, metrics, outbox_size, feed_size)
        self.risk_feed = Feed("risk", feed_size, metrics)
        self.fills = FillMemo()  # recent exec_ids; older ones are looked up in the journal
        self._fill_queue: list[tuple[dict[str, Any], str, asyncio.Future[dict[str, Any]]]] = []
        self._inflight: dict[str, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self._fills_waiting = asyncio.Event()
        self.risk_push_s = 1.0 / risk_push_hz
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._risk_changed: set[str] = set()
        self._tick_perf: dict[str, float] = {}  # underlying -> perf time of its latest tick
        self._unreflected: dict[str, float] = {}  # underlying -> first tick risk lacks
        self._tasks: list[asyncio.Task[None]] = []
        self._pending_io: set[asyncio.Future[Any]] = set()
        self._since_snapshot = 0
        self.snapshot_every = snapshot_every
        self.ready = False

    # --- life -----------------------------------------------------------------------------

    async def start(self) -> None:
        await self.journal.start()
        await self._restore()
        await self.egress.start()
        self.core.dirty.update(self.core.book.markets)
        for u in list(self.core.dirty):
            self.core.risk[u] = self.core.value(u)
        self._tasks = [
            asyncio.create_task(self._recompute_loop(), name="recompute"),
            asyncio.create_task(self._risk_push_loop(), name="risk-push"),
            asyncio.create_task(self._sweep_loop(), name="ttl-sweeper"),
            asyncio.create_task(self._fill_writer(), name="fill-writer"),
        ]
        self._wake.set()
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        await cancel_all(self._tasks)
        await self.egress.stop()  # hands over what is queued, briefly
        if self._pending_io:
            await asyncio.gather(*self._pending_io, return_exceptions=True)
        await self.bus.close()
        await self.journal.close()

    async def _restore(self) -> None:
        """Rebuild the book, policies, halts and pending signals: the latest snapshot, then
        the journal's tail through the same command functions that ran live."""
        snap, events = await self.journal.replay()
        if snap is not None:
            restore(self.core, snap)
        records = await self.journal.fill_records(self.fills.size)
        replayed: dict[str, dict[str, Any]] = {}
        for kind, body in events:
            try:
                result = apply_event(self.core, kind, body)
            except DynhedgeError as exc:  # journaled bodies were valid when written
                log.error("journal replay: %s event skipped: %s", kind, exc)
                continue
            if kind == "fill":
                replayed[body["exec_id"]] = _fill_answer(result)
        for exec_id, (payload, result) in records.items():  # oldest first
            self.fills.put(exec_id, payload, replayed.get(exec_id, result))
        self.fills.complete = len(records) < self.fills.size
        self.core.hedger.next_seq = max(self.core.hedger.next_seq,
                                        await self.journal.max_seq() + 1)
        self.core.dirty.clear()
        self._since_snapshot = len(events)
        log.info("restored %s + %d journal events; next seq %d",
                 "a snapshot" if snap else "no snapshot", len(events), self.core.hedger.next_seq)

    async def _snapshot_maybe(self, event_id: int, events: int = 1) -> None:
        """Every `snapshot_every` events, the state right after `event_id` — the last event
        applied (under the lock); `events` journaled since the last call."""
        self._since_snapshot += events
        if self._since_snapshot < self.snapshot_every:
            return
        self._since_snapshot = 0
        body = capture(self.core)
        try:
            await self.journal.write_snapshot(event_id, body)
        except Exception:  # a missing snapshot only makes the next start-up slower
            log.exception("snapshot after event %d failed", event_id)

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
        """Journal (write-ahead), apply, recompute; then answer. Idempotent on exec_id.
        Fills that arrive while a commit is syncing are committed together (one fsync)."""
        exec_id = body["exec_id"]
        prior = self.fills.get(exec_id)
        if prior is None and exec_id not in self._inflight and not self.fills.complete:
            looked_up = await self.journal.fill_lookup(exec_id)
            prior = None if looked_up is None else Recalled.of(*looked_up)
        inflight = self._inflight.get(exec_id)
        if inflight is not None:  # the same exec_id is being written right now
            if inflight[0] != payload:
                self.metrics.fills.labels("conflict").inc()
                raise Conflict(f"exec_id {exec_id!r} was already used for another fill")
            answer = await asyncio.shield(inflight[1])
            self.metrics.fills.labels("duplicate").inc()
            return {**answer, "duplicate": True}
        prior = self.fills.get(exec_id) or prior
        if prior is not None:
            if not prior.same_fill(payload):
                self.metrics.fills.labels("conflict").inc()
                raise Conflict(f"exec_id {exec_id!r} was already used for another fill")
            self.metrics.fills.labels("duplicate").inc()
            answer = prior.answer or {  # an answer lost in a crash: the position now
                "exec_id": exec_id, "overfill": False,
                "position": {"symbol": body["symbol"],
                             "quantity": self.core.book.quantity(body["symbol"])}}
            return {**answer, "duplicate": True}
        # check before the journal write: a fill the book cannot take is never journaled
        self.core.resolve_instrument(body["symbol"], instrument_fields(body))
        self.core.check_event_time(body["ts"])
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._inflight[exec_id] = (payload, done)
        self._fill_queue.append((body, payload, done))
        self._fills_waiting.set()
        answer = await asyncio.shield(done)
        return {**answer, "duplicate": False}

    async def _fill_writer(self) -> None:
        """Drain the fill queue: one transaction per batch, then apply each in order and
        recompute, under the lock that orders fills and commands."""
        while True:
            await self._fills_waiting.wait()
            self._fills_waiting.clear()
            while self._fill_queue:
                batch = self._fill_queue[:FILL_BATCH]
                del self._fill_queue[:FILL_BATCH]
                try:
                    await self._write_fills(batch)
                except Exception as exc:  # never leave a caller waiting
                    log.exception("fill batch failed")
                    for body, _, done in batch:
                        self._inflight.pop(body["exec_id"], None)
                        if not done.done():
                            done.set_exception(NotReady(f"fill not taken: {exc}"))

    async def _write_fills(self, batch: list[tuple[dict[str, Any], str, Any]]) -> None:
        async with self._lock:
            try:
                ids = await self.journal.append_fills(
                    [(body["exec_id"], payload, body) for body, payload, _ in batch])
            except Exception as exc:
                raise NotReady(f"journal write failed: {exc}") from exc
            for body, payload, done in batch:
                exec_id = body["exec_id"]
                outcome = apply_event(self.core, "fill", body)
                answer = _fill_answer(outcome)
                self.fills.put(exec_id, payload, answer)
                self._inflight.pop(exec_id, None)
                self._background(self.journal.set_fill_result(exec_id, answer))
                self.metrics.fills.labels("overfill" if outcome.overfill else "applied").inc()
                if outcome.overfill:
                    log.warning("fill %s over-fills signal %s", exec_id, body.get("signal_id"))
                done.set_result(answer)  # its caller resumes after the recompute below
            self._recompute_dirty_now()
            await self._snapshot_maybe(ids[-1], len(ids))

    async def command(
        self, kind: str, body: dict[str, Any], check: Callable[[], T] | None = None
    ) -> Any:
        """Journal a command, apply it, and recompute what it touched before answering.
        `check` runs first and may raise: a refused command is never journaled."""
        async with self._lock:
            if check is not None:
                check()
            try:
                event_id = await self.journal.append(kind, body)
            except Exception as exc:
                raise NotReady(f"journal write failed: {exc}") from exc
            result = apply_event(self.core, kind, body)
            self._recompute_dirty_now()
            await self._snapshot_maybe(event_id)
            return result

    async def bust(self, exec_id: str) -> dict[str, Any]:
        """Reverse an acknowledged fill (journaled). 404 unknown, 409 busted already."""
        async with self._lock:
            record = await self.journal.fill_record(exec_id)
            if record is None:
                raise UnknownSymbol("fill", exec_id)
            original, busted = record
            if busted:
                raise Conflict(f"fill {exec_id!r} was busted already")
            body = {"exec_id": exec_id, "fill": original}
            try:
                event_id = await self.journal.append_bust(exec_id, body)
            except Exception as exc:
                raise NotReady(f"journal write failed: {exc}") from exc
            outcome = apply_event(self.core, "bust", body)
            self.metrics.fills.labels("busted").inc()
            log.warning("fill %s busted: %s back to %g", exec_id, outcome.symbol,
                        outcome.quantity)
            self._recompute_dirty_now()
            await self._snapshot_maybe(event_id)
        return {"exec_id": exec_id, "busted": True,
                "position": {"symbol": outcome.symbol, "quantity": outcome.quantity}}

    def _background(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._pending_io.add(task)
        task.add_done_callback(self._pending_io.discard)

    def manual_signal(self, underlying: str, order_qty: float, instrument: str | None) -> Signal:
        sig = self.core.manual_signal(underlying, order_qty, instrument)
        self.egress.emit([sig])
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
            self.egress.emit(signals, self._tick_perf.get(underlying, t0))

    def _recompute_dirty_now(self) -> None:
        for u in sorted(self.core.dirty):
            self._recompute_one(u)

    async def _recompute_loop(self) -> None:
        core = self.core
        while True:
            await self._wake.wait()
            self._wake.clear()
            while core.dirty:
                # One sweep over those waiting now, oldest first, in slices of at most
                # RECOMPUTE_SLICE_S between which ingest and readers run. After a busy sweep
                # the loop leaves ingest RECOMPUTE_DUTY x its work before the next one: ticks
                # coalesce meanwhile, the risk lag stays about a sweep plus a pause, and
                # ingest keeps most of the core. A quiet sweep (a lone tick) pays no pause.
                self.metrics.inbox_depth.set(len(core.dirty))
                work = 0.0
                t_slice = time.perf_counter()
                for _ in range(len(core.dirty)):
                    if not core.dirty:
                        break
                    u = core.dirty.oldest()
                    t0 = time.perf_counter()
                    try:
                        self._recompute_one(u)
                    except Exception:
                        core.dirty.discard(u)
                        log.exception("recompute of %s failed", u)
                    t1 = time.perf_counter()
                    work += t1 - t0
                    if t1 - t_slice >= RECOMPUTE_SLICE_S:
                        await asyncio.sleep(0)
                        t_slice = time.perf_counter()
                if work >= RECOMPUTE_BUSY_S:
                    await asyncio.sleep(min(RECOMPUTE_DUTY * work, RECOMPUTE_MAX_PAUSE_S))
                else:
                    await asyncio.sleep(0)
            self.metrics.inbox_depth.set(0)

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
                    self.risk_feed.offer(kept(dumps(risk_view(r))))

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            for u in self.core.expire_pending():
                self._risk_changed.add(u)

    # --- read side ----------------------------------------------------------------------------

    async def signals_after(self, after: int, limit: int) -> list[bytes]:
        return await self.egress.signals_after(after, limit)

    async def problems(self) -> list[str]:
        out = []
        j = await self.journal.problem()
        if j:
            out.append(j)
        b = await self.bus.problem()
        if b:
            out.append(b)
        elif self.egress.bus_problem and self.egress.backlog():
            out.append(self.egress.bus_problem)
        if self.core.hedger.system_halt:
            out.append(f"hedging halted: {self.core.hedger.system_halt}")
        return out


def _fill_answer(outcome: Any) -> dict[str, Any]:
    return {
        "exec_id": outcome.exec_id,
        "position": {"symbol": outcome.symbol, "quantity": outcome.quantity},
        "overfill": outcome.overfill,
    }
