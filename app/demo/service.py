"""The service run in-process, in the caller's asyncio loop (the demo, and tests that need a
real HTTP and WebSocket endpoint): uvicorn on a socket bound beforehand, so the port is known
— and free — before anything connects."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
from collections.abc import AsyncIterator, Generator

import uvicorn

from app.main import create_app
from app.serve import server_options
from app.settings import Settings

log = logging.getLogger("dynhedge.demo.service")
START_TIMEOUT_S = 180.0  # a first run compiles the pricing kernels (numba)
STOP_TIMEOUT_S = 5


class InProcessServer(uvicorn.Server):
    """uvicorn that leaves SIGINT and SIGTERM to its host, which decides how to stop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    def install_signal_handlers(self) -> None:  # uvicorn before 0.29
        return None


def bind_listener(host: str, port: int, *, any_free_port: bool = False) -> socket.socket:
    """A TCP socket bound to (host, port), for uvicorn to listen on. Port 0 binds any free
    port; with `any_free_port`, a port already taken falls back to any free one."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or not any_free_port:
            sock.close()
            raise
        sock.bind((host, 0))
    sock.set_inheritable(False)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def running_service(settings: Settings, sock: socket.socket, *,
                          start_timeout_s: float = START_TIMEOUT_S) -> AsyncIterator[str]:
    """Serve `create_app(settings)` on `sock` until the block exits; yields the base URL
    once the service is up (its lifespan has restored the journal and warmed the kernels),
    or raises TimeoutError after `start_timeout_s`. On exit, open connections get
    `STOP_TIMEOUT_S` to finish; the socket is closed."""
    host, port = sock.getsockname()[:2]
    options = {
        **server_options(settings, host, port),  # the same protocols as `python -m app serve`
        "log_config": None,  # the host configures logging
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": STOP_TIMEOUT_S,
    }
    config = uvicorn.Config(create_app(settings), **options)
    server = InProcessServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="service")
    try:
        async with asyncio.timeout(start_timeout_s):
            while not server.started:
                if task.done():
                    task.result()  # raises what stopped it
                    raise RuntimeError("the service stopped during start-up")
                await asyncio.sleep(0.02)
        yield base_url(sock)
    finally:
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT_S + 2.0)
        except TimeoutError:
            log.error("the service did not stop in %ss: closing its connections", STOP_TIMEOUT_S)
            server.force_exit = True
            try:
                await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT_S)
            except TimeoutError:
                log.error("the service still runs: cancelling it")
                task.cancel()
                await asyncio.wait({task}, timeout=STOP_TIMEOUT_S)
        sock.close()
