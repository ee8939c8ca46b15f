"""A pure ASGI middleware that reads a request's whole body before any route sees it, within
two limits: its size (413; a Content-Length over the limit is refused without reading a byte)
and its time (408 when the whole body has not arrived `timeout_s` after the headers — a
client that trickles its body, even a byte a second, holds a connection that long at most).
Both answers close the connection. The request gate (`app.api.gate`) runs before this one, so
only a client with a valid key gets this far."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.responses import refuse


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    if int(value) > self.max_bytes:
                        await self._too_large(send)
                        return
                except ValueError:
                    pass
        try:
            async with asyncio.timeout(self.timeout_s):
                whole = await self._read(receive)
        except TimeoutError:
            await refuse(send, 408, f"request body not complete in {self.timeout_s:g} s")
            return
        except _TooLarge:
            await self._too_large(send)
            return
        if whole is None:  # the client left
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                raise _TooLarge
            chunks.append(body)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, send: Send) -> None:
        await refuse(send, 413, f"request body over {self.max_bytes} bytes")


class _TooLarge(Exception):
    pass
