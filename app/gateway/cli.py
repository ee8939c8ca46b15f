"""python -m app gateway: one address in front of N shards (HEDGE_SHARDS, found in Redis)."""

from __future__ import annotations

import argparse
import logging

import uvicorn

from app.gateway.app import create_gateway
from app.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app gateway", description=__doc__)
    parser.add_argument("--host", help="overrides HEDGE_HOST")
    parser.add_argument("--port", type=int, help="overrides HEDGE_PORT")
    parser.add_argument("--shards", type=int, metavar="N", help="overrides HEDGE_SHARDS")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port),
                                   ("shards", args.shards)) if v}
    try:
        settings = Settings(**overrides)
        app = create_gateway(settings)
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level,
                timeout_keep_alive=5)
    return 0
