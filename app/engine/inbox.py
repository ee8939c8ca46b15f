"""The conflating inbox: underlyings waiting for a recompute, oldest first.

Marking an underlying that already waits keeps its place: however many ticks arrive, it is
recomputed once, with the latest state, in its turn — the latest tick per underlying wins and
a busy underlying cannot starve a quiet one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator


class Inbox:
    __slots__ = ("_waiting",)

    def __init__(self) -> None:
        self._waiting: dict[str, None] = {}

    def add(self, underlying: str) -> None:
        self._waiting.setdefault(underlying, None)

    def update(self, underlyings: Iterable[str]) -> None:
        for u in underlyings:
            self._waiting.setdefault(u, None)

    def each_waiting(self, underlyings: list[str]) -> list[bool]:
        """Whether each of `underlyings` waits now."""
        return list(map(self._waiting.__contains__, underlyings))

    def discard(self, underlying: str) -> None:
        self._waiting.pop(underlying, None)

    def oldest(self) -> str:
        return next(iter(self._waiting))

    def clear(self) -> None:
        self._waiting.clear()

    def __contains__(self, underlying: object) -> bool:
        return underlying in self._waiting

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._waiting))

    def __len__(self) -> int:
        return len(self._waiting)
