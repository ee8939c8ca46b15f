"""`python -m app demo` as a user runs it: a subprocess on a free port, in its own directory
(its journal `var/demo.db` lands there), stopped by its duration or by a signal — with its
stdout a pipe (as under `| tee` or a log shipper), a pipe whose reader goes away, or a
terminal."""

from __future__ import annotations

import os
import pty
import re
import signal
import socket
import subprocess
import sys
import threading
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


def demo_command(*args: str, ui: bool = False) -> list[str]:
    """The demo's command line; without `ui`, --no-ui."""
    return [sys.executable, "-m", "app", "demo", *([] if ui else ["--no-ui"]), "--seed", "11",
            *args]


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


STATUS = re.compile(r"ticks \d+  signals \d+  fills \d+ \|")
TABLE_CHARS = set("┏┃┡│└━")


def read_until_fills(proc: subprocess.Popen[str], fills: int, *,
                     then_close: bool = False) -> list[str]:
    """The lines of the demo's stdout until `fills` fill lines and two status lines have
    come (then close stdout when `then_close`), read in a thread: a demo that prints nothing
    until it ends is killed after RUN_TIMEOUT_S rather than hanging the test."""
    assert proc.stdout is not None
    stdout = proc.stdout
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        for line in stdout:
            lines.append(line)
            if (sum(": filled @" in x for x in lines) >= fills
                    and sum(bool(STATUS.search(x)) for x in lines) >= 2):
                break
        if then_close:
            stdout.close()
        done.set()

    threading.Thread(target=read, daemon=True).start()
    if not done.wait(RUN_TIMEOUT_S):
        proc.kill()  # its stdout ends: so does the reader
        done.wait(10)
    return lines


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_piped_the_demo_prints_plain_lines_as_it_goes_and_a_stop_signal_ends_it_with_0(
        tmp_path: Path, stop: signal.Signals):
    """stdout a pipe, as under `scripts/demo | tee demo.log`, and no --no-ui: status and fill
    lines arrive while it runs (read before the signal is sent), never a table; Ctrl-C or
    SIGTERM ends it with its summary and exit status 0. A stale demo journal is wiped."""
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "demo.db").write_bytes(b"not a journal: the demo must wipe it")
    proc = subprocess.Popen(demo_command("--port", "0", ui=True), cwd=tmp_path,
                            env=demo_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        before = "".join(read_until_fills(proc, fills=2))
        assert proc.poll() is None, f"no lines until the end: {before[-3000:]}"
        proc.send_signal(stop)
        rest, errors = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    output = before + rest
    assert proc.returncode == 0, (output + errors)[-3000:]
    assert sum(": filled @" in x for x in before.splitlines()) >= 2, before[-3000:]
    assert sum(bool(STATUS.search(x)) for x in before.splitlines()) >= 2, before[-3000:]
    assert not TABLE_CHARS & set(output), output[-3000:]
    assert "Ctrl-C stops the demo" not in output
    assert f"{stop.name}: stopping" in output
    last = output.rstrip("\n").splitlines()[-1]
    assert SUMMARY.fullmatch(last), output[-3000:]
    _ticks, signals, fills = summary_of(output)
    assert fills == signals > 0
    assert "Traceback" not in output + errors


def test_when_the_pipe_reader_dies_with_the_ctrl_c_the_summary_goes_to_stderr_and_exit_is_0(
        tmp_path: Path):
    """`scripts/demo | tee demo.log` and Ctrl-C: the terminal sends SIGINT to tee too, which
    exits first. Here: the reader closes its end of the pipe, then SIGINT."""
    proc = subprocess.Popen(demo_command("--port", "0", ui=True), cwd=tmp_path,
                            env=demo_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        before = "".join(read_until_fills(proc, fills=1, then_close=True))
        assert proc.poll() is None, f"no lines until the end: {before[-3000:]}"
        proc.send_signal(signal.SIGINT)
        _, errors = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, errors[-3000:]
    _ticks, signals, fills = summary_of(errors)
    assert fills == signals > 0
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors[-3000:]


def test_a_stop_signal_during_start_up_still_ends_the_demo_with_its_summary_and_0(
        tmp_path: Path):
    proc = subprocess.Popen(demo_command("--port", "0", ui=True), cwd=tmp_path,
                            env=demo_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        time.sleep(0.3)  # still importing: no event loop yet
        proc.send_signal(signal.SIGTERM)
        output, errors = proc.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, (output + errors)[-3000:]
    assert "SIGTERM: stopping" in output
    summary_of(output)
    assert "Traceback" not in output + errors


def test_on_a_terminal_the_demo_draws_its_table_and_ctrl_c_ends_it_with_0(tmp_path: Path):
    """stdout a pseudo-terminal: the live table, and Ctrl-C ends it with the summary."""
    controller, terminal = pty.openpty()
    env = demo_env(TERM="xterm-256color", COLUMNS="120", LINES="50")
    proc = subprocess.Popen(demo_command("--port", "0", ui=True), cwd=tmp_path, env=env,
                            stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    received = bytearray()

    def read_terminal() -> None:  # keep reading, or the demo blocks on a full terminal
        while True:
            try:
                data = os.read(controller, 65536)
            except OSError:  # EIO once the demo has exited
                return
            if not data:
                return
            received.extend(data)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline and received.count(b"filled") < 2:
            time.sleep(0.1)
        assert proc.poll() is None, received.decode(errors="replace")[-3000:]
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        reader.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(controller)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", received.decode(errors="replace"))
    screen = screen.replace("\r\n", "\n")
    assert proc.returncode == 0, screen[-3000:]
    assert TABLE_CHARS & set(screen), screen[-3000:]
    _ticks, signals, fills = summary_of(screen)
    assert fills == signals > 0
    assert "Traceback" not in screen


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
