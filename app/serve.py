"""python -m app serve: run the service with uvicorn (one process: the book lives here)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import uvicorn

from app.api import logs
from app.api.header_timeout import protocol_with_header_timeout
from app.api.ws_protocol import bounded_websocket_protocol
from app.main import create_app
from app.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app serve", description=__doc__)
    parser.add_argument("--host", help="overrides HEDGE_HOST")
    parser.add_argument("--port", type=int, help="overrides HEDGE_PORT")
    parser.add_argument("--shard", metavar="K/N",
                        help="run shard K of N (overrides HEDGE_SHARD; docs/contract.md)")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port),
                                   ("shard", args.shard)) if v}
    try:
        settings = Settings(**overrides)
    except ValueError as exc:
        parser.error(str(exc))
    host, port = settings.host, settings.port
    # the journal thread and the event loop share the GIL: hand it over every 0.5 ms, not
    # every 5 ms, or a signal waits up to a whole switch interval behind a journal write
    sys.setswitchinterval(0.0005)
    logs.install()  # no API key and no raw client text in any log record
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(create_app(settings), **server_options(settings, host, port))
    return 0


def server_options(settings: Settings, host: str, port: int) -> dict[str, Any]:
    """uvicorn options: one process (the book lives in it), WebSocket frames capped at the
    body limit (1009 past it), idle and header timeouts against slow clients."""
    return {
        "host": host,
        "port": port,
        "log_level": settings.log_level,
        "ws_max_size": settings.max_body_bytes,
        "timeout_keep_alive": 5,
        "http": protocol_with_header_timeout(settings.header_timeout_s),
        "ws": bounded_websocket_protocol(),
    }
