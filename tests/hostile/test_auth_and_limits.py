"""Auth and limits over real HTTP, against `python -m app serve` children.

- every /v1 route (walked from the app, so a new route is covered the day it is added):
  401 without a key or with an unknown one, 403 with a key that lacks the scope, neither with
  the right key; every WebSocket refused without a key or the scope;
- API keys never reach the logs (uvicorn's access and WebSocket handshake lines included);
- HEDGE_RATE_LIMIT: 429 with Retry-After past it, per key, reads unaffected;
- a client that trickles its request headers is cut off after the header timeout;
- a WebSocket consumer that stops reading is dropped once its bounded queue fills, while
  another consumer keeps receiving every signal."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets.sync.client as wsc
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.main import create_app
from app.settings import Settings
from tests.faults.harness import Service, ServiceFactory, wait_until
from tests.hostile.routes import app_routes

KEYS = {  # scope(s) -> key
    "read": "k-read-5d1c",
    "trade": "k-trade-8e2f",
    "read+trade": "k-readtrade-3a7b",
    "admin": "k-admin-9c4d",
}
API_KEYS = ",".join(f"{key}:{scopes}" for scopes, key in KEYS.items())
UNKNOWN_KEY = "k-nobody-0000"
# the contract's scopes (§6); options-plan is advisory (publishes nothing) and scenarios a
# revaluation that changes nothing, so both `read`
TRADE_ROUTES = {("POST", "/v1/ticks"), ("POST", "/v1/fills"),
                ("POST", "/v1/hedge/signals/{signal_id}/cancel")}
READ_POSTS = {("POST", "/v1/hedge/options-plan"), ("POST", "/v1/risk/scenarios")}
WS_SCOPES = {"/v1/ws/ingest": "trade", "/v1/ws/risk": "read", "/v1/ws/signals": "read",
             "/v1/ws/alerts": "read"}
WRONG_KEY_FOR = {"read": KEYS["trade"], "trade": KEYS["read"], "admin": KEYS["read+trade"]}
RIGHT_KEY_FOR = {"read": KEYS["read"], "trade": KEYS["trade"], "admin": KEYS["admin"]}


def required_scope(method: str, path: str) -> str:
    if method == "GET" or (method, path) in READ_POSTS:
        return "read"
    if (method, path) in TRADE_ROUTES:
        return "trade"
    return "admin"


def routes() -> list[tuple[str, str]]:
    app = create_app(Settings(db_path=":memory:", redis_url=None))
    out = [(m, r.path) for r in app_routes(app) if not r.websocket
           for m in sorted(r.methods - {"HEAD"}) if r.path.startswith("/v1")]
    assert ("POST", "/v1/ticks") in out and ("GET", "/v1/risk") in out
    return out


def ws_routes() -> list[str]:
    app = create_app(Settings(db_path=":memory:", redis_url=None))
    out = [r.path for r in app_routes(app) if r.websocket]
    assert set(out) == set(WS_SCOPES), f"WebSocket routes changed: {out}"
    return out


def concrete(path: str) -> str:
    return (path.replace("{symbol}", "XYZ").replace("{underlying}", "XYZ")
            .replace("{signal_id}", "nope").replace("{exec_id}", "NOPE"))


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    factory = ServiceFactory(tmp_path_factory.mktemp("keyed"))
    try:
        yield factory(api_keys=API_KEYS, redis_url=None)
    finally:
        factory.close()


# --- 401 / 403 on every route ----------------------------------------------------------------


def test_every_route_answers_401_without_a_key_and_403_without_the_scope(keyed: Service):
    wrong: list[str] = []
    # a body no route takes: with the right key the answer is 4xx, and nothing changes
    body = b'{"hostile": true}'
    with keyed.client() as http:
        for method, path in routes():
            url, scope = concrete(path), required_scope(method, path)
            content = body if method != "GET" else None
            headers = {"content-type": "application/json"}
            for label, key, expect in [("no key", None, {401}),
                                       ("unknown key", UNKNOWN_KEY, {401}),
                                       (f"a key without {scope!r}", WRONG_KEY_FOR[scope], {403})]:
                h = dict(headers, **({"x-api-key": key} if key else {}))
                r = http.request(method, url, content=content, headers=h)
                if r.status_code not in expect:
                    wrong.append(f"{method} {path} with {label}: {r.status_code}, "
                                 f"expected {sorted(expect)}")
                elif r.status_code == 401 and "apikey" not in \
                        r.headers.get("www-authenticate", "").lower():
                    wrong.append(f"{method} {path}: 401 without WWW-Authenticate")
            r = http.request(method, url, content=content,
                             headers=dict(headers, **{"x-api-key": RIGHT_KEY_FOR[scope]}))
            if r.status_code in (401, 403) or r.status_code >= 500:
                wrong.append(f"{method} {path} with the {scope!r} key: {r.status_code} {r.text}")
        for path in ("/healthz", "/readyz", "/metrics"):  # no key needed (CONTRACT §3)
            if http.get(path).status_code not in (200, 503):
                wrong.append(f"GET {path} without a key: {http.get(path).status_code}")
    assert not wrong, "\n".join(wrong)


def ws_refusal(url: str) -> str | None:
    """How a WebSocket was refused ('http 403', 'close 1008 <reason>'), or None if it was
    accepted and kept open."""
    try:
        with wsc.connect(url, proxy=None, open_timeout=5, close_timeout=1) as ws:
            try:
                ws.recv(timeout=0.5)
            except TimeoutError:
                return None  # accepted, open, nothing to say yet
            except ConnectionClosed as exc:
                rcvd = exc.rcvd
                return f"close {rcvd.code if rcvd else '?'} {rcvd.reason if rcvd else ''}"
            return None
    except InvalidStatus as exc:
        return f"http {exc.response.status_code} {exc.response.body!r}"


def test_every_websocket_is_refused_without_a_key_or_the_scope(keyed: Service):
    wrong = []
    for path in ws_routes():
        scope = WS_SCOPES[path]
        wrong_key = KEYS["trade"] if scope == "read" else KEYS["read"]
        for label, query in [("no key", ""), ("unknown key", f"?api_key={UNKNOWN_KEY}"),
                             (f"a key without {scope!r}", f"?api_key={wrong_key}")]:
            how = ws_refusal(keyed.ws + path + query)
            if how is None or not (how.startswith("http 403") or how.startswith("http 401")
                                   or how.startswith("close 1008")):
                wrong.append(f"{path} with {label}: {how or 'accepted'}")
        if (how := ws_refusal(f"{keyed.ws}{path}?api_key={KEYS[scope]}")) is not None:
            wrong.append(f"{path} with the {scope!r} key refused: {how}")
    assert not wrong, "\n".join(wrong)


def test_a_refused_websocket_is_told_why(keyed: Service):
    told = {}
    for label, query in [("no key", ""), ("wrong scope", f"?api_key={KEYS['trade']}")]:
        how = ws_refusal(keyed.ws + "/v1/ws/risk" + query) or "accepted"
        told[label] = how
    ok_close = all(h.startswith("close 1008 ") and len(h) > len("close 1008 ")
                   for h in told.values())
    ok_http = told["no key"].startswith("http 401") and told["wrong scope"].startswith(
        "http 403") and all("b''" not in h for h in told.values())
    assert ok_close or ok_http, f"refusals that do not say why: {told}"


# --- keys never in logs ------------------------------------------------------------------------


def test_api_keys_never_appear_in_the_logs(services: ServiceFactory):
    secret = "SECRET-4b1e9d2c77"
    wrong_secret = "SECRET-wrong-61f0aa"
    svc = services(api_keys=f"{secret}:read", redis_url=None, log_level="info")
    with (wsc.connect(f"{svc.ws}/v1/ws/risk?api_key={secret}", proxy=None) as ws,
          pytest.raises(TimeoutError)):
        ws.recv(timeout=0.3)  # accepted and open: nothing to say yet
    assert ws_refusal(f"{svc.ws}/v1/ws/signals?api_key={wrong_secret}") is not None
    with svc.client() as http:
        assert http.get("/v1/risk", headers={"x-api-key": secret}).status_code == 200
        assert http.get(f"/v1/risk?api_key={secret}").status_code == 401
        assert http.get("/v1/risk", headers={"x-api-key": wrong_secret}).status_code == 401
    svc.stop()  # flushes and closes the log
    log = svc.log_text()
    assert "WebSocket /v1/ws/risk" in log, f"no WebSocket handshake was logged:\n{log[-2000:]}"
    for key in (secret, wrong_secret):
        leaks = [line for line in log.splitlines() if key in line]
        assert not leaks, "an API key in the log:\n" + "\n".join(leaks)


# --- rate limit ----------------------------------------------------------------------------------


def test_past_the_rate_limit_writes_answer_429_with_retry_after_per_key(
        services: ServiceFactory):
    svc = services(api_keys=f"{KEYS['admin']}:admin,{KEYS['read+trade']}:read+trade",
                   rate_limit=5, redis_url=None)
    admin, trade = {"x-api-key": KEYS["admin"]}, {"x-api-key": KEYS["read+trade"]}
    tick = {"symbol": "NOPE", "price": 1.0}  # 404 after the limit check: changes nothing
    with svc.client() as http:
        answers = [http.post("/v1/ticks", json=tick, headers=trade) for _ in range(12)]
        limited = [r for r in answers if r.status_code == 429]
        codes = [r.status_code for r in answers]
        assert limited, f"12 writes at once under a limit of 5/s: {codes}"
        assert all(r.status_code in (404, 429) for r in answers)
        retry_after = int(limited[0].headers["retry-after"])
        assert retry_after >= 1, limited[0].headers
        assert limited[0].json()["status"] == 429
        # another key has its own bucket; reads are not limited
        assert http.post("/v1/ticks", json=tick, headers=admin).status_code == 404
        assert http.get("/v1/risk", headers=trade).status_code == 200
        # past Retry-After the key may write again
        wait_until(lambda: http.post("/v1/ticks", json=tick, headers=trade).status_code == 404,
                   retry_after + 2, "a write accepted again after Retry-After", 0.2)


# --- slow clients --------------------------------------------------------------------------------


def closed_by_server(sock: socket.socket, until: float, trickle: bytes | None) -> float | None:
    """Keep the connection (sending one byte of `trickle` every 100 ms) until the server
    closes it; return when, or None at `until`."""
    sock.settimeout(0.1)
    i = 0
    while time.monotonic() < until:
        try:
            if trickle is not None and i < len(trickle):
                sock.send(trickle[i:i + 1])
                i += 1
            data = sock.recv(4096)
            if data == b"":
                return time.monotonic()
            if data.startswith(b"HTTP/1.1 4"):  # answered 4xx (e.g. 408) and closed next
                continue
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic()
    return None


def test_a_client_trickling_its_headers_is_cut_off_after_the_header_timeout(
        services: ServiceFactory):
    header_timeout = 1.0
    svc = services(header_timeout_s=header_timeout, redis_url=None)
    endless = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 10_000
    with socket.create_connection(("127.0.0.1", svc.port)) as sock:
        t0 = time.monotonic()
        closed = closed_by_server(sock, t0 + header_timeout + 4, endless)
    assert closed is not None, f"a trickling client still connected after {4 + header_timeout} s"
    assert closed - t0 < header_timeout + 1.5, f"cut off only after {closed - t0:.1f} s"
    with socket.create_connection(("127.0.0.1", svc.port)) as sock:  # says nothing at all
        t0 = time.monotonic()
        closed = closed_by_server(sock, t0 + header_timeout + 4, None)
    assert closed is not None and closed - t0 < header_timeout + 1.5, "a silent client stays"
    with svc.client() as http:  # a prompt client is unaffected
        assert http.get("/healthz").status_code == 200


def raw_ws_connect(port: int, path: str, rcvbuf: int) -> socket.socket:
    """A WebSocket handshake on a socket with a tiny receive buffer; then the caller may
    simply never read (a consumer that stopped reading)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.connect(("127.0.0.1", port))
        sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        sock.settimeout(5)
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
    except BaseException:
        sock.close()
        raise
    return sock


def read_frames(sock: socket.socket, until: float) -> tuple[int, int | None]:
    """Read server frames until a close frame, EOF or `until`: (text frames, close code)."""
    sock.settimeout(0.5)
    buf = b""
    texts = 0

    def need(n: int) -> bool:
        nonlocal buf
        while len(buf) < n:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                if time.monotonic() > until:
                    return False
                continue
            except ConnectionResetError:
                return False
            if not chunk:
                return False
            buf += chunk
        return True

    while need(2):
        opcode, length = buf[0] & 0x0F, buf[1] & 0x7F
        head = 2
        if length == 126:
            if not need(4):
                break
            length, head = struct.unpack(">H", buf[2:4])[0], 4
        elif length == 127:
            if not need(10):
                break
            length, head = struct.unpack(">Q", buf[2:10])[0], 10
        if not need(head + length):
            break
        payload, buf = buf[head:head + length], buf[head + length:]
        if opcode == 0x1:
            texts += 1
        elif opcode == 0x8:
            return texts, struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
    return texts, None


N_UNDERLYINGS = 400


def feed_risk_until_dropped(svc: Service, slow: socket.socket,
                            fast: Any) -> tuple[int, int]:
    """Tick every underlying, again and again, until the non-reading consumer `slow` is
    dropped; then one more second. Returns (frames the reading consumer `fast` received,
    of which before the drop)."""
    names = [f"U{i:03d}" for i in range(N_UNDERLYINGS)]
    received = received_at_drop = 0
    with svc.client(timeout=30) as http:
        price, dropped_after = 100.0, None
        deadline = time.monotonic() + 60
        while dropped_after is None or time.monotonic() < dropped_after + 1.0:
            assert time.monotonic() < deadline, \
                f"a consumer that never reads is still fed after {received} frames"
            price = 101.0 if price == 100.0 else 100.0
            r = http.post("/v1/ticks", json=[{"symbol": u, "price": price} for u in names])
            assert r.json()["accepted"] == N_UNDERLYINGS, r.text[:300]
            while True:  # what the reading consumer has been sent so far
                try:
                    fast.recv(timeout=0.05)
                    received += 1
                except TimeoutError:
                    break
            if dropped_after is None and _dropped(http, "risk") >= 1:
                dropped_after = time.monotonic()
                received_at_drop = received
    return received, received_at_drop


def risk_service(services: ServiceFactory) -> Service:
    svc = services(redis_url=None)  # the default queue (HEDGE_WS_QUEUE_SIZE 1000)
    with svc.client() as http:
        for i in range(N_UNDERLYINGS):
            assert http.put(f"/v1/underlyings/U{i:03d}", json={"vol": 0.2}).is_success
    return svc


def test_a_websocket_consumer_that_stops_reading_is_dropped_while_another_keeps_receiving(
        services: ServiceFactory):
    """On /v1/ws/risk, fed by ticks on many underlyings: loopback's socket buffers hold
    megabytes, so the non-reading consumer's queue fills only after that much risk."""
    svc = risk_service(services)
    slow = raw_ws_connect(svc.port, "/v1/ws/risk", rcvbuf=4096)
    try:
        with wsc.connect(f"{svc.ws}/v1/ws/risk", proxy=None, max_queue=None) as fast:
            received, received_at_drop = feed_risk_until_dropped(svc, slow, fast)
            assert received > received_at_drop, "the reading consumer stopped receiving"
            fast.ping().wait(5)  # and it is still connected
        got, code = read_frames(slow, time.monotonic() + 15)  # it reads again at last
    finally:
        slow.close()
    assert got < received, f"the non-reading consumer was waited on: it got {got}"
    assert code in (1013, 1000, None), f"closed with {code}"
    print(f"\nslow WebSocket consumer: dropped after {got} risk frames (close {code}); the "
          f"reading one got {received} and kept receiving")


def server_holds_connection(server_port: int, client_port: int) -> bool:
    """Whether the server side of a loopback TCP connection is still ESTABLISHED or
    CLOSE_WAIT (its owner has not let go), from /proc/net/tcp."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            local, remote, state = line.split()[1:4]
            if (int(local.split(":")[1], 16) == server_port
                    and int(remote.split(":")[1], 16) == client_port
                    and state in ("01", "08")):
                return True
    return False


def test_a_dropped_consumer_that_never_reads_is_disconnected(services: ServiceFactory):
    svc = risk_service(services)
    slow = raw_ws_connect(svc.port, "/v1/ws/risk", rcvbuf=4096)
    client_port = slow.getsockname()[1]
    try:
        with wsc.connect(f"{svc.ws}/v1/ws/risk", proxy=None, max_queue=None) as fast:
            feed_risk_until_dropped(svc, slow, fast)
            assert server_holds_connection(svc.port, fast.local_address[1]), \
                "/proc/net/tcp does not show the open reading consumer: the probe is broken"
        wait_until(lambda: not server_holds_connection(svc.port, client_port), 8,
                   "the server letting go of the dropped consumer")
    finally:
        slow.close()


def _dropped(http: httpx.Client, feed: str) -> float:
    for line in http.get("/metrics").text.splitlines():
        if line.startswith("dynhedge_ws_dropped_total") and f'feed="{feed}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0
