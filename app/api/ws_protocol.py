"""uvicorn's WebSocket protocol with bounded sends and closes.

uvicorn's sans-I/O WebSocket protocol writes every frame to the transport without waiting,
so a consumer that stops reading grows the server's write buffer without limit, and a close
only completes once that buffer drains — never, for a peer that does not read. Here a send
waits (at most `send_timeout_s`) while the transport's buffer is over its high-water mark —
so the feed's bounded queue fills and the consumer is dropped — and a close that the peer
does not complete within `close_timeout_s` aborts the connection."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


def bounded_websocket_protocol(send_timeout_s: float = 5.0,
                               close_timeout_s: float = 2.0) -> type[WebSocketsSansIOProtocol]:
    class BoundedWebSocketProtocol(WebSocketsSansIOProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.close_timeout = close_timeout_s

        async def send(self, message: Any) -> None:
            if self.handshake_complete and not self.writable.is_set():
                # uvicorn would wait for the buffer to drain, forever for a peer that does
                # not read — a close included
                wait = send_timeout_s if message["type"] == "websocket.send" else 0.0
                try:
                    await asyncio.wait_for(self.writable.wait(), wait)
                except TimeoutError:
                    self.transport.abort()  # the peer stopped reading: let it go now
                    if message["type"] == "websocket.close":
                        return
                    raise ClientDisconnected() from None
            await super().send(message)
            if message["type"] == "websocket.close" and self.close_timer is not None:
                self.close_timer.cancel()  # close() would wait for the buffer to drain
                self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)

    return BoundedWebSocketProtocol
