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
from typing import Any

from app.codec import dumps, kept
from app.domain import Tick
from app.engine import restart
from app.engine.alert_egress import AlertEgress
from app.engine.command_codec import encode
from app.engine.commands import (
    Command,
    LoadPositions,
    NewFill,
    TickFrame,
)
from app.engine.core import Core
from app.engine.egress import Egress, cancel_all
from app.engine.feed import Feed
from app.engine.fill_intake import FillIntake
from app.engine.fill_memo import FillMemo
from app.engine.firm_book import FirmRest
from app.engine.metrics import Metrics
from app.engine.pnl_day import RollTime
from app.engine.pnl_days import PnlDays
from app.engine.ports import Journal, SignalBus
from app.engine.read import ReadModel
from app.engine.snapshot import capture
from app.engine.surfaces import Refitter
from app.engine.tick_checkpoint import TickCheckpoint
from app.engine.tick_frame import apply_frame
from app.engine.views import fill_view, risk_view
from app.errors import Conflict, DynhedgeError, NotReady
from app.hedging import Signal

log = logging.getLogger("dynhedge.runner")
RECOMPUTE_SLICE_S = 0.002  # longest run of recomputes without letting ingest in
RECOMPUTE_BUSY_S = 0.001  # a sweep with more work than this is a busy one...
RECOMPUTE_DUTY = 1.0  # ...followed by a pause of this many times its work,
RECOMPUTE_MAX_PAUSE_S = 0.010  # at most this long (bounds the risk lag)


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
        tick_checkpoint_s: float = 1.0,
        roll: RollTime | None = None,
    ) -> None:
        self.core = core
        self.read = ReadModel(core)  # what routes, feeds and the egress read
        self.journal = journal
        self.bus = bus
        self.metrics = metrics
        metrics.count_quiet(core.hedger.quiet_totals)
        self.egress = Egress(journal, bus, metrics, core.set_system_halt, core.raise_next_seq,
                             outbox_size, feed_size)
        self.risk_feed = Feed("risk", feed_size, metrics)
        self.alerts = AlertEgress(journal, bus, metrics, feed_size)
        self._alerts_waiting = asyncio.Event()
        self.fills = FillMemo()  # recent exec_ids; older ones are looked up in the journal
        self.intake = FillIntake(self)  # fills and busts: journal, apply, answer
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
        self.checkpoint = TickCheckpoint(journal, core, tick_checkpoint_s)
        self.refitter = Refitter(self)  # surfaces refitted off the tick path
        self.days = PnlDays(self, roll)  # the P&L day: marks, rolls (app.engine.pnl_days)
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
            asyncio.create_task(self.intake.run(), name="fill-writer"),
            asyncio.create_task(self.checkpoint.run(), name="tick-checkpoint"),
            asyncio.create_task(self._alert_writer(), name="alert-writer"),
            asyncio.create_task(self.refitter.run(), name="surface-refits"),
        ]
        self._wake.set()
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        await cancel_all(self._tasks)
        try:
            async with self._lock:
                await self._flush_alerts()
        except Exception:
            log.exception("alerts not journaled at stop")
        try:
            await self.checkpoint.write()  # a clean stop keeps the last tick exactly
        except Exception:
            log.exception("last tick checkpoint at stop failed")
        await self.egress.stop()  # hands over what is queued, briefly
        await self.alerts.drain()
        if self._pending_io:
            await asyncio.gather(*self._pending_io, return_exceptions=True)
        await self.bus.close()
        await self.journal.close()

    async def _restore(self) -> None:
        """Rebuild the core from the journal (app.engine.restart)."""
        self._since_snapshot = await restart.rebuild(self.core, self.journal, self.fills)

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
            self.checkpoint.ticked.add(underlying)
            self._tick_perf[underlying] = now
            self._unreflected.setdefault(underlying, now)
        return self._ticks_taken(accepted, rejected)

    def ingest_frame(self, frame: TickFrame) -> tuple[int, list[tuple[int, DynhedgeError]]]:
        """`ingest_ticks` for a frame validated in bulk (`app.engine.tick_frame`): the same
        answer, the latest plain spot tick per underlying applied."""
        now = time.perf_counter()
        touched, accepted, rejected = apply_frame(self.core, frame)
        if touched:
            self.checkpoint.ticked.update(touched)
            self._tick_perf.update(dict.fromkeys(touched, now))
            unreflected = self._unreflected
            for u in touched:
                unreflected.setdefault(u, now)
        return self._ticks_taken(accepted, rejected)

    def _ticks_taken(self, accepted: int, rejected: list[tuple[int, DynhedgeError]]
                     ) -> tuple[int, list[tuple[int, DynhedgeError]]]:
        """Count a batch of ticks and wake the recompute loop when any was accepted."""
        if accepted:
            self.metrics.ticks.labels("accepted").inc(accepted)
            self._wake.set()
        if rejected:
            self.metrics.ticks.labels("rejected").inc(len(rejected))
        return accepted, rejected

    async def submit_fill(self, new: NewFill) -> dict[str, Any]:
        """A fill, journaled before it is applied and answered: see `FillIntake.submit`."""
        return await self.intake.submit(new)

    async def bust(self, exec_id: str) -> dict[str, Any]:
        """Reverse an acknowledged fill: see `FillIntake.bust`."""
        return await self.intake.bust(exec_id)

    async def execute(self, cmd: Command) -> Any:
        """Check a command (a refused one is never journaled), journal it, apply it, and
        recompute what it touched before answering with its outcome. Alerts raised before it
        are journaled before it, and those it raised before its answer."""
        async with self._lock:
            await self._flush_alerts()
            self.core.check(cmd)
            kind, body = encode(cmd)
            try:
                event_id = await self.journal.append(kind, body)
            except Exception as exc:
                raise NotReady(f"journal write failed: {exc}") from exc
            result = self.core.execute(cmd)
            self._recompute_dirty_now()
            await self._flush_alerts()
            await self._snapshot_maybe(event_id)
            if isinstance(cmd, LoadPositions):
                self.checkpoint.ticked.update(self.core.book.markets)  # the day's tracks restart
                await self.days.journal_marks()
                self.days.arm()  # a day a load begins closes at the roll after its start
            return result

    async def ack_limit(self, limit_id: str) -> None:
        """An admin acknowledges a limit's breach; its alert is journaled before the answer
        (the journal's alerts are what rebuild the limits at start-up)."""
        async with self._lock:
            await self._flush_alerts()
            self.core.limits.ack(limit_id, self.core)
            self._recompute_dirty_now()
            await self._flush_alerts()

    async def judge_firm(self, rest: FirmRest | None) -> None:
        """The other shards' parts of the firm's figures (app.adapters.firm_exchange): the
        book limits judged on the firm's totals, their actions applied to this shard."""
        async with self._lock:
            signals = self.core.judge_firm(rest)
            if signals:
                self.egress.emit(self.core.sent(signals))
                self._risk_changed.update(s.underlying for s in signals)
            await self._flush_alerts()

    # --- alerts ---------------------------------------------------------------------------

    async def _flush_alerts(self) -> bool:
        """Journal, then hand out, the alerts the core raised (call under the lock)."""
        return await self.alerts.flush(self.core.limits.outbox)

    async def _alert_writer(self) -> None:
        while True:
            await self._alerts_waiting.wait()
            self._alerts_waiting.clear()
            if self.core.limits.outbox:
                async with self._lock:
                    done = await self._flush_alerts()
                if not done:  # the journal refused: try again shortly
                    await asyncio.sleep(0.5)
                    self._alerts_waiting.set()

    async def roll_day(self, as_of: float,
                       figures: Callable[[ReadModel], dict[str, Any]]) -> dict[str, Any]:
        """Close the P&L day (POST /v1/pnl/roll): see `PnlDays.roll`."""
        return await self.days.roll(as_of, figures)

    def _background(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._pending_io.add(task)
        task.add_done_callback(self._pending_io.discard)

    async def manual_signals(
        self, orders: list[tuple[str, float, str | None]]
    ) -> list[Signal]:
        """A desk's own orders (underlying, order_qty, instrument or None), sent as a set and
        answered once journaled — a restart then knows them and never reuses their seq."""
        async with self._lock:
            for u, _, _ in orders:  # the whole set is checked before any goes out
                self.core.ensure_known(u)
                if self.core.hedger.is_halted(u):
                    raise Conflict(f"hedging of {u} is halted")
            sent = [self.core.manual_signal(u, qty, inst) for u, qty, inst in orders]
            self.egress.emit(self.core.sent(sent))
            self._risk_changed.update(s.underlying for s in sent)
        if sent:
            await self.egress.journaled(max(s.seq for s in sent))
        return sent

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
        if self.core.limits.outbox:
            self._alerts_waiting.set()
        if signals:
            self.egress.emit(self.core.sent(signals), self._tick_perf.get(underlying, t0))

    def _recompute_dirty_now(self) -> None:
        for u in sorted(self.core.dirty):
            self._recompute_one(u)

    async def _recompute_loop(self) -> None:
        core = self.core
        while True:
            await self._wake.wait()
            self._wake.clear()
            while core.dirty or core.upkeep_due():
                if not core.dirty:  # idle: stale convertibles re-solved, a few at a time
                    if not core.upkeep():
                        break
                    await asyncio.sleep(0)
                    continue
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
                if self.days.marks_due():  # a load's marks left to the model, once valued
                    self._background(self.days.marks_when_valued())
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
                r = self.read.latest_risk(u)
                if r is not None:
                    self.risk_feed.offer(kept(dumps(risk_view(r, self.read.pnl_total(u)))))

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            for u in self.core.expire_pending():
                self._risk_changed.add(u)
            try:
                await self.days.roll_when_due()
            except Exception:  # the next sweep tries again
                log.exception("automatic P&L roll failed")

    # --- read side ----------------------------------------------------------------------------

    async def recent_fills(self, limit: int) -> list[dict[str, Any]]:
        """The latest fills, newest first, as journaled (`busted` when reversed since)."""
        return [fill_view(body, busted) for body, busted in await self.journal.recent_fills(limit)]

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
        halt = self.read.system_halt()
        if halt:
            out.append(f"hedging halted: {halt}")
        return out
