"""`python -m app demo` as a user runs it: a subprocess on a free port, in its own directory
(its journal `var/demo.db` lands there), stopped by its duration or by SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from .conftest import TEST_REDIS_URL

SUMMARY = re.compile(r"^demo: (\d+) ticks, (\d+) signals, (\d+) fills in [\d.]+s$", re.M)
RUN_TIMEOUT_S = 120  # start-up may compile the pricing kernels on a cold numba cache


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_env(**extra: str) -> dict[str, str]:
    """The caller's environment without service settings that would change the demo."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGE_")}
    return {**env, "HEDGE_LOG_LEVEL": "warning", **extra}


def demo_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "app", "demo", "--no-ui", "--seed", "11", *args]


def summary_of(output: str) -> tuple[int, int, int]:
    found = SUMMARY.findall(output)
    assert found, output[-3000:]
    ticks, signals, fills = (int(x) for x in found[-1])
    return ticks, signals, fills


def test_the_demo_hedges_fills_every_signal_and_stops_after_its_duration(tmp_path: Path):
    port = free_port()
    done = subprocess.run(demo_command("--duration", "4", "--port", str(port)), cwd=tmp_path,
                          env=demo_env(), capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert f"http://127.0.0.1:{port}" in output
    ticks, signals, fills = summary_of(done.stdout)
    assert ticks > 0 and signals > 0
    assert fills == signals, output[-3000:]  # the paper bot filled every signal
    assert (tmp_path / "var" / "demo.db").exists()
    assert "Traceback" not in output


def test_sigterm_stops_the_demo_cleanly_and_a_stale_demo_journal_is_wiped(tmp_path: Path):
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "demo.db").write_bytes(b"not a journal: the demo must wipe it")
    proc = subprocess.Popen(demo_command("--port", "0"), cwd=tmp_path, env=demo_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        assert proc.stdout is not None
        while time.monotonic() < deadline:  # until the bot's first fill shows
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if ": filled @" in line:
                break
        assert any(": filled @" in x for x in lines), "".join(lines)[-3000:]
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    output = "".join(lines) + rest
    assert proc.returncode == 0, output[-3000:]
    assert "SIGTERM: stopping" in output
    _ticks, signals, fills = summary_of(output)
    assert fills == signals > 0
    assert "Traceback" not in output


@pytest.mark.redis
def test_with_redis_configured_the_bot_trades_the_signal_stream(tmp_path: Path):
    tag = f"test:demo:{os.getpid()}:{time.time_ns()}"
    stream = f"{tag}:stream"
    env = demo_env(HEDGE_REDIS_URL=TEST_REDIS_URL, HEDGE_SIGNAL_STREAM=stream,
                   HEDGE_SIGNAL_CHANNEL=f"{tag}:channel")
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_timeout=5.0)
    try:
        done = subprocess.run(demo_command("--duration", "3", "--port", "0"), cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S,
                              check=False)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-3000:]
        assert f"redis stream {stream}" in output
        _ticks, signals, fills = summary_of(done.stdout)
        assert fills == signals > 0
        assert client.xlen(stream) == signals
        [group] = client.xinfo_groups(stream)
        assert group["pending"] == 0 and group["entries-read"] == signals
    finally:
        client.delete(stream)
        client.close()
