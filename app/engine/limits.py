"""Limits that act, and the alerts they raise (issue 14).

A limit watches one figure of one underlying, or of the book, against a `warn` and a
`breach` level (on its size: |delta|, |gamma|, …, or a scenario preset's worst loss). The
core checks every limit of an underlying right after it recomputes that underlying, and the
book's limits then too (book totals are kept incrementally: O(limits) per recompute, plus
the scenario losses, revalued at most once a second per limit).

A breach fires the limit's action once — `alert` only; `flatten` (the core trades the delta
to the policy's target now, ignoring the band); `reduce_only` (hedging may only shrink the
hedge position); `halt` (the kill switch, for the underlying or, for a book limit, for all) —
and latches: the breach clears only once an admin acknowledges it AND the value is back
inside the breach level. `reduce_only` is lifted when the breach clears; the kill switch of a
`halt` stays on until an admin resumes (POST /v1/hedge/resume), as any kill switch does.

Every warn, breach, acknowledgement, clear, halt and resume is an `Alert`: numbered, kept
(the latest ALERTS_KEPT), and handed to the runner (`outbox`), which journals it — the
journal's alerts are what rebuild the limits' states at start-up (`restore`) — and
publishes it. While the journal replays, nothing is put in the outbox."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.engine import scenarios
from app.engine.firm_book import SUMMED, BookPart, FirmRest, scenario_loss
from app.engine.pnl_figures import PnlFigures
from app.errors import Conflict, UnknownSymbol

if TYPE_CHECKING:
    from app.book import UnderlyingRisk
    from app.engine.core import Core

log = logging.getLogger("dynhedge.limits")
ALERTS_KEPT = 1_000
SCENARIO_EVERY_S = 1.0  # a scenario_loss limit revalues its preset at most this often
BOOK = "book"
UNDERLYING_ONLY = ("delta", "gamma")  # shares do not add up across underlyings
METRICS = ("delta", "dollar_delta", "beta_dollar_delta", "gamma", "dollar_gamma", "vega",
           "scenario_loss", "pnl_loss")
ACTIONS = ("alert", "flatten", "reduce_only", "halt")


@dataclass(frozen=True, slots=True)
class LimitSpec:
    """One limit as PUT /v1/limits gives it. `scope`: an underlying or "book"; `preset` the
    scenario preset of a `scenario_loss` limit."""

    id: str
    scope: str
    metric: str
    warn: float
    breach: float
    action: str = "alert"
    preset: str | None = None

    def record(self) -> dict[str, Any]:
        return {"id": self.id, "scope": self.scope, "metric": self.metric, "warn": self.warn,
                "breach": self.breach, "action": self.action, "preset": self.preset}


@dataclass(slots=True)
class LimitState:
    state: str = "ok"  # ok, warn, breach, breach_acked (acknowledged, still outside)
    value: float | None = None
    since: float | None = None  # wall time of the breach


def _fmt(x: float) -> str:
    """A figure in a message: whole with separators from 100 on, else 4 significant digits."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.4g}"


def _size(r: UnderlyingRisk, metric: str) -> float | None:
    v = getattr(r, metric)
    return None if v is None else abs(float(v))


class Limits:
    def __init__(self) -> None:
        self.specs: dict[str, LimitSpec] = {}
        self.states: dict[str, LimitState] = {}
        self.alerts: deque[dict[str, Any]] = deque(maxlen=ALERTS_KEPT)
        self.next_seq = 1
        self.outbox: list[dict[str, Any]] = []
        self.replaying = False
        self._by_scope: dict[str, list[LimitSpec]] = {}
        self._contrib: dict[str, tuple[float, ...]] = {}  # underlying -> its share of totals
        self._totals = [0.0] * len(SUMMED)
        self._scenario_at: dict[str, tuple[float, float | None]] = {}
        # preset -> (clock time, this book's part of the firm's worst loss)
        self._book_scenario_at: dict[str, tuple[float, list[float | None] | None]] = {}
        # a shard's book limits watch the firm: the other shards' parts (app.engine.firm_book)
        self.elsewhere: FirmRest | None = None
        self._pnl_figures: PnlFigures | None = None
        self._watch_pnl = False  # a pnl_loss limit is set: each recompute notes its P&L
        self._pnl_by_underlying: dict[str, float] = {}

    # --- configuration --------------------------------------------------------------------

    def configure(self, specs: tuple[LimitSpec, ...], core: Core) -> None:
        """Replace every limit. A kept id keeps its state (a latched breach survives a PUT);
        a dropped limit, or one whose action or scope changed, lifts the reduce-only it set."""
        new = {s.id: s for s in specs}
        for old in self.specs.values():
            kept = new.get(old.id)
            if kept is None or kept.action != old.action or kept.scope != old.scope:
                self._lift(old, core)
        self.specs = {s.id: s for s in specs}
        self.states = {s.id: self.states.get(s.id) or LimitState() for s in specs}
        self._by_scope = {}
        for s in specs:
            self._by_scope.setdefault(s.scope, []).append(s)
        self._scenario_at.clear()
        self._book_scenario_at.clear()
        self._contrib, self._totals = {}, [0.0] * len(SUMMED)  # rebuilt by the recomputes
        self._watch_pnl = any(s.metric == "pnl_loss" for s in specs)
        self._pnl_by_underlying = {}

    @staticmethod
    def check_specs(specs: tuple[LimitSpec, ...], core: Core) -> None:
        for i, s in enumerate(specs):
            if s.scope != BOOK and s.scope not in core.book.markets:
                raise UnknownSymbol(f"{i}.scope", s.scope)

    # --- checks (the core, after each recompute) ------------------------------------------

    def check(self, core: Core, underlying: str, risk: UnderlyingRisk) -> set[str]:
        """Check the limits of `underlying` and of the book; returns the underlyings a breach
        asks to flatten."""
        flatten: set[str] = set()
        if not self.specs:  # nothing to do (a PUT of limits recomputes every underlying)
            return flatten
        self._add_to_totals(underlying, risk)
        if self._watch_pnl:
            pnl = self._pnl(core, risk)
            self._pnl_by_underlying[underlying] = 0.0 if pnl is None else pnl
        now = core.clock.now()
        for spec in self._by_scope.get(underlying, ()):
            value = self._value(core, spec, risk)
            if value is not None:
                flatten |= self._judge(core, spec, value, now)
        return flatten | self.judge_book(core)

    def judge_book(self, core: Core) -> set[str]:
        """Judge the book's limits (on the firm's figures when `elsewhere` has the other
        shards' parts); returns the underlyings a breach asks to flatten."""
        flatten: set[str] = set()
        book_limits = self._by_scope.get(BOOK, ())
        if not book_limits or any(u not in self._contrib for u in core.book.markets):
            return flatten  # a book total is judged once every underlying is in it
        now = core.clock.now()
        for spec in book_limits:
            value = self._book_value(core, spec)
            if value is not None:
                flatten |= self._judge(core, spec, value, now)
        return flatten

    def own_part(self, core: Core) -> BookPart | None:
        """This book's share of the figures its book limits watch, for the other shards to
        add (None: no book limit, nothing to share)."""
        book_limits = self._by_scope.get(BOOK, ())
        if not book_limits:
            return None
        presets = sorted({s.preset or "span16" for s in book_limits
                          if s.metric == "scenario_loss"})
        parts = {p: self._book_scenario(core, p) for p in presets}
        return BookPart(tuple(self._totals), sum(self._pnl_by_underlying.values()),
                        {p: cells for p, cells in parts.items() if cells is not None})

    def _add_to_totals(self, underlying: str, r: UnderlyingRisk) -> None:
        new = tuple(float(getattr(r, m) or 0.0) for m in SUMMED) if r.valued else (
            0.0,) * len(SUMMED)
        old = self._contrib.get(underlying)
        for k in range(len(SUMMED)):
            self._totals[k] += new[k] - (0.0 if old is None else old[k])
        self._contrib[underlying] = new

    def _value(self, core: Core, spec: LimitSpec, r: UnderlyingRisk) -> float | None:
        if spec.metric == "scenario_loss":
            return self._scenario(core, spec, spec.scope)
        if spec.metric == "pnl_loss":
            return self._pnl_loss(core, r)
        return _size(r, spec.metric) if r.valued else None

    def _book_value(self, core: Core, spec: LimitSpec) -> float | None:
        rest = None if self.elsewhere is None else self.elsewhere.part
        if spec.metric == "scenario_loss":
            preset = spec.preset or "span16"
            return scenario_loss(preset, self._book_scenario(core, preset),
                                 None if rest is None else rest.scenarios.get(preset))
        if spec.metric == "pnl_loss":
            return self._book_pnl_loss(0.0 if rest is None else rest.pnl)
        k = SUMMED.index(spec.metric)
        return abs(self._totals[k] + (0.0 if rest is None else rest.totals[k]))

    def _pnl(self, core: Core, r: UnderlyingRisk) -> float | None:
        """One underlying's P&L of the day in $ (None while it cannot be valued)."""
        if self._pnl_figures is None or self._pnl_figures.desk is not core.pnl:
            self._pnl_figures = PnlFigures(core.pnl)
        pnl = self._pnl_figures.underlying(r.underlying, r, with_explain=False)["pnl"]
        return None if pnl is None else float(pnl)

    def _pnl_loss(self, core: Core, r: UnderlyingRisk) -> float | None:
        """The day's loss of one underlying in $ (0 while it makes money)."""
        pnl = self._pnl(core, r)
        return None if pnl is None else max(0.0, -pnl)

    def _book_pnl_loss(self, elsewhere: float) -> float:
        """The book's loss of the day: minus the sum of the underlyings' P&L as of each one's
        last recompute (gains offset losses), and of the other shards' P&L."""
        return max(0.0, -(sum(self._pnl_by_underlying.values()) + elsewhere))

    def _scenario(self, core: Core, spec: LimitSpec, underlying: str) -> float | None:
        now = core.clock.now()
        at = self._scenario_at.get(spec.id)
        if at is not None and now - at[0] < SCENARIO_EVERY_S:
            return at[1]
        value = scenarios.worst_loss(core.book, underlying, spec.preset or "span16")
        self._scenario_at[spec.id] = (now, value)
        return value

    def _book_scenario(self, core: Core, preset: str) -> list[float | None] | None:
        now = core.clock.now()
        at = self._book_scenario_at.get(preset)
        if at is not None and now - at[0] < SCENARIO_EVERY_S:
            return at[1]
        part = scenarios.book_part(core.book, preset)
        self._book_scenario_at[preset] = (now, part)
        return part

    def _judge(self, core: Core, spec: LimitSpec, value: float, now: float) -> set[str]:
        st = self.states[spec.id]
        st.value = value
        level = "breach" if value >= spec.breach else "warn" if value >= spec.warn else "ok"
        if st.state == "breach":
            return set()
        if st.state == "breach_acked":
            if level != "breach":
                st.state, st.since = level, None
                self._lift(spec, core)
                self._alert("clear", spec, st, now, f"back inside {_fmt(spec.breach)}: cleared")
            return set()
        if level == "breach":
            st.state, st.since = "breach", now
            return self._fire(core, spec, st, now)
        if level != st.state:
            was, st.state = st.state, level
            if level == "warn":
                self._alert("warn", spec, st, now, f"past warn {_fmt(spec.warn)}")
            elif was == "warn":
                self._alert("clear", spec, st, now, f"back under warn {_fmt(spec.warn)}")
        return set()

    def _fire(self, core: Core, spec: LimitSpec, st: LimitState, now: float) -> set[str]:
        target = None if spec.scope == BOOK else spec.scope
        what = {"alert": "alert only", "flatten": "delta flattened to target",
                "reduce_only": "hedging reduce-only", "halt": "hedging halted"}[spec.action]
        self._alert("breach", spec, st, now, f"beyond {_fmt(spec.breach)}: {what}")
        self._apply(spec, core)
        if spec.action == "halt":
            self.kill_switch("halt", target, now, f"by limit {spec.id}")
        if spec.action == "flatten":
            return set(core.book.markets) if target is None else {target}
        return set()

    def _apply(self, spec: LimitSpec, core: Core) -> None:
        """The lasting effect of a breach (live, and again when its alert is replayed)."""
        target = None if spec.scope == BOOK else spec.scope
        if spec.action == "halt":
            core.hedger.halt(target)
        elif spec.action == "reduce_only":
            for u in self._targets(spec, core):
                core.hedger.state(u).reduce_only_reasons.add(f"limit {spec.id}")

    def _lift(self, spec: LimitSpec, core: Core) -> None:
        if spec.action == "reduce_only":
            for u in self._targets(spec, core):
                core.hedger.state(u).reduce_only_reasons.discard(f"limit {spec.id}")
                core.dirty.add(u)

    @staticmethod
    def _targets(spec: LimitSpec, core: Core) -> list[str]:
        return sorted(core.book.markets) if spec.scope == BOOK else [spec.scope]

    # --- acknowledgement and the kill switch ------------------------------------------------

    def ack(self, limit_id: str, core: Core) -> LimitState:
        """An admin's acknowledgement: the breach clears now if the value is back inside,
        else once it is. Conflict when the limit is not in breach."""
        spec = self.specs.get(limit_id)
        if spec is None:
            raise UnknownSymbol("limit", limit_id)
        st = self.states[limit_id]
        if st.state != "breach":
            raise Conflict(f"limit {limit_id!r} is not in an unacknowledged breach "
                           f"(state {st.state})")
        now = core.clock.now()
        inside = st.value is None or st.value < spec.breach
        if inside:
            value = st.value or 0.0
            st.state = "warn" if value >= spec.warn else "ok"
            st.since = None
            self._lift(spec, core)
            self._alert("ack", spec, st, now, "breach acknowledged: back inside, cleared")
        else:
            st.state = "breach_acked"
            self._alert("ack", spec, st, now,
                        "breach acknowledged: clears once back inside")
        return st

    def kill_switch(self, kind: str, underlying: str | None, now: float, why: str = "") -> None:
        """A halt or resume (an admin's, or a limit's) as an alert."""
        who = underlying or "all underlyings"
        self._emit({"kind": kind, "limit_id": None, "scope": underlying or BOOK,
                    "underlying": underlying, "metric": None, "value": None, "level": None,
                    "state": None, "action": None,
                    "message": f"hedging of {who} {'halted' if kind == 'halt' else 'resumed'}"
                               + (f" {why}" if why else "")}, now)

    # --- alerts ---------------------------------------------------------------------------

    def _alert(self, kind: str, spec: LimitSpec, st: LimitState, now: float,
               text: str) -> None:
        where = "book" if spec.scope == BOOK else spec.scope
        value = st.value if st.value is not None else 0.0
        self._emit({"kind": kind, "limit_id": spec.id, "scope": spec.scope,
                    "underlying": None if spec.scope == BOOK else spec.scope,
                    "metric": spec.metric, "value": st.value,
                    "level": spec.breach if kind == "breach" else spec.warn
                    if kind == "warn" else spec.breach,
                    "state": st.state, "action": spec.action,
                    "message": f"{where} {spec.metric} {_fmt(value)} {text}"}, now)

    def _emit(self, body: dict[str, Any], now: float) -> None:
        if self.replaying:
            return
        alert = {"seq": self.next_seq, "ts": now, **body}
        self.next_seq += 1
        self.alerts.append(alert)
        self.outbox.append(alert)
        log.warning("alert %d %s: %s", alert["seq"], alert["kind"], alert["message"])

    def restore(self, alert: dict[str, Any], core: Core) -> None:
        """A journaled alert, replayed: the limit's state it left, its lasting effect (the
        kill switch of a halt, reduce-only), and its place in the history."""
        seq = int(alert["seq"])
        if seq < self.next_seq:
            return  # in the snapshot already
        self.next_seq = seq + 1
        self.alerts.append(alert)
        spec = self.specs.get(alert.get("limit_id") or "")
        if spec is None or alert.get("state") is None:
            return
        st = self.states[spec.id]
        st.state, st.value = alert["state"], alert.get("value")
        st.since = alert["ts"] if st.state in ("breach", "breach_acked") else None
        if alert["kind"] == "breach":
            self._apply(spec, core)
        elif st.state in ("ok", "warn"):
            self._lift(spec, core)

    # --- snapshot -------------------------------------------------------------------------

    def capture(self) -> dict[str, Any]:
        return {"specs": [s.record() for s in self.specs.values()],
                "states": {i: [s.state, s.value, s.since] for i, s in self.states.items()},
                "alerts": list(self.alerts), "next_seq": self.next_seq}

    def restore_snapshot(self, d: dict[str, Any], core: Core) -> None:
        self.configure(tuple(LimitSpec(**s) for s in d["specs"]), core)
        for i, (state, value, since) in d["states"].items():
            if i in self.states:
                self.states[i] = LimitState(state, value, since)
        self.alerts.extend(d["alerts"])
        self.next_seq = int(d["next_seq"])
