"""A hostile corpus schemathesis never sends, as raw bytes, to every write route — singly, inside
batches and over the ingest WebSocket: non-finite and out-of-range numbers, wrong types, stale,
out-of-order, duplicated and future ticks, unknown symbols and fields, huge strings, deep
nesting, invalid UTF-8, empty and oversized bodies, bad fills and a reused exec_id.

Each one must be answered 4xx (422 naming the field and the reason; 404 for an unknown
symbol; 409 for a reused exec_id; 413 over the body limit), or 200 with every item rejected
for a batch — never a 5xx, never a state change (risk, positions, signals, policies and
underlyings compared before and after each input), never a signal.

Defects this corpus found (deep nesting, invalid UTF-8, lax coercion, duplicated prints
confirming a fat-finger jump, an unbounded signal cursor, unchecked path symbols, union error
names, binary frames) each keep a test of their own at the bottom."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import websockets.sync.client as wsc
from fastapi.testclient import TestClient
from websockets.exceptions import ConnectionClosed

from app.main import create_app
from app.settings import Settings
from tests.faults.harness import ServiceFactory
from tests.hostile.routes import app_routes

CALL = "XYZ   270219C00098000"
MAX_BODY = 1_048_576
SKEW_S = 5.0
JSON = {"content-type": "application/json"}


# --- the service under attack ------------------------------------------------------------------


@dataclass
class Desk:
    client: TestClient
    t0: float  # event time of the last accepted ticks
    signal_id: str

    def snapshot(self) -> dict[str, Any]:
        """Everything a rejected input must leave as it was."""
        c = self.client
        return {
            "risk": c.get("/v1/risk").json(),
            "positions": c.get("/v1/positions").json(),
            "signals": c.get("/v1/hedge/signals", params={"limit": 10_000}).json(),
            "policies": c.get("/v1/hedge/policies").json(),
            "underlyings": c.get("/v1/underlyings").json(),
        }


@pytest.fixture(scope="module")
def desk() -> Iterator[Desk]:
    app = create_app(Settings(db_path=":memory:", redis_url=None, api_keys=None,
                              rate_limit=None, max_body_bytes=MAX_BODY,
                              max_clock_skew_s=SKEW_S))
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.put("/v1/underlyings/XYZ", json={"vol": 0.2}).status_code == 200
        assert c.put("/v1/positions", json=[{"symbol": CALL, "quantity": 100}]).status_code == 200
        r = c.put("/v1/hedge/policies/XYZ", json={"mode": "band", "band": 100,
                                                  "pending_ttl_s": 3600})
        assert r.status_code == 200, r.text
        t0 = time.time() - 30
        r = c.post("/v1/ticks", json=[{"symbol": "XYZ", "price": 100.0, "ts": t0},
                                      {"symbol": CALL, "iv": 0.25, "ts": t0}])
        assert r.json() == {"accepted": 2, "rejected": []}, r.text
        fill = {"exec_id": "E-1", "symbol": "XYZ", "side": "buy", "quantity": 10, "price": 100}
        assert c.post("/v1/fills", json=fill).status_code == 200
        deadline = time.monotonic() + 5
        while not (signals := c.get("/v1/hedge/signals").json()):
            assert time.monotonic() < deadline, "the set-up tick produced no signal"
            time.sleep(0.01)
        yield Desk(c, t0, signals[0]["id"])


# --- the corpus ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    method: str
    path: str
    body: bytes | None
    field: str | None  # what the answer must name (detail[0].field/reason, or the item error)
    status: frozenset[int]
    label: str
    batch: bool = False  # a list answered 200 with every item rejected
    content_type: str = "application/json"

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.label}]"


def _raw(obj: dict[str, Any], **override: str) -> bytes:
    """`obj` as JSON with some values replaced by raw JSON text (NaN, 1e400, -0.0 …)."""
    parts = [f"{json.dumps(k)}:{override[k] if k in override else json.dumps(v)}"
             for k, v in obj.items()]
    parts += [f"{json.dumps(k)}:{v}" for k, v in override.items() if k not in obj]
    return ("{" + ",".join(parts) + "}").encode()


NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]
NOT_POSITIVE = ["0", "-0.0", "-1", "-1e-300"]
WRONG_TYPES = ['"abc"', "[1]", '{"v": 1}', "null"]
HUGE = json.dumps("A" * 200_000)
# control and format characters: a forged log line, a terminal colour, a bidi override
CONTROL = [json.dumps("X\n2026-01-01 ERROR forged"), json.dumps("X\u001b[31m"),
           json.dumps("X\u0085"), json.dumps("X\u007f"), json.dumps("X\u202eY")]
TOO_MANY = ["1e15", "-1e15", "1000000001"]  # past HEDGE_MAX_QUANTITY (1e9 by default)


def tick_items(t0: float) -> list[tuple[bytes, str, int, str]]:
    """(raw tick, field it must name, status of the tick sent alone, label)."""
    u = {"symbol": "XYZ", "price": 101.0, "ts": t0 + 1}
    o = {"symbol": CALL, "iv": 0.3, "ts": t0 + 1}
    q = {"symbol": "XYZ", "bid": 100.9, "ask": 101.1, "ts": t0 + 1}
    out: list[tuple[bytes, str, int, str]] = []
    for v in [*NON_FINITE, *NOT_POSITIVE, *WRONG_TYPES]:
        out.append((_raw(u, price=v), "price", 422, f"price {v}"))
    for v in [*NON_FINITE, "0", "-0.0", "-0.5", "10.000001", "11", '"abc"']:
        out.append((_raw(o, iv=v), "iv", 422, f"iv {v}"))
    for side in ("bid", "ask"):
        for v in [*NON_FINITE, *NOT_POSITIVE, '"abc"']:
            out.append((_raw(q, **{side: v}), side, 422, f"{side} {v}"))
    out += [
        (_raw(q, bid="101.2"), "bid", 422, "bid > ask"),
        (_raw({**o, "bid": 2.0, "ask": 1.0}, iv="null"), "bid", 422, "option bid > ask"),
        (_raw(q, ask="null"), "bid", 422, "bid without ask"),
        (_raw({"symbol": "XYZ", "ts": t0 + 1}), "price", 422, "no price, iv or quote"),
        (_raw(u, symbol='"NOPE"'), "NOPE", 404, "unknown symbol"),
        (_raw(o, symbol='"NOPE  270219C00098000"'), "NOPE", 404, "option on unknown underlying"),
        (_raw(u, symbol='""'), "symbol", 422, "empty symbol"),
        (_raw(u, symbol=json.dumps("X" * 65)), "symbol", 422, "symbol of 65 chars"),
        (_raw(u, symbol=HUGE), "symbol", 422, "symbol of 200 kB"),
        (_raw(u, symbol="123"), "symbol", 422, "symbol as a number"),
        (_raw(u, symbol="null"), "symbol", 422, "symbol null"),
        (_raw(u, ts=str(t0 - 60)), "ts", 422, "stale tick (older than the last)"),
        (_raw(o, ts=str(t0 - 60)), "ts", 422, "stale option tick"),
        (_raw(u, ts=str(time.time() + SKEW_S + 60)), "ts", 422, "ts past the clock skew"),
        (_raw(u, ts='"2999-01-01T00:00:00Z"'), "ts", 422, "ISO ts in year 2999"),
        (_raw(u, ts="1e300"), "ts", 422, "ts 1e300"),
        (_raw(u, ts='"yesterday"'), "ts", 422, "ts not a timestamp"),
        (_raw(u, ts="-1"), "ts", 422, "negative ts"),
        (_raw(u, ts="0"), "ts", 422, "ts 0"),
        (_raw(u, ts='"1999-12-31T23:59:59Z"'), "ts", 422, "ts before 2000"),
        (_raw(u, ts='"9999-12-31T23:00:00-12:00"'), "ts", 422, "ts past year 9999 in UTC"),
        (_raw(u, ts='"0001-01-01T00:00:00+01:00"'), "ts", 422, "ts before year 1 in UTC"),
        *[(_raw(u, symbol=v), "symbol", 422, f"symbol {v}") for v in CONTROL],
        (_raw(u, ts="NaN"), "ts", 422, "ts NaN"),
        (_raw(u, ts="[1]"), "ts", 422, "ts as a list"),
        (_raw(u, venue='"X"'), "venue", 422, "unknown field"),
        (_raw(u, **{"__proto__": "{}"}), "__proto__", 422, "unknown field __proto__"),
        (b'"XYZ"', "body", 422, "a string, not a tick"),
    ]
    return out


def fill_items() -> list[tuple[bytes, str, int, str]]:
    f = {"exec_id": "H-1", "symbol": "XYZ", "side": "buy", "quantity": 5, "price": 100.0}
    out: list[tuple[bytes, str, int, str]] = []
    for v in [*NON_FINITE, *NOT_POSITIVE, *WRONG_TYPES]:
        out.append((_raw(f, quantity=v), "quantity", 422, f"quantity {v}"))
    for v in [*NON_FINITE, *NOT_POSITIVE, '"abc"']:
        out.append((_raw(f, price=v), "price", 422, f"price {v}"))
    for v in ['"short"', '"BUY"', '""', "null", "1"]:
        out.append((_raw(f, side=v), "side", 422, f"side {v}"))
    for v in ['""', json.dumps("x" * 129), "5", "null", HUGE]:
        out.append((_raw(f, exec_id=v), "exec_id", 422, f"exec_id {v[:12]}"))
    out += [
        (_raw({k: v for k, v in f.items() if k != "exec_id"}), "exec_id", 422, "no exec_id"),
        (_raw(f, symbol='""'), "symbol", 422, "empty symbol"),
        (_raw(f, symbol=json.dumps("S" * 65)), "symbol", 422, "symbol of 65 chars"),
        (_raw(f, ts='"garbage"'), "ts", 422, "ts not a timestamp"),
        (_raw(f, ts="-1"), "ts", 422, "negative ts"),
        (_raw(f, ts="0"), "ts", 422, "ts 0"),
        (_raw(f, ts='"9999-12-31T23:00:00-12:00"'), "ts", 422, "ts past year 9999 in UTC"),
        (_raw(f, symbol=f'"{CALL}"', expiry='"9999-12-31T23:00:00-12:00"'), "expiry", 422,
         "expiry past year 9999 in UTC"),
        (_raw(f, symbol=f'"{CALL}"', expiry="1e12"), "expiry", 422, "expiry 1e12"),
        (_raw(f, symbol=f'"{CALL}"', expiry='"2200-01-01"'), "expiry", 422, "expiry 2200"),
        *[(_raw(f, quantity=v), "quantity", 422, f"quantity {v}") for v in TOO_MANY[::2]],
        *[(_raw(f, exec_id=v), "exec_id", 422, f"exec_id {v[:8]}") for v in CONTROL],
        *[(_raw(f, signal_id=v), "signal_id", 422, f"signal_id {v[:8]}") for v in CONTROL],
        *[(_raw(f, symbol=v), "symbol", 422, f"symbol {v[:8]}") for v in CONTROL],
        (_raw(f, ts="NaN"), "ts", 422, "ts NaN"),
        (_raw(f, signal_id='""'), "signal_id", 422, "empty signal_id"),
        (_raw(f, signal_id=json.dumps("s" * 129)), "signal_id", 422, "signal_id of 129"),
        (_raw(f, type='"swap"'), "type", 422, "instrument type swap"),
        (_raw(f, symbol='"WEIRD-ID"', type='"call"'), "underlying", 422, "option without root"),
        (_raw(f, symbol='"WEIRD-ID"', type='"call"', underlying='"XYZ"', strike="0",
              expiry='"2027-02-19"'), "strike", 422, "strike 0"),
        (_raw(f, multiplier="-100"), "multiplier", 422, "negative multiplier"),
        (_raw(f, style='"bermudan"'), "style", 422, "style bermudan"),
        (_raw(f, venue='"X"'), "venue", 422, "unknown field"),
        (b"[]", "body", 422, "a list, not a fill"),
    ]
    return out


def underlying_items() -> list[tuple[bytes, str, str]]:
    """(raw body, field, label) for PUT /v1/underlyings/XYZ (and a new symbol)."""
    b = {"vol": 0.2, "spot": 100.0}
    out: list[tuple[bytes, str, str]] = []
    for v in [*NON_FINITE, "0", "-0.2", "10.5", '"abc"']:
        out.append((_raw(b, vol=v), "vol", f"vol {v}"))
    for v in [*NON_FINITE, *NOT_POSITIVE]:
        out.append((_raw(b, spot=v), "spot", f"spot {v}"))
    for name in ("rate", "div_yield"):
        for v in NON_FINITE:
            out.append((_raw(b, **{name: v}), name, f"{name} {v}"))
    for v in ["0", "-5", "NaN"]:
        out.append((_raw(b, max_jump_pct=v), "max_jump_pct", f"max_jump_pct {v}"))
    for v in ["0", "1001", "2.5", "-1"]:
        out.append((_raw(b, confirm_ticks=v), "confirm_ticks", f"confirm_ticks {v}"))
    for v, f in [('{"multiplier": 0}', "multiplier"), ('{"ratio": NaN}', "ratio"),
                 ('{"lot_size": -1}', "lot_size"), ('{"instrument": ""}', "instrument"),
                 ('"XYZ"', "hedge"), ('{"venue": 1}', "venue"),
                 ('{"lot_size": 1e15}', "lot_size"), ('{"instrument": "X\\u001b[2J"}',
                                                      "instrument")]:
        out.append((_raw(b, hedge=v), f, f"hedge {v}"))
    out += [
        (_raw({"spot": 100.0}), "vol", "no vol"),
        (_raw(b, type='"bond"'), "type", "type bond"),
        (_raw(b, volatility="0.3"), "volatility", "unknown field"),
    ]
    return out


def policy_items() -> list[tuple[bytes, str, str]]:
    p = {"mode": "band", "band": 100}
    out: list[tuple[bytes, str, str]] = []
    for name, values in [
        ("mode", ['"yolo"', "1", "null"]), ("band", ["-1", *NON_FINITE]),
        ("target_delta", NON_FINITE), ("interval_s", ["0", "-1", "NaN"]),
        ("min_order", ["-1", "Infinity"]), ("max_order", ["0", "-5"]),
        ("max_position", ["-1", "NaN"]), ("pending_ttl_s", ["0", "-1"]),
        ("stale_after_s", ["0", "-1"]), ("cost_per_share", ["-0.01", "NaN"]),
        ("risk_aversion", ["0", "-1"]), ("max_signals_per_s", ["0", "-1"]),
        ("max_notional_per_min", ["0", "Infinity"]), ("rebalance_to", ['"middle"']),
        ("reduce_only", ['"maybe"', "[]"]),
        ("min_order", TOO_MANY[::2]), ("max_order", TOO_MANY[::2]),
        ("max_position", TOO_MANY[::2]),
    ]:
        for v in values:
            out.append((_raw(p, **{name: v}), name, f"{name} {v}"))
    out.append((_raw(p, aggressive="true"), "aggressive", "unknown field"))
    return out


def corpus(t0: float) -> list[Hostile]:
    s422, s404, s409 = (frozenset({s}) for s in (422, 404, 409))
    out: list[Hostile] = []
    add = out.append
    ticks = tick_items(t0)
    for raw, field, status, label in ticks:
        add(Hostile("POST", "/v1/ticks", raw, field, frozenset({status}), label))
        add(Hostile("POST", "/v1/ticks", b"[" + raw + b"]", field, frozenset({200}),
                    f"batch of one: {label}", batch=True))
    add(Hostile("POST", "/v1/ticks", b"[" + b",".join(r for r, *_ in ticks) + b"]", None,
                frozenset({200}), f"batch of all {len(ticks)} hostile ticks", batch=True))
    for raw, field, status, label in fill_items():
        add(Hostile("POST", "/v1/fills", raw, field, frozenset({status}), label))
    reused = {"exec_id": "E-1", "symbol": "XYZ", "side": "buy", "quantity": 11, "price": 100}
    add(Hostile("POST", "/v1/fills", json.dumps(reused).encode(), "E-1", s409,
                "reused exec_id, another quantity"))
    add(Hostile("POST", "/v1/fills", json.dumps({**reused, "quantity": 10, "side": "sell"})
                .encode(), "E-1", s409, "reused exec_id, another side"))
    for raw, field, label in underlying_items():
        add(Hostile("PUT", "/v1/underlyings/XYZ", raw, field, s422, label))
        add(Hostile("PUT", "/v1/underlyings/NEWU", raw, field, s422, f"new symbol: {label}"))
    for raw, field, label in policy_items():
        add(Hostile("PUT", "/v1/hedge/policies/XYZ", raw, field, s422, label))
    add(Hostile("PUT", "/v1/hedge/policies/NOPE", b'{"mode":"band","band":1}', "NOPE", s404,
                "policy of an unknown underlying"))
    pos = {"symbol": CALL, "quantity": 100}
    for v in [*NON_FINITE, '"abc"', "null"]:
        add(Hostile("PUT", "/v1/positions", b"[" + _raw(pos, quantity=v) + b"]", "quantity",
                    s422, f"quantity {v}"))
    for raw, field, label in [
        (b"[" + _raw(pos, symbol='""') + b"]", "symbol", "empty symbol"),
        (b"[" + _raw(pos, strike="-1") + b"]", "strike", "negative strike"),
        (b"[" + _raw(pos, type='"swap"') + b"]", "type", "type swap"),
        (b"[" + _raw(pos, expiry='"garbage"', symbol='"W"', type='"call"', underlying='"XYZ"',
                     strike="1") + b"]", "expiry", "expiry not a date"),
        (b'[{"symbol":"WEIRD-ID","quantity":1,"type":"call"}]', "underlying",
         "option without root"),
        (b'[{"symbol":"XYZ","quantity":5},{"symbol":"XYZ","quantity":NaN}]', "quantity",
         "second of two bad (all or nothing)"),
        (b"[" + _raw(pos, book='"A"') + b"]", "book", "unknown field"),
        (b"[" + _raw(pos, expiry="1e12") + b"]", "expiry", "expiry 1e12"),
        (b"[" + _raw(pos, expiry='"9999-12-31T23:00:00-12:00"') + b"]", "expiry",
         "expiry past year 9999 in UTC"),
        (b"[" + _raw(pos, expiry="-1") + b"]", "expiry", "expiry before 1970"),
        *[(b"[" + _raw(pos, quantity=v) + b"]", "quantity", f"quantity {v}")
          for v in TOO_MANY],
        *[(b"[" + _raw(pos, symbol=v) + b"]", "symbol", f"symbol {v[:8]}") for v in CONTROL],
        *[(b"[" + _raw(pos, underlying=v, type='"call"', strike="1", expiry='"2027-02-19"',
                       symbol='"W"') + b"]", "underlying", f"underlying {v[:8]}")
          for v in CONTROL],
        (b'[{"symbol":"XYZ","quantity":1,"quantity":2}]', "quantity", "a key given twice"),
        (b'{"symbol":"XYZ","quantity":1}', "body", "an object, not a list"),
    ]:
        add(Hostile("PUT", "/v1/positions", raw, field, s422, label))
    for raw, field, label in [
        (b'[{"symbol":"XYZ","quantity":NaN}]', "quantity", "broker quantity NaN"),
        (b'[{"symbol":"","quantity":1}]', "symbol", "broker empty symbol"),
        (b'[{"symbol":"XYZ","quantity":1e15}]', "quantity", "broker quantity 1e15"),
        (b'[{"symbol":"XYZ","quantity":1,"acct":"A"}]', "acct", "unknown field"),
    ]:
        add(Hostile("PUT", "/v1/positions/reconcile", raw, field, s422, label))
    for raw, field, label in [
        (b'{"symbols":[""]}', "symbols", "empty symbol"),
        (b'{"adopt":"maybe"}', "adopt", "adopt maybe"),
        (b'{"everything":true}', "everything", "unknown field"),
    ]:
        add(Hostile("POST", "/v1/positions/reconcile/accept", raw, field, s422, label))
    sig = {"underlying": "XYZ", "order_qty": 10}
    for v in ["0", *NON_FINITE, '"abc"', "null"]:
        add(Hostile("POST", "/v1/hedge/signals", _raw(sig, order_qty=v), "order_qty", s422,
                    f"manual order_qty {v}"))
    add(Hostile("POST", "/v1/hedge/signals", _raw(sig, underlying='"NOPE"'), "NOPE", s404,
                "manual signal, unknown underlying"))
    add(Hostile("POST", "/v1/hedge/signals", _raw(sig, instrument='""'), "instrument", s422,
                "manual signal, empty instrument"))
    add(Hostile("POST", "/v1/hedge/signals", _raw(sig, urgent="true"), "urgent", s422,
                "manual signal, unknown field"))
    for v in TOO_MANY:
        add(Hostile("POST", "/v1/hedge/signals", _raw(sig, order_qty=v), "order_qty", s422,
                    f"manual order_qty {v}"))
    for v in CONTROL:
        add(Hostile("POST", "/v1/hedge/signals", _raw(sig, instrument=v), "instrument", s422,
                    f"manual signal, instrument {v[:8]}"))
    add(Hostile("POST", "/v1/hedge/signals", b'{"underlying":"XYZ","order_qty":10,'
                b'"order_qty":-10}', "order_qty", s422, "manual signal, a key given twice"))
    for content_type in ("text/plain", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=x", "application/json; charset=latin-1",
                         "application/jsonx"):
        add(Hostile("POST", "/v1/hedge/signals", _raw(sig), content_type, frozenset({415}),
                    f"manual signal as {content_type}", content_type=content_type))
    add(Hostile("POST", "/v1/hedge/signals", b"[" + _raw(sig) + b"," + _raw(sig, order_qty="0")
                + b"]", "order_qty", s422, "a set with one bad signal sends none"))
    add(Hostile("POST", "/v1/hedge/signals", b"[" + _raw(sig) + b"," +
                _raw(sig, underlying='"NOPE"') + b"]", "NOPE", s404,
                "a set with an unknown underlying sends none"))
    for path in ("/v1/hedge/halt", "/v1/hedge/resume"):
        for raw, field, status, label in [
            (b'{"underlying":"NOPE"}', "NOPE", s404, "unknown underlying"),
            (b'{"underlying":""}', "underlying", s422, "empty underlying"),
            (b'{"underlying":5}', "underlying", s422, "underlying a number"),
            (b'{"underlying":"XYZ","why":"x"}', "why", s422, "unknown field"),
            (b'{"underlying":"X\\u001b[31m"}', "underlying", s422, "control characters"),
            (b'{"underlying":"XYZ","underlying":"NOPE"}', "underlying", s422,
             "a key given twice"),
        ]:
            add(Hostile("POST", path, raw, field, status, label))
    add(Hostile("POST", "/v1/hedge/signals/nope/cancel", None, "nope", s404,
                "cancel of an unknown signal"))
    add(Hostile("POST", "/v1/hedge/signals/" + "x" * 3000 + "/cancel", None, "signal_id",
                s422, "cancel of a 3 kB id"))
    for path, field in [("/v1/hedge/signals/%1B%5B31m/cancel", "signal_id"),
                        ("/v1/hedge/signals/a%0Ab/cancel", "signal_id"),
                        ("/v1/fills/E%0A1/bust", "exec_id"),
                        ("/v1/fills/E%E2%80%AE1/bust", "exec_id")]:
        add(Hostile("POST", path, None, field, s422, f"a control character in {field}"))
    for path in ("/v1/hedge/policies/X%0AY", "/v1/hedge/policies/X%C2%85"):
        add(Hostile("PUT", path, b'{"mode":"off"}', "underlying", s422,
                    "a control character in the underlying"))
    add(Hostile("POST", "/v1/fills/NOPE/bust", None, "NOPE", s404, "bust of an unknown fill"))
    plan = {"underlying": "XYZ", "targets": {"gamma": 0},
            "candidates": [{"symbol": CALL, "iv": 0.2}]}
    for raw, field, status, label in [
        (_raw(plan, candidates="[]"), "candidates", s422, "no candidates"),
        (_raw(plan, candidates='[{"symbol":"C","bid":2,"ask":1}]'), "bid", s422, "bid > ask"),
        (_raw(plan, candidates=f'[{{"symbol":"{CALL}","iv":11}}]'), "iv", s422, "iv 11"),
        (_raw(plan, targets='{"gamma":NaN}'), "gamma", s422, "gamma NaN"),
        (_raw(plan, underlying='"NOPE"'), "NOPE", s404, "unknown underlying"),
        (_raw(plan, spice="1"), "spice", s422, "unknown field"),
    ]:
        add(Hostile("POST", "/v1/hedge/options-plan", raw, field, status, label))
    return out


def write_routes(app: Any) -> list[tuple[str, str, str | None]]:
    """(method, path, "required" | "optional" | None for its body) of every write route of
    the app: what the generic corpus is sent to, so a route added later is attacked too."""
    spec = app.openapi()
    out = []
    for route in app_routes(app):
        if route.websocket or not route.path.startswith("/v1"):
            continue
        for method in sorted(route.methods - {"GET", "HEAD"}):
            body = spec["paths"][route.path][method.lower()].get("requestBody")
            kind = None if body is None else "required" if body.get("required") else "optional"
            out.append((method, route.path, kind))
    assert {("POST", "/v1/ticks"), ("POST", "/v1/fills")} <= {(m, p) for m, p, _ in out}
    return sorted(out)


def concrete(path: str) -> str:
    """A path template with ids filled in: the configured underlying, unknown signals/fills
    (a hostile input must never cancel or bust something real)."""
    return (path.replace("{symbol}", "XYZ").replace("{underlying}", "XYZ")
            .replace("{signal_id}", "nope").replace("{exec_id}", "NOPE"))


DEEP = b"[" * 50_000 + b"]" * 50_000
NOT_UTF8 = b'{"symbol": "\xff\xfe\xfd", "quantity": 1}'


def generic(app: Any) -> list[Hostile]:
    """Bodies no route may take, for every write route."""
    out = []
    for method, path, body in write_routes(app):
        p = concrete(path)
        out.append(Hostile(method, p, b" " * (MAX_BODY + 1), None, frozenset({413}),
                           "generic: one byte over the body limit"))
        if body is None:
            continue
        bodies = [(b"{", "truncated JSON"), (b"\x00\x01\x02", "binary garbage"),
                  (b'{"a":', "cut mid-object")]
        if body == "required":
            bodies += [(b"", "empty body"), (b'"text"', "a JSON string"), (b"12", "a number"),
                       (b"null", "null"), (b"true", "true")]
        bodies += [(NOT_UTF8, "invalid UTF-8"), (DEEP, "JSON nested 50,000 deep")]
        for raw, label in bodies:
            out.append(Hostile(method, p, raw, "body", frozenset({422}), f"generic: {label}"))
        for raw, label in [(b'{"a":1,"a":2}', "a key given twice"),
                           (b'[{"a":{"b":"x:y","b":"z"}}]', "a nested key given twice"),
                           (b'{"a":"\\u003a","a":2}', "a key given twice, escaped colons")]:
            key = "a" if b'"a":1' in raw or b'"a":"' in raw else "b"
            out.append(Hostile(method, p, raw, key, frozenset({422}), f"generic: {label}"))
        for content_type in ("text/plain", "application/x-www-form-urlencoded"):
            out.append(Hostile(method, p, b"{}", content_type, frozenset({415}),
                               f"generic: a body as {content_type}",
                               content_type=content_type))
    return out


# --- the sweep -----------------------------------------------------------------------------------


def named(answer: dict[str, Any], field: str) -> bool:
    """The error names `field`: as detail[0].field, or in its reason or message."""
    detail = answer.get("detail") or [{}]
    first = detail[0] if isinstance(detail, list) and detail else {}
    text = " ".join(str(x) for x in (first.get("field"), first.get("reason"),
                                     answer.get("error")))
    return first.get("field") == field or field in text


def send(desk: Desk, h: Hostile) -> Any:
    headers = {"content-type": h.content_type} if h.body is not None else {}
    return desk.client.request(h.method, h.path, content=h.body, headers=headers)


def judge(h: Hostile, r: Any) -> str | None:
    """Why the answer to `h` breaks the promise, or None."""
    if r.status_code >= 500:
        return f"answered {r.status_code}: {r.text[:200]}"
    if r.status_code not in h.status:
        return f"answered {r.status_code}, expected {sorted(h.status)}: {r.text[:200]}"
    answer = r.json()
    if h.batch:
        rejected = answer.get("rejected", [])
        if answer.get("accepted") != 0 or not rejected:
            return f"batch not wholly rejected: {r.text[:200]}"
        if h.field is not None and not all(h.field in x["error"] for x in rejected):
            return f"an item's error does not name {h.field!r}: {rejected}"
        return None
    if h.field is not None and not named(answer, h.field):
        return f"does not name {h.field!r}: {r.text[:200]}"
    return None


def test_every_hostile_input_is_answered_4xx_naming_the_field_and_changes_nothing(desk: Desk):
    app = desk.client.app
    inputs = corpus(desk.t0) + generic(app)
    before = desk.snapshot()
    problems: list[str] = []
    five_xx = 0
    for h in inputs:
        r = send(desk, h)
        five_xx += r.status_code >= 500
        why = judge(h, r)
        if why is not None:
            problems.append(f"{h}: {why}")
        after = desk.snapshot()
        if after != before:
            changed = sorted(k for k in after if after[k] != before[k])
            problems.append(f"{h}: changed {changed}")
            before = after
    print(f"\nhostile corpus: {len(inputs)} inputs tried over HTTP, {five_xx} answered 5xx")
    assert not problems, f"{len(problems)} of {len(inputs)} hostile inputs broke the " \
        "promise:\n" + "\n".join(problems)
    write_paths = {p for _, p, _ in write_routes(app)}
    attacked = {p for p in write_paths if any(h.path == concrete(p) for h in inputs)}
    assert attacked == write_paths, f"write routes never attacked: {write_paths - attacked}"


def test_the_ingest_websocket_rejects_every_hostile_tick_and_fill_naming_the_field(desk: Desk):
    items = [(b'{"type":"tick",' + raw[1:], field, label)
             for raw, field, _, label in tick_items(desk.t0) if raw.startswith(b"{")]
    # a fill's own instrument `type` collides with the message's "type" (see the report)
    items += [(b'{"type":"fill",' + raw[1:], field, label)
              for raw, field, _, label in fill_items()
              if raw.startswith(b"{") and b'"type"' not in raw]
    before = desk.snapshot()
    problems = []
    with desk.client.websocket_connect("/v1/ws/ingest") as ws:
        ws.send_text(json.dumps({"type": "hello", "ack": True}))
        assert ws.receive_json() == {"type": "hello", "ack": True}
        for raw, field, label in items:
            ws.send_text(raw.decode())  # a frame with one message
            ack = ws.receive_json()
            if ack.get("accepted") != 0 or len(ack.get("rejected", [])) != 1:
                problems.append(f"{label}: {ack}")
            elif field not in ack["rejected"][0]["error"]:
                problems.append(f"{label}: error does not name {field!r}: {ack}")
        ws.send_text("[" + ",".join(raw.decode() for raw, _, _ in items) + "]")
        ack = ws.receive_json()
        if ack.get("accepted") != 0 or len(ack["rejected"]) != len(items):
            problems.append(f"one frame of all {len(items)}: {str(ack)[:300]}")
        for frame in ("{", "\x00", '{"type":"tick"', '"tick"', "42"):
            ws.send_text(frame)
            ack = ws.receive_json()
            if ack.get("type") not in ("error", "ack") or ack.get("accepted"):
                problems.append(f"frame {frame[:10]!r}: {ack}")
    print(f"\ningest WebSocket: {len(items) + 6} hostile frames tried")
    assert not problems, "\n".join(problems)
    assert desk.snapshot() == before, "a hostile frame changed the state"


def test_a_duplicated_tick_changes_no_figure(desk: Desk):
    """The last accepted tick again, byte for byte (a feed retransmission)."""
    before = desk.snapshot()
    tick = {"symbol": "XYZ", "price": 100.0, "ts": desk.t0}
    for _ in range(3):
        r = desk.client.post("/v1/ticks", json=tick)
        assert r.status_code in (200, 409, 422), r.text
    after = desk.snapshot()
    for key in ("risk", "positions", "signals", "underlyings"):
        assert after[key] == before[key], f"a duplicated tick changed {key}"


# --- defects this corpus found, each pinned by its own test ------------------------------------


def _fresh() -> TestClient:
    return TestClient(create_app(Settings(db_path=":memory:", redis_url=None, api_keys=None)),
                      raise_server_exceptions=False)


def test_deeply_nested_json_is_rejected_naming_the_body_on_ticks_and_ingest():
    with _fresh() as c:
        r = c.post("/v1/ticks", content=DEEP, headers=JSON)
        assert r.status_code == 422, r.text[:200]
        assert r.json()["detail"][0]["field"] == "body"
        with c.websocket_connect("/v1/ws/ingest") as ws:
            ws.send_text("[" * 5000 + "]" * 5000)
            answer = ws.receive_json()
            assert answer["type"] == "error" and "body" in answer["error"]


def test_a_body_that_is_not_json_answers_422_naming_the_body_on_every_route():
    wrong = []
    with _fresh() as c:
        for method, path, body in write_routes(c.app):
            if path == "/v1/ticks" or body is None:
                continue
            for body in (NOT_UTF8, DEEP):
                r = c.request(method, concrete(path), content=body, headers=JSON)
                if r.status_code != 422 or not named(r.json(), "body"):
                    wrong.append(f"{method} {path} {body[:6]!r}: {r.status_code} {r.text[:80]}")
    assert not wrong, "\n".join(wrong)


def test_booleans_and_numeric_strings_are_not_numbers():
    wrong = []
    with _fresh() as c:
        c.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0})
        for method, path, raw in [
            ("POST", "/v1/ticks", b'{"symbol":"XYZ","price":true}'),
            ("POST", "/v1/ticks", b'{"symbol":"XYZ","price":"101"}'),
            ("POST", "/v1/fills", b'{"exec_id":"B1","symbol":"XYZ","side":"buy",'
                                  b'"quantity":true,"price":100}'),
            ("POST", "/v1/fills", b'{"exec_id":"B2","symbol":"XYZ","side":"buy",'
                                  b'"quantity":"7","price":100}'),
            ("PUT", "/v1/underlyings/XYZ", b'{"vol":0.2,"confirm_ticks":true}'),
            ("PUT", "/v1/underlyings/XYZ", b'{"vol":"0.2"}'),
            ("PUT", "/v1/hedge/policies/XYZ", b'{"mode":"band","band":"100"}'),
        ]:
            r = c.request(method, path, content=raw, headers=JSON)
            if r.status_code != 422:
                wrong.append(f"{method} {path} {raw.decode()}: {r.status_code}")
    assert not wrong, "accepted as numbers:\n" + "\n".join(wrong)


def test_a_duplicated_print_never_confirms_a_held_jump():
    with _fresh() as c:
        c.put("/v1/underlyings/XYZ", json={"vol": 0.2})
        t0 = time.time() - 10
        assert c.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0, "ts": t0}).is_success
        for _ in range(3):  # confirm_ticks is 3: the same print, three times
            c.post("/v1/ticks", json={"symbol": "XYZ", "price": 150.0, "ts": t0 + 1})
        assert c.get("/v1/risk/XYZ").json()["spot"] == 100.0, "a repeated print moved spot"


def test_a_signal_cursor_beyond_64_bits_answers_422():
    with _fresh() as c:
        r = c.get("/v1/hedge/signals", params={"after": 2**63})
        assert r.status_code == 422, r.text[:200]


def test_an_underlying_symbol_in_the_path_obeys_the_symbol_rule():
    created = []
    with _fresh() as c:
        for sym in ("A" * 300, "%20", "%00", "%E2%80%AE"):
            r = c.put(f"/v1/underlyings/{sym}", json={"vol": 0.2})
            if r.status_code < 400:
                created.append(repr(r.json()["symbol"][:20]))
    assert not created, f"created underlyings {created}"


def test_a_bad_manual_signal_names_the_field_not_the_model():
    wrong = []
    with _fresh() as c:
        c.put("/v1/underlyings/XYZ", json={"vol": 0.2})
        for raw, field in [(b'{"underlying":"XYZ","order_qty":NaN}', "order_qty"),
                           (b'[{"underlying":"XYZ","order_qty":"a"}]', "0.order_qty"),
                           (b'"text"', "body")]:
            r = c.post("/v1/hedge/signals", content=raw, headers=JSON)
            got = r.json()["detail"][0]["field"]
            if r.status_code != 422 or got not in (field, field.split(".")[-1]):
                wrong.append(f"{raw.decode()}: field {got!r}, expected {field!r}")
    assert not wrong, "\n".join(wrong)


def test_a_binary_frame_on_ingest_is_answered_not_a_dead_socket(services: ServiceFactory):
    svc = services(redis_url=None)
    with wsc.connect(f"{svc.ws}/v1/ws/ingest", proxy=None) as ws:
        ws.send(json.dumps({"type": "hello", "ack": True}))
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        ws.send(b'{"type":"tick","symbol":"XYZ","price":1}')
        try:
            answer = json.loads(ws.recv(timeout=5))
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd else None
            assert code == 1003, f"closed with {code} (no close frame: the handler crashed)"
            return
        assert answer.get("type") in ("error", "ack") and not answer.get("accepted"), answer
