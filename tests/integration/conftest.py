"""A real service on a loopback port, with a real Redis, for the whole-loop tests."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import uvicorn

from app.main import create_app
from app.serve import server_options
from app.settings import Settings
from tests.api.conftest import CLOCK

REDIS_URL = os.environ.get("HEDGE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    base: str
    ws: str
    settings: Settings
    redis: redis.Redis


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:  # scripts/test always provides one; say so plainly
        pytest.fail(f"no Redis at {REDIS_URL}: {exc}")
    yield client
    client.close()


def start_service(settings: Settings) -> tuple[uvicorn.Server, threading.Thread]:
    options = {**server_options(settings, "127.0.0.1", settings.port), "log_level": "warning"}
    config = uvicorn.Config(create_app(settings, CLOCK), **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("service did not start")
        time.sleep(0.02)
    return server, thread


@pytest.fixture
def service(redis_client: redis.Redis, tmp_path: Path) -> Iterator[Service]:
    tag = uuid.uuid4().hex[:8]
    settings = Settings(
        port=free_port(),
        redis_url=REDIS_URL,
        db_path=str(tmp_path / "journal.db"),
        signal_channel=f"test:{tag}:signals",
        signal_stream=f"test:{tag}:stream",
    )
    server, thread = start_service(settings)
    base = f"http://127.0.0.1:{settings.port}"
    try:
        yield Service(base, f"ws://127.0.0.1:{settings.port}", settings, redis_client)
    finally:
        server.should_exit = True
        thread.join(10)
        redis_client.delete(settings.signal_stream)
