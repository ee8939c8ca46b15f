"""A signal subscriber in its own process, for the end-to-end latency figures.

`python -m app.bench.service_sub (--redis URL --channel NAME | --ws URL) --out PATH
[--max-s S] [--max-n N]` subscribes (the Redis channel, or a `/v1/ws/signals` URL), prints
`ready` on stdout, then stamps each signal with the wall clock as it arrives (`time.time()`,
before any parsing) until SIGTERM/SIGINT, `--max-n` signals or `--max-s` seconds. At the end
it writes one JSON object to PATH:
`{"latency_s": [...], "arrival_s": [...], "underlyings": [...], "seqs": [...]}` where
latency = arrival − the signal's `ts` (the event time of the tick that produced it, which the
bench's sender sets to its send time).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime
from types import FrameType

import orjson
import redis


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m app.bench.service_sub")
    p.add_argument("--redis")
    p.add_argument("--channel")
    p.add_argument("--ws", help="a /v1/ws/signals URL instead of Redis")
    p.add_argument("--out", required=True)
    p.add_argument("--max-s", type=float, default=120.0)
    p.add_argument("--max-n", type=int, default=1_000_000)
    args = p.parse_args(argv)

    stop = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    arrivals: list[float] = []
    payloads: list[bytes | str] = []
    if args.ws:
        _read_ws(args, arrivals, payloads, lambda: stop)
    else:
        if not (args.redis and args.channel):
            p.error("--redis and --channel, or --ws")
        _read_redis(args, arrivals, payloads, lambda: stop)

    latency, underlyings, seqs = [], [], []
    for t, raw in zip(arrivals, payloads, strict=True):
        sig = orjson.loads(raw)
        ts = datetime.fromisoformat(sig["ts"]).timestamp()
        latency.append(t - ts)
        underlyings.append(sig["underlying"])
        seqs.append(sig["seq"])
    with open(args.out, "wb") as f:
        f.write(orjson.dumps({"latency_s": latency, "arrival_s": arrivals,
                              "underlyings": underlyings, "seqs": seqs}))
    return 0


def _read_redis(args: argparse.Namespace, arrivals: list[float], payloads: list[bytes | str],
                stopped: Callable[[], bool]) -> None:
    client = redis.Redis.from_url(args.redis, socket_timeout=5)
    pubsub = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
    pubsub.subscribe(args.channel)
    # wait for the subscribe confirmation, so no signal is missed once we say ready
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        msg = pubsub.get_message(ignore_subscribe_messages=False, timeout=0.5)
        if msg and msg["type"] == "subscribe":
            break
    print("ready", flush=True)
    end = time.monotonic() + args.max_s
    get = pubsub.get_message
    now = time.time
    while not stopped() and len(arrivals) < args.max_n and time.monotonic() < end:
        msg = get(timeout=0.2)
        if msg is None:
            continue
        arrivals.append(now())
        payloads.append(msg["data"])
    pubsub.close()
    client.close()


def _read_ws(args: argparse.Namespace, arrivals: list[float], payloads: list[bytes | str],
             stopped: Callable[[], bool]) -> None:
    from websockets.sync.client import connect

    with connect(args.ws, open_timeout=10, close_timeout=2, compression=None,
                 max_size=None) as ws:
        print("ready", flush=True)
        end = time.monotonic() + args.max_s
        now = time.time
        while not stopped() and len(arrivals) < args.max_n and time.monotonic() < end:
            try:
                raw = ws.recv(timeout=0.2)
            except TimeoutError:
                continue
            arrivals.append(now())
            payloads.append(raw)


if __name__ == "__main__":
    sys.exit(main())
