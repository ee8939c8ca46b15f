"""What the idempotency of fills needs in memory: the payload and the answer of the most
recent fills by exec_id, bounded. An older exec_id is looked up in the journal (the `fills`
table keeps every one), so memory stays flat however long the service runs."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

DEFAULT_SIZE = 100_000


class FillMemo:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._fills: OrderedDict[str, tuple[str, dict[str, Any] | None]] = OrderedDict()
        # True while it holds every fill ever taken: a miss is then a new exec_id, and the
        # journal need not be asked
        self.complete = True

    def get(self, exec_id: str) -> tuple[str, dict[str, Any] | None] | None:
        return self._fills.get(exec_id)

    def put(self, exec_id: str, payload: str, answer: dict[str, Any] | None) -> None:
        self._fills[exec_id] = (payload, answer)
        self._fills.move_to_end(exec_id)
        while len(self._fills) > self.size:
            self._fills.popitem(last=False)
            self.complete = False

    def __len__(self) -> int:
        return len(self._fills)
