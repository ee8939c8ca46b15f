"""What reaches the log (issue 9, points 19 and 22): an API key in any spelling the server
accepts is redacted in every record — uvicorn's access log and its WebSocket handshake lines
included — and no client text can forge a line. Checked on the real log of `python -m app
serve` after real requests, and on single records for the rules themselves."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest
import websockets.sync.client as wsc
from websockets.exceptions import InvalidStatus

from app.api.logs import clean, escape, redact
from tests.faults.harness import ServiceFactory

# the names the server decodes to `api_key` (Starlette percent-decodes query names)
ACCEPTED_SPELLINGS = ["api_key", "api%5Fkey", "api%5fkey", "%61%70%69%5F%6B%65%79", "api_ke%79"]


def test_an_api_key_in_any_spelling_the_server_accepts_never_reaches_the_log(
        services: ServiceFactory):
    secrets = [f"SECRET-{i}-9f3e1c" for i in range(len(ACCEPTED_SPELLINGS))]
    svc = services(api_keys=",".join(f"{s}:read" for s in secrets), redis_url=None,
                   log_level="info")
    for name, secret in zip(ACCEPTED_SPELLINGS, secrets, strict=True):
        with wsc.connect(f"{svc.ws}/v1/ws/risk?{name}={secret}", proxy=None) as ws, \
                pytest.raises(TimeoutError):
            ws.recv(timeout=0.3)  # accepted: the server took this spelling as the key
    refused_secret = "SECRET-refused-77aa01"
    with pytest.raises(InvalidStatus):
        wsc.connect(f"{svc.ws}/v1/ws/signals?x=1&api%5Fkey={refused_secret}", proxy=None)
    with svc.client() as http:  # spellings the server does not take: logged, still hidden
        for query in (f"API_KEY={refused_secret}", f"Api%5FKey={refused_secret}",
                      f"api%255Fkey={refused_secret}", f"a=1&api+key={refused_secret}"):
            assert http.get(f"/v1/risk?{query}").status_code == 401
    svc.stop()
    log = svc.log_text()
    assert "api%5Fkey=***" in log and "WebSocket /v1/ws/risk" in log, log[-2000:]
    leaks = [line for line in log.splitlines()
             if any(s in line for s in [*secrets, refused_secret])]
    assert not leaks, "an API key in the log:\n" + "\n".join(leaks)


def test_an_id_with_a_newline_and_escapes_never_forges_a_log_line(services: ServiceFactory):
    svc = services(redis_url=None, log_level="info")
    forged = "2026-11-29 12:00:00,000 ERROR dynhedge.runner journal corrupt: forged"
    exec_id = f"E-1\n{forged}\x1b[31m"
    with svc.client() as http:
        assert http.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0}).is_success
        answers = [
            http.post("/v1/fills", json={"exec_id": exec_id, "symbol": "XYZ", "side": "buy",
                                         "quantity": 1, "price": 100.0}),
            http.post(f"/v1/fills/{quote(exec_id, safe='')}/bust"),  # a bust logs its id
        ]
    svc.stop()
    log = svc.log_text()
    assert not [line for line in log.splitlines() if line.startswith(forged[:30])], log[-2000:]
    assert "\x1b" not in log
    for r in answers:
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "exec_id", r.text


def record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("t", logging.WARNING, __file__, 1, msg, args, None)


def test_client_text_in_a_record_is_escaped_and_keys_redacted():
    r = record("fill %s busted: %s %r", "E\n2026 ERROR forged\x1b[2J\u202e", "GET /x?%61pi_key=s3",
               ValueError("bad\rline"))
    clean(r)
    text = r.getMessage()
    assert "\n" not in text and "\r" not in text and "\x1b" not in text and "\u202e" not in text
    assert "E\\n2026 ERROR forged\\x1b[2J\\u202e" in text and "%61pi_key=***" in text
    assert "s3" not in text
    multi = record("first line\n\tsecond, for %s", "a\tb")
    clean(multi)
    assert multi.getMessage() == "first line\n\tsecond, for a\\tb"  # the template's own layout
    numbers = record("%d of %.1f", 3, 2.5)
    clean(numbers)
    assert numbers.getMessage() == "3 of 2.5"


@pytest.mark.parametrize("text,expect", [
    ("/v1/ws/risk?api_key=abc&x=1", "/v1/ws/risk?api_key=***&x=1"),
    ("?API%5FKEY=abc", "?API%5FKEY=***"),
    ("?api%255Fkey=abc", "?api%255Fkey=***"),
    ("?x=1&api+key=abc;more", "?x=1&api+key=***"),
    ("?keyword=abc", "?keyword=***"),  # hidden too: better one value too many
    ("?symbol=XYZ&after=3", "?symbol=XYZ&after=3"),
    ("no pairs here", "no pairs here"),
])
def test_redact_hides_the_value_of_every_key_like_pair(text: str, expect: str):
    assert redact(text) == expect


def test_escape_leaves_printable_text_alone_and_escapes_the_rest():
    assert escape("XYZ   270219C00098000 ü €") == "XYZ   270219C00098000 ü €"
    assert escape("a\x00b\x7fc\x85d\u2028e") == "a\\x00b\\x7fc\\x85d\\u2028e"
