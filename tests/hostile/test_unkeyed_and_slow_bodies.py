"""Bodies that would hold the server's memory, over real sockets against `python -m app serve`
(issue 9, point 18): without a valid key a request is refused from its headers — before a byte
of its body is read — and the connection closed; a body that does not arrive within
HEDGE_BODY_TIMEOUT_S is cut off with 408, however slowly it trickles."""

from __future__ import annotations

import socket
import time

from tests.faults.harness import ServiceFactory

ADMIN, READ = "k-admin-71c2", "k-read-0e93"
KEYS = f"{ADMIN}:admin,{READ}:read"
DECLARED = 1_048_576  # the whole body limit, declared and never sent


def request_head(length: int, key: str | None = None, path: str = "/v1/ticks") -> bytes:
    key_line = f"X-API-Key: {key}\r\n" if key else ""
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{key_line}"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n").encode()


def answer_and_close(sock: socket.socket, until: float) -> tuple[int | None, bool]:
    """(status of the answer or None, whether the server then closed) by `until`."""
    sock.settimeout(0.1)
    data, closed = b"", False
    while time.monotonic() < until:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        data += chunk
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None
    return status, closed


def server_holds(server_port: int, client_port: int) -> bool:
    """Whether the server's side of a loopback connection is still open (ESTABLISHED or
    CLOSE_WAIT), from /proc/net/tcp."""
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            local, remote, state = line.split()[1:4]
            if (int(local.split(":")[1], 16) == server_port
                    and int(remote.split(":")[1], 16) == client_port and state in ("01", "08")):
                return True
    return False


def test_without_a_valid_key_most_of_a_large_body_is_refused_at_once_and_the_socket_closed(
        services: ServiceFactory):
    svc = services(api_keys=KEYS, redis_url=None)
    sockets = []
    try:
        for i in range(60):  # no key, an unknown key, a key without the trade scope
            key = (None, "k-nobody", READ)[i % 3]
            sock = socket.create_connection(("127.0.0.1", svc.port))
            sockets.append((sock, key))
            sock.sendall(request_head(DECLARED, key) + b"[" * 60_000)  # and never the rest
        wrong = []
        for sock, key in sockets:
            status, closed = answer_and_close(sock, time.monotonic() + 5)
            expect = 403 if key == READ else 401
            if status != expect or not closed:
                wrong.append(f"key {key}: answered {status}, closed {closed}")
        assert not wrong, f"{len(wrong)} of {len(sockets)} held:\n" + "\n".join(wrong[:5])
        time.sleep(0.2)
        held = [s for s, _ in sockets if server_holds(svc.port, s.getsockname()[1])]
        assert not held, f"the server still holds {len(held)} refused connections"
    finally:
        for sock, _ in sockets:
            sock.close()
    with svc.client() as http:  # a client with the key is served
        r = http.post("/v1/ticks", json={"symbol": "NOPE", "price": 1.0},
                      headers={"x-api-key": ADMIN})
        assert r.status_code == 404, r.text


def test_a_body_that_trickles_in_is_cut_off_with_408_after_the_body_timeout(
        services: ServiceFactory):
    timeout_s = 1.0
    svc = services(api_keys=KEYS, redis_url=None, body_timeout_s=timeout_s)
    body = b'[' + b' ' * 998 + b']'  # valid JSON, were it ever complete
    sockets = [socket.create_connection(("127.0.0.1", svc.port)) for _ in range(20)]
    try:
        for sock in sockets:
            sock.sendall(request_head(len(body), ADMIN))
        t0 = time.monotonic()
        answered: dict[int, tuple[int | None, float]] = {}
        for sock in sockets:
            sock.settimeout(0.01)
        sent = 0
        while len(answered) < len(sockets) and time.monotonic() < t0 + timeout_s + 10:
            for i, sock in enumerate(sockets):  # a byte every 0.1 s on each, all the while
                if i in answered:
                    continue
                try:
                    sock.send(body[sent:sent + 1])
                    data = sock.recv(4096)
                except TimeoutError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    data = b""
                status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None
                answered[i] = (status, time.monotonic() - t0)
            sent += 1
            time.sleep(0.1)
        assert len(answered) == len(sockets), \
            f"{len(sockets) - len(answered)} trickling bodies still held after {timeout_s + 10} s"
        wrong = {i: a for i, a in answered.items() if a[0] != 408 or a[1] > timeout_s + 1.5}
        assert not wrong, f"answered (status, after s): {wrong}"
        assert sent < len(body), "the whole body went out: the probe proves nothing"
    finally:
        for sock in sockets:
            sock.close()
    with svc.client() as http:  # a prompt client is unaffected
        r = http.post("/v1/ticks", content=body, headers={"x-api-key": ADMIN,
                                                          "content-type": "application/json"})
        assert r.status_code == 200 and r.json() == {"accepted": 0, "rejected": []}, r.text
