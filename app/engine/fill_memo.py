"""What the idempotency of fills needs in memory: for the most recent fills by exec_id, a
digest of the payload (a repeat must be the same fill) and the answer given, bounded and
compact. An older exec_id is looked up in the journal (the `fills` table keeps every one),
so memory stays flat however long the service runs.

Bound: `DEFAULT_SIZE` fills (≈ 0.4 KB each with the exec_id: ≈ 20 MB; the payload itself
and the answer as a dict took ≈ 0.85 KB). Safe at any size: a miss is looked up in the
journal once the memo no longer holds every fill ever taken; the size only decides which
repeats are answered without that lookup — a client's retry comes within seconds, and
50,000 fills are minutes of the heaviest load measured (300 fills/s)."""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Any, NamedTuple

from app.codec import dumps, kept, loads

DEFAULT_SIZE = 50_000


def payload_key(payload: str) -> bytes:
    """A 16-byte digest of a fill's payload: equal payloads, equal keys; different ones
    collide with probability 2⁻¹²⁸."""
    return hashlib.blake2b(payload.encode(), digest_size=16).digest()


class Recalled(NamedTuple):
    """A fill taken before: its payload's key and the answer given (None: lost in a crash)."""

    key: bytes
    answer: dict[str, Any] | None

    @classmethod
    def of(cls, payload: str, answer: dict[str, Any] | None) -> Recalled:
        return cls(payload_key(payload), answer)

    def same_fill(self, payload: str) -> bool:
        return self.key == payload_key(payload)


class FillMemo:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._fills: dict[str, tuple[bytes, bytes | None]] = {}
        self._order: deque[str] = deque()  # exec_ids, oldest first
        # True while it holds every fill ever taken: a miss is then a new exec_id, and the
        # journal need not be asked
        self.complete = True

    def get(self, exec_id: str) -> Recalled | None:
        kept_fill = self._fills.get(exec_id)
        if kept_fill is None:
            return None
        key, answer = kept_fill
        return Recalled(key, None if answer is None else loads(answer))

    def put(self, exec_id: str, payload: str, answer: dict[str, Any] | None) -> None:
        if exec_id not in self._fills:
            self._order.append(exec_id)
        self._fills[exec_id] = (payload_key(payload),
                                None if answer is None else kept(dumps(answer)))
        while len(self._order) > self.size:
            del self._fills[self._order.popleft()]
            self.complete = False

    def __len__(self) -> int:
        return len(self._fills)
