"""The paper execution bot: takes each hedge signal (CONTRACT §5), fills it at once at a
simulated price with a half-spread, and sends the fill back (`POST /v1/fills`, CONTRACT §3).

Exactly once across crashes and restarts, with no state file of its own:

- The fill's `exec_id` is derived from the signal id (`paper-{id}`) and the service is
  idempotent on `exec_id`: a signal executed twice — a replay after a crash between the fill
  and the stream acknowledgement — is answered `duplicate: true` and changes nothing. For
  that, the fill must be a function of the signal alone: its price is the signal's `spot` ±
  the half-spread (a replay under another spread answers 409, counted as a conflict).
- A signal is acknowledged to its source (XACK on the Redis stream) only once the service
  has answered its fill; what was never acknowledged is delivered again (`app.demo.signals`).

A signal older than `max_age_s` (by its `ts`) is not executed: its pending quantity has
expired in the service (`pending_ttl_s`), which hedges that exposure again itself.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import httpx

from app.demo.signals import (
    RETRY_MAX_S,
    Delivery,
    KeyRefused,
    SignalSource,
    SocketSignals,
    StreamSignals,
    raise_if_cancelling,
    ws_url,
)

__all__ = ["BotStats", "Delivery", "Execution", "KeyRefused", "Outcome", "PaperBot",
           "SignalSource",
           "SocketSignals", "StreamSignals", "paper_fill", "run_paper_bot", "ws_url"]

log = logging.getLogger("dynhedge.paper_bot")


class Outcome(StrEnum):
    FILLED = "filled"  # the service took the fill
    DUPLICATE = "duplicate"  # already filled before (a replay): nothing changed
    CONFLICT = "conflict"  # this exec_id was used for a different fill (409)
    REJECTED = "rejected"  # the service refused the fill for good (4xx)
    EXPIRED = "expired"  # older than max_age_s: not executed
    UNPRICED = "unpriced"  # no price to fill at: not executed


@dataclass(frozen=True, slots=True)
class Execution:
    """What the bot did with one signal; `fill` is the body sent, None when nothing was."""

    signal: dict[str, Any]
    outcome: Outcome
    fill: dict[str, Any] | None = None
    detail: str = ""


@dataclass(slots=True)
class BotStats:
    """`received`: signals taken; `outcomes`: those done, by outcome."""

    received: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return sum(self.outcomes.values())

    def count(self, outcome: Outcome) -> int:
        return self.outcomes.get(outcome.value, 0)


def exec_id_of(signal_id: str) -> str:
    return f"paper-{signal_id}"


def paper_fill(signal: dict[str, Any], half_spread_bps: float,
               price: float | None = None) -> dict[str, Any] | None:
    """The `POST /v1/fills` body for `signal`, filled in full at `price` (default: the
    signal's `spot`, $) plus the half-spread for a buy, minus it for a sell; None without a
    price. Rounded to 1/100 of a cent."""
    mid = price if price is not None else signal.get("spot")
    if mid is None or mid <= 0:
        return None
    sign = 1.0 if signal["side"] == "buy" else -1.0
    return {
        "exec_id": exec_id_of(signal["id"]),
        "symbol": signal["instrument"],
        "side": signal["side"],
        "quantity": signal["quantity"],
        "price": round(mid * (1.0 + sign * half_spread_bps / 10_000.0), 4),
        "signal_id": signal["id"],
    }


def signal_age_s(signal: dict[str, Any], now: float) -> float:
    """Seconds between the signal's event time and `now` (epoch s); 0 when it has none."""
    ts = signal.get("ts")
    if isinstance(ts, int | float):
        return now - float(ts)
    if isinstance(ts, str):
        return now - datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    return 0.0


class PaperBot:
    """Executes signals against the service over `http` (an httpx client whose base URL is
    the service and whose headers carry the X-API-Key). `mark(instrument)` may give the
    price to fill at instead of the signal's spot (the demo's live simulated price); a
    replay then may differ from the first fill and is answered 409 (counted as a conflict:
    the first fill stands)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        half_spread_bps: float = 2.0,
        max_age_s: float | None = 30.0,
        mark: Callable[[str], float | None] | None = None,
        on_execution: Callable[[Execution], None] | None = None,
    ) -> None:
        self.http = http
        self.half_spread_bps = half_spread_bps
        self.max_age_s = max_age_s
        self.mark = mark
        self.on_execution = on_execution
        self.stats = BotStats()

    async def execute(self, signal: dict[str, Any]) -> Execution:
        """Fill one signal and return once the service has answered; retries, with backoff,
        while the service is unreachable or answers 429/5xx (a cancel stops it: the signal
        stays unacknowledged and is executed on the next start)."""
        self.stats.received += 1
        execution = await self._execute(signal)
        outcomes = self.stats.outcomes
        outcomes[execution.outcome.value] = outcomes.get(execution.outcome.value, 0) + 1
        level = logging.INFO if execution.outcome in (Outcome.FILLED, Outcome.DUPLICATE) \
            else logging.WARNING
        log.log(level, "signal %s #%s %s %s %g: %s %s", signal.get("id"), signal.get("seq"),
                signal.get("underlying"), signal.get("side"), signal.get("quantity", 0),
                execution.outcome.value, execution.detail)
        if self.on_execution is not None:
            self.on_execution(execution)
        return execution

    async def _execute(self, signal: dict[str, Any]) -> Execution:
        if self.max_age_s is not None:
            age = signal_age_s(signal, time.time())
            if age > self.max_age_s:
                return Execution(signal, Outcome.EXPIRED, None, f"{age:.0f}s old")
        price = self.mark(signal["instrument"]) if self.mark is not None else None
        fill = paper_fill(signal, self.half_spread_bps, price)
        if fill is None:
            return Execution(signal, Outcome.UNPRICED, None, "the signal has no spot")
        response = await self._post_fill(fill)
        if response.status_code == 200:
            answer = response.json()
            outcome = Outcome.DUPLICATE if answer.get("duplicate") else Outcome.FILLED
            position = answer.get("position", {})
            return Execution(signal, outcome, fill,
                             f"@ {fill['price']} → position {position.get('quantity')}")
        if response.status_code == 409:
            return Execution(signal, Outcome.CONFLICT, fill, response.text[:200])
        if response.status_code in (401, 403):
            raise KeyRefused(f"POST /v1/fills: {response.status_code} {response.text[:200]}")
        return Execution(signal, Outcome.REJECTED, fill,
                         f"{response.status_code} {response.text[:200]}")

    async def _post_fill(self, fill: dict[str, Any]) -> httpx.Response:
        backoff = 0.1
        while True:
            try:
                response = await self.http.post("/v1/fills", json=fill)
            except httpx.TransportError as exc:
                raise_if_cancelling()
                log.warning("fill %s: service unreachable (%s); retrying", fill["exec_id"],
                            type(exc).__name__)
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response
                log.warning("fill %s: service answered %d; retrying", fill["exec_id"],
                            response.status_code)
                retry_after = response.headers.get("retry-after")
                if retry_after and retry_after.isdigit():
                    backoff = max(backoff, float(retry_after))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, RETRY_MAX_S)


async def run_paper_bot(source: SignalSource, bot: PaperBot) -> None:
    """Execute every signal `source` delivers, acknowledging each once the service has
    answered its fill. Runs until cancelled; closes the source."""
    try:
        while True:
            for delivery in await source.next_batch():
                await bot.execute(delivery.signal)
                await source.ack(delivery)
                raise_if_cancelling()
    finally:
        await source.close()
