"""kill -9 of the service while fills are posted, then a restart on the same journal.

The promise (CONTRACT §3 fills, §5 seq): a fill answered 200 was journaled first, so it is in
the book after any crash — exactly once —, its exec_id stays a duplicate forever, and the
service says ready only once the book is restored. Halts, policies and the signal seq
counter live in the journal too, so they survive a crash and the next signal's seq follows
the last one ever published."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import redis

from tests.faults.harness import (
    Service,
    ServiceFactory,
    get,
    occ_call,
    signals,
    wait_stream_is_log,
    wait_until,
)

pytestmark = [pytest.mark.faults]

SEED = 20_261_124
CALL = occ_call("XYZ")
SYMBOLS = ("XYZ", CALL)
START_QUANTITY = {CALL: 100.0}  # the start-of-day book


# --- a desk posting fills, and what it knows of them ----------------------------------------


@dataclass
class Ledger:
    """What the clients know: fills answered 200, and fills whose answer never came (the
    service died while they were sent, or before)."""

    acked: dict[str, dict[str, Any]] = field(default_factory=dict)
    unknown: dict[str, dict[str, Any]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def acked_count(self) -> int:
        with self.lock:
            return len(self.acked)


def signed(fill: dict[str, Any]) -> float:
    return float(fill["quantity"]) * (1 if fill["side"] == "buy" else -1)


def book_of(fills: list[dict[str, Any]]) -> dict[str, float]:
    book: dict[str, float] = defaultdict(float, START_QUANTITY)
    for f in fills:
        book[f["symbol"]] += signed(f)
    return {s: q for s, q in book.items()}


def positions(http: httpx.Client) -> dict[str, float]:
    r = http.get("/v1/positions")
    assert r.status_code == 200, r.text
    return {p["symbol"]: float(p["quantity"]) for p in r.json()}


def same_book(actual: dict[str, float], expected: dict[str, float]) -> bool:
    keys = set(actual) | set(expected)
    return all(abs(actual.get(k, 0.0) - expected.get(k, 0.0)) < 1e-9 for k in keys)


def poster(svc: Service, name: str, seed: int, ledger: Ledger, stop: threading.Event) -> None:
    """Posts fills one after another until the service dies (or `stop`)."""
    rng = random.Random(seed)
    with svc.client(timeout=10) as http:
        i = 0
        while not stop.is_set():
            fill = {"exec_id": f"{name}-{i}", "symbol": rng.choice(SYMBOLS),
                    "side": rng.choice(("buy", "sell")), "quantity": rng.randint(1, 9),
                    "price": 100.0}
            i += 1
            try:
                r = http.post("/v1/fills", json=fill)
            except httpx.HTTPError:
                with ledger.lock:
                    ledger.unknown[fill["exec_id"]] = fill
                return
            with ledger.lock:
                if r.status_code == 200 and r.json()["duplicate"] is False:
                    ledger.acked[fill["exec_id"]] = fill
                else:
                    ledger.refused.append(f"{fill['exec_id']}: {r.status_code} {r.text[:200]}")


def restart_and_read_first_ready_book(svc: Service) -> tuple[dict[str, float], list[str]]:
    """Start the service and poll /readyz from the first moment the port answers; return the
    positions read right after the first 200, and the reasons of any 503 seen before it."""
    svc.start()
    not_ready: list[str] = []

    def ready_book() -> dict[str, float] | None:
        svc.raise_if_dead()
        r = get(svc.base + "/readyz", 2)
        if r.status_code != 200:
            not_ready.append(r.text)
            return None
        with svc.client() as http:
            return positions(http)

    book = wait_until(ready_book, 120, "the restarted service answering /readyz 200")
    return book, not_ready


def test_every_acknowledged_fill_survives_kill_9_exactly_once(services: ServiceFactory):
    rng = random.Random(SEED)
    svc = services(redis_url=None)
    with svc.client() as http:
        assert http.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0}).is_success
        r = http.put("/v1/positions", json=[{"symbol": CALL, "quantity": 100}])
        assert r.status_code == 200, r.text
    ledger = Ledger()
    applied: list[dict[str, Any]] = []  # every fill known to be in the book
    in_flight = landed_total = 0
    clients_per_cycle = (1, 4, 3)  # sequential first, then a few concurrent clients
    for cycle, n_clients in enumerate(clients_per_cycle):
        kill_after = rng.randint(15, 60)  # acknowledged fills of this cycle before kill -9
        ledger_before = ledger.acked_count()
        stop = threading.Event()
        threads = [threading.Thread(target=poster, daemon=True,
                                    args=(svc, f"c{cycle}t{t}", rng.randrange(2**32), ledger,
                                          stop))
                   for t in range(n_clients)]
        for t in threads:
            t.start()
        target = ledger_before + kill_after
        wait_until(lambda n=target: ledger.acked_count() >= n, 30,
                   f"cycle {cycle}: {kill_after} acknowledged fills")
        svc.kill9()
        stop.set()
        for t in threads:
            t.join(15)
            assert not t.is_alive(), "a client did not notice the service died"
        assert not ledger.refused, f"fills refused: {ledger.refused}"
        with ledger.lock:
            acked_now = list(ledger.acked.values())
            unknown = dict(ledger.unknown)
            ledger.unknown.clear()
        applied += [f for f in acked_now if f not in applied]

        first_book, not_ready = restart_and_read_first_ready_book(svc)
        with svc.client() as http:
            # which in-flight fills had landed before the kill: the service knows them
            landed, now_applied = [], []
            for fill in unknown.values():
                r = http.post("/v1/fills", json=fill)
                assert r.status_code == 200, r.text
                (landed if r.json()["duplicate"] else now_applied).append(fill)
            assert same_book(first_book, book_of(applied + landed)), (
                f"cycle {cycle}: the book at the first /readyz 200 is not the acknowledged "
                f"fills ({len(applied)}) plus the in-flight ones that landed ({len(landed)}): "
                f"{first_book} != {book_of(applied + landed)}; 503s before: {not_ready[:3]}")
            applied += landed + now_applied
            in_flight += len(unknown)
            landed_total += len(landed)
            assert same_book(positions(http), book_of(applied)), f"cycle {cycle}"

    with svc.client() as http:
        for exec_id, fill in ledger.acked.items():
            r = http.post("/v1/fills", json=fill)
            assert r.status_code == 200 and r.json()["duplicate"] is True, (exec_id, r.text)
        some = next(iter(ledger.acked.values()))
        r = http.post("/v1/fills", json={**some, "quantity": some["quantity"] + 1})
        assert r.status_code == 409, r.text
        assert same_book(positions(http), book_of(applied)), "a re-post changed the book"
    print(f"\nkill -9: {len(clients_per_cycle)} cycles, {len(ledger.acked)} acknowledged fills "
          f"all present exactly once; {in_flight} in flight at the kills, {landed_total} of "
          "them journaled before it")


# --- halts, policies and the seq counter ------------------------------------------------------


def tick(http: httpx.Client, price: float) -> None:
    r = http.post("/v1/ticks", json={"symbol": "XYZ", "price": price})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text


@pytest.mark.redis
def test_a_halt_a_policy_and_the_signal_seq_survive_kill_9(services: ServiceFactory,
                                                          shared_redis: redis.Redis):
    from tests.faults.conftest import SHARED_REDIS_URL

    svc = services(redis_url=SHARED_REDIS_URL)
    stream = svc.env["HEDGE_SIGNAL_STREAM"]
    policy = {"mode": "band", "band": 100.0, "pending_ttl_s": 600.0, "max_signals_per_s": 50.0,
              "min_order": 1.0, "cost_per_share": 0.02}
    try:
        with svc.client() as http:
            assert http.put("/v1/underlyings/XYZ", json={"vol": 0.2}).is_success
            assert http.put("/v1/positions", json=[{"symbol": CALL, "quantity": 100}]).is_success
            assert http.put("/v1/hedge/policies/XYZ", json=policy).is_success
            # a burst of signals: each tick hedges, each cancel frees the exposure again
            for i in range(6):
                tick(http, 100.0 + 0.5 * i)
                sig = wait_until(lambda n=i: len(s := signals(http)) > n and s[-1], 5,
                                 f"signal {i + 1}")
                assert http.post(f"/v1/hedge/signals/{sig['id']}/cancel").is_success
            tick(http, 99.0)  # one more, left pending over the crash
            last = wait_until(lambda: len(s := signals(http)) == 7 and s[-1], 5, "signal 7")
            assert http.post("/v1/hedge/halt", json={}).json() == {"halted": "all"}
            before = http.get("/v1/hedge/policies").json()["XYZ"]
            pending_before = http.get("/v1/risk/XYZ").json()["pending"]
            wait_until(lambda: len(shared_redis.xrange(stream)) == 7, 5, "7 signals on Redis")

        svc.kill9()
        svc.start()
        svc.wait_ready()
        with svc.client() as http:
            after = http.get("/v1/hedge/policies").json()["XYZ"]
            assert {k: after[k] for k in policy} == {k: before[k] for k in policy}, \
                "the policy changed over the crash"
            assert after["state"]["halted"] is True, "the halt did not survive kill -9"
            assert http.get("/v1/risk/XYZ").json()["pending"] == pending_before, \
                "the pending signal did not survive kill -9"
            assert [s["seq"] for s in signals(http)] == list(range(1, 8))

            halted_before = after["state"]["quiet"].get("halted", 0)
            tick(http, 97.0)  # halted: no signal, however far delta moved
            wait_until(lambda: http.get("/v1/hedge/policies").json()["XYZ"]["state"]["quiet"]
                       .get("halted", 0) > halted_before, 5, "a decision not to hedge: halted")
            assert len(signals(http)) == 7, "a signal went out while halted"

            assert http.post(f"/v1/hedge/signals/{last['id']}/cancel").is_success
            assert http.post("/v1/hedge/resume", json={}).is_success
            tick(http, 97.5)  # resume or this tick hedges the exposure the cancel freed
            new = wait_until(lambda: signals(http)[7:], 5, "the first signal after the restart")
            assert new[0]["seq"] == 8, f"seq did not continue: {new[0]['seq']} after 7"
            # resume and the tick may each hedge: compare with whatever the log holds
            wait_stream_is_log(http, shared_redis, stream, 5,
                               "the stream holding every listed signal once, in order")
    finally:
        shared_redis.delete(stream)


def test_sequential_fills_are_acknowledged_durably_at_a_measured_rate(services: ServiceFactory):
    """The README figure: fills per second one client gets acknowledged, each one committed
    to the SQLite journal (WAL, synchronous=FULL) before its answer."""
    svc = services(redis_url=None)
    n = 300
    with svc.client() as http:
        assert http.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0}).is_success
        for i in range(20):  # warm the connection and the code paths
            http.post("/v1/fills", json={"exec_id": f"w{i}", "symbol": "XYZ", "side": "buy",
                                         "quantity": 1, "price": 100.0})
        t0 = time.perf_counter()
        for i in range(n):
            r = http.post("/v1/fills", json={"exec_id": f"m{i}", "symbol": "XYZ",
                                             "side": "buy" if i % 2 else "sell",
                                             "quantity": 1, "price": 100.0})
            assert r.status_code == 200, r.text
        elapsed = time.perf_counter() - t0
    rate = n / elapsed
    print(f"\nsequential fills acknowledged durably: {rate:.0f}/s "
          f"({1000 * elapsed / n:.2f} ms each, file journal, one client)")
    assert rate > 20, f"only {rate:.0f} fills/s"
