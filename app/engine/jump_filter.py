"""The fat-finger filter of one underlying (CONTRACT §3 `max_jump_pct`, `confirm_ticks`).

A print more than `max_jump_pct` % away from the last accepted price is held, not applied,
until `confirm_ticks` prints in all (the first held one included) confirm the new level — all
beyond the threshold on the same side — and then the latest applies; or until the market
returns within the threshold, and then the held prints are dropped and the returning print
applies."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Verdict(StrEnum):
    APPLY = "apply"  # a normal print
    HOLD = "hold"  # held as a suspected fat finger
    CONFIRM = "confirm"  # the held level is confirmed: this print applies
    RETURN = "return"  # the market came back: held prints dropped, this print applies


@dataclass(slots=True)
class JumpFilter:
    max_jump_pct: float = 10.0
    confirm_ticks: int = 3
    held: list[float] = field(default_factory=list)
    held_ts: float = float("-inf")  # event time of the latest held print
    counts: dict[str, int] = field(default_factory=dict)

    def judge(self, last_price: float | None, price: float, ts: float) -> Verdict:
        """What to do with `price` (event time `ts`) given the last applied price. Mutates the
        held prints. A repeat of a held print (no later `ts`) confirms nothing."""
        if last_price is None or last_price <= 0:
            return self._count(Verdict.APPLY)
        move = price / last_price - 1.0
        if abs(move) * 100.0 <= self.max_jump_pct:
            if self.held:
                self.counts["dropped"] = self.counts.get("dropped", 0) + len(self.held)
                self.held.clear()
                return self._count(Verdict.RETURN)
            return self._count(Verdict.APPLY)
        if self.held and (self.held[0] > last_price) != (price > last_price):
            self.counts["dropped"] = self.counts.get("dropped", 0) + len(self.held)
            self.held.clear()  # a jump the other way: start over from this print
        if self.held and ts <= self.held_ts:
            return self._count(Verdict.HOLD)
        self.held.append(price)
        self.held_ts = ts
        if len(self.held) >= self.confirm_ticks:
            self.held.clear()
            return self._count(Verdict.CONFIRM)
        return self._count(Verdict.HOLD)

    def _count(self, v: Verdict) -> Verdict:
        self.counts[v.value] = self.counts.get(v.value, 0) + 1
        return v
