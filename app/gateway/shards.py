"""The gateway's view of the shards: their addresses (the registry in Redis, re-read at most
every `refresh_s`) and one pooled aiohttp session to talk to them.

A shard is down when it has no live record (its lease expired or it withdrew) or when the
connection to its address fails; either way the request is answered 503 naming the shard.

aiohttp rather than httpx for the forwarding: on the tick path the client is most of the
gateway's cost, and aiohttp's (C-parsed) request costs a fraction of httpx's (`python -m app
bench --section shards`). Pooled connections are dropped after `KEEPALIVE_S` idle, before
the shards' own keep-alive timeout (5 s) closes them, so a request is never sent into a
connection the shard is closing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from app.adapters.shard_registry import ShardRegistry

FORWARDED = ("x-api-key", "content-type", "accept")
KEEPALIVE_S = 4.0  # under the shards' (uvicorn's) timeout_keep_alive of 5 s


class ShardDown(Exception):
    def __init__(self, index: int, count: int, reason: str) -> None:
        super().__init__(f"shard {index}/{count} is unavailable: {reason}")
        self.index = index
        self.label = f"{index}/{count}"
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Answer:
    index: int
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return orjson.loads(self.body) if self.body else None


class ShardMap:
    def __init__(self, registry: ShardRegistry, count: int, timeout_s: float = 5.0,
                 refresh_s: float = 0.25) -> None:
        self.registry = registry
        self.count = count
        self.refresh_s = refresh_s
        self.timeout_s = timeout_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(1.0, timeout_s))
        self._session: aiohttp.ClientSession | None = None  # made on the running loop
        self._records: list[dict[str, Any] | None] = [None] * count
        self._read_at = -1e9  # below 0: the map must be read before it is used
        self._refreshing: asyncio.Task[None] | None = None
        self.registry_problem: str | None = None

    async def records(self) -> list[dict[str, Any] | None]:
        """The shards' records. Older than `refresh_s`, they are re-read in the background
        and the request goes on with the ones it has (no Redis round trip on the request
        path); only a map never read, or dropped after a shard failed, is waited for."""
        if time.monotonic() - self._read_at >= self.refresh_s:
            if self._refreshing is None or self._refreshing.done():
                self._refreshing = asyncio.create_task(self._refresh(), name="shard-map")
            if self._read_at < 0:
                await asyncio.shield(self._refreshing)
        return self._records

    async def _refresh(self) -> None:
        try:
            self._records = await self.registry.lookup(self.count)
            self.registry_problem = None
        except Exception as exc:  # keep the last known map; say so on /readyz
            self.registry_problem = f"registry unreachable: {type(exc).__name__}"
        self._read_at = time.monotonic()

    async def url(self, index: int) -> str:
        record = (await self.records())[index]
        if record is None:
            raise ShardDown(index, self.count, "not registered (no live lease)")
        return str(record["url"]).rstrip("/")

    async def send(self, index: int, method: str, path: str, headers: dict[str, str],
                   body: bytes | None = None, params: Any = None) -> Answer:
        """One request to shard `index`; ShardDown when it cannot be reached."""
        base = await self.url(index)
        try:
            async with self._http().request(method, base + path, data=body, params=params,
                                            headers=headers) as r:
                content = await r.read()
                kept = {k: v for k, v in r.headers.items() if k.lower() == "retry-after"}
                return Answer(index, r.status, content, kept)
        except TimeoutError:
            raise ShardDown(index, self.count, "no answer in time") from None
        except aiohttp.ClientError as exc:  # refused, reset, closed, a broken answer
            self._read_at = -1e9  # look again at the registry on the next request
            raise ShardDown(index, self.count, type(exc).__name__) from None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, auto_decompress=False, raise_for_status=False,
                connector=aiohttp.TCPConnector(limit=256, limit_per_host=64,
                                               keepalive_timeout=KEEPALIVE_S))
        return self._session

    async def send_all(self, method: str, path: str, headers: dict[str, str],
                       bodies: Mapping[int, bytes | None] | None = None,
                       params: Any = None) -> list[Answer | ShardDown]:
        """The same request (or each shard's own body) to every shard (or those in
        `bodies`), concurrently; a shard that is down comes back as its ShardDown."""
        targets = range(self.count) if bodies is None else sorted(bodies)

        async def one(k: int) -> Answer | ShardDown:
            try:
                return await self.send(k, method, path, headers,
                                       None if bodies is None else bodies[k], params)
            except ShardDown as down:
                return down

        return list(await asyncio.gather(*(one(k) for k in targets)))

    async def close(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()
        if self._session is not None:
            await self._session.close()
        await self.registry.close()
