"""Which shard owns an underlying: the one rule every process (shards, gateway, a feed handler
in any language) applies alike.

The owner of underlying `U` among `N` shards is `crc32(U.encode("utf-8")) mod N` — CRC-32 as in
zlib, gzip, PNG, Java's `java.util.zip.CRC32`, Go's `hash/crc32.ChecksumIEEE` (an unsigned 32-bit
value). `U` is the underlying exactly as the book files it (`XYZ`, `SPX`, a future's own symbol
for options on that future). Options, futures, convertibles and hedge instruments belong to
their underlying's shard. A symbol alone names its underlying when it is an OCC option symbol
(its root) or an underlying itself; an instrument with another id says its underlying in its
own `underlying` field.

Shards are numbered 0..N-1 and written `K/N` (`HEDGE_SHARD=1/3`)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from app.domain.instrument import looks_like_occ, parse_occ


def shard_of(underlying: str, count: int) -> int:
    """The shard (0..count-1) that owns `underlying`."""
    return zlib.crc32(underlying.encode("utf-8")) % count


def underlying_of(symbol: str) -> str:
    """The underlying a bare symbol names: an OCC option's root, else the symbol itself."""
    text = symbol.strip()
    if looks_like_occ(text):
        try:
            inst = parse_occ(text)
        except ValueError:
            return text
        if inst is not None:
            return inst.underlying
    return text


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `index` of `count`."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`K/N` with 0 ≤ K < N; ValueError naming the shape otherwise."""
        k, sep, n = text.strip().partition("/")
        try:
            index, count = int(k), int(n)
        except ValueError:
            raise ValueError(f"shard: expected K/N (e.g. 0/2), got {text!r}") from None
        if not sep or count < 1 or not 0 <= index < count:
            raise ValueError(f"shard: expected K/N with 0 <= K < N, got {text!r}")
        return cls(index, count)

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    def owner(self, underlying: str) -> int:
        return shard_of(underlying, self.count)

    def owns(self, underlying: str) -> bool:
        return shard_of(underlying, self.count) == self.index


def shard_stream(base: str, index: int) -> str:
    """Shard `index`'s signal stream: `hedge:signals:stream:{K}` — the braces are part of the
    name, a Redis Cluster hash tag, so every shard's stream may sit on its own node."""
    return f"{base}:{{{index}}}"
