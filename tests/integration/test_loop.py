"""The whole loop over real sockets and a real Redis: tick over WebSocket → signal on the
Redis channel and in the stream → fill posted with signal_id → position and risk updated."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import websockets.sync.client as wsc

from tests.integration.conftest import Service

pytestmark = pytest.mark.redis
CALL = "XYZ   270219C00098000"


def setup_book(http: httpx.Client) -> None:
    assert http.put("/v1/underlyings/XYZ", json={"vol": 0.2}).status_code == 200
    assert http.put("/v1/positions", json=[{"symbol": CALL, "quantity": 100}]).status_code == 200
    r = http.put("/v1/hedge/policies/XYZ", json={"mode": "band", "band": 100})
    assert r.status_code == 200


def test_tick_to_redis_signal_to_fill_to_position(service: Service):
    pubsub = service.redis.pubsub()
    pubsub.subscribe(service.settings.signal_channel)
    pubsub.get_message(timeout=1.0)  # the subscribe confirmation
    with httpx.Client(base_url=service.base, timeout=5) as http:
        setup_book(http)
        assert http.get("/readyz").status_code == 200
        with wsc.connect(service.ws + "/v1/ws/ingest") as ws:
            ws.send(json.dumps({"type": "hello", "ack": True}))
            assert json.loads(ws.recv(timeout=5)) == {"type": "hello", "ack": True}
            ws.send(json.dumps([{"type": "tick", "symbol": "XYZ", "price": 100.0},
                                {"type": "tick", "symbol": "XYZ", "price": -5}]))
            ack = json.loads(ws.recv(timeout=5))
            assert ack["type"] == "ack" and ack["accepted"] == 1
            assert [r["index"] for r in ack["rejected"]] == [1]

        message = None
        deadline = time.monotonic() + 5
        while message is None and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.5)
        assert message is not None, "no signal on the Redis channel"
        signal = json.loads(message["data"])
        assert signal["side"] == "sell" and signal["underlying"] == "XYZ"
        entries = service.redis.xrange(service.settings.signal_stream)
        assert len(entries) == 1
        assert entries[0][0] == b"1-1" and json.loads(entries[0][1][b"data"]) == signal

        fill = {"exec_id": "X-1", "symbol": signal["instrument"], "side": signal["side"],
                "quantity": signal["quantity"], "price": 99.99, "signal_id": signal["id"]}
        r = http.post("/v1/fills", json=fill)
        assert r.status_code == 200, r.text
        assert r.json()["position"]["quantity"] == signal["order_qty"]
        risk = http.get("/v1/risk/XYZ").json()
        assert risk["hedge_position"] == signal["order_qty"] and risk["pending"] == 0
        assert abs(risk["delta"] - (signal["net_delta_before"] + signal["order_qty"])) < 1e-6
        assert http.get("/v1/hedge/signals").json() == [signal]
    pubsub.close()


def test_ws_feeds_push_risk_and_signals(service: Service):
    with httpx.Client(base_url=service.base, timeout=5) as http:
        setup_book(http)
        with wsc.connect(service.ws + "/v1/ws/signals") as sig_ws, \
                wsc.connect(service.ws + "/v1/ws/risk") as risk_ws:
            risk_ws.recv(timeout=5)  # the current snapshot first
            sig_ws.send("ignored")
            http.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
            signal = json.loads(sig_ws.recv(timeout=5))
            assert signal["seq"] == 1 and signal["reason"] == "band"
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                view = json.loads(risk_ws.recv(timeout=5))
                if view["spot"] == 100.0:
                    break
            assert view["underlying"] == "XYZ" and view["pending"] == signal["order_qty"]


def test_a_websocket_from_a_foreign_origin_is_refused(service: Service):
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as refused:
        wsc.connect(service.ws + "/v1/ws/risk",
                    additional_headers={"Origin": "https://evil.example"})
    assert refused.value.response.status_code == 403
    assert b"origin not allowed" in refused.value.response.body


def test_an_oversized_websocket_frame_closes_with_1009(service: Service):
    from websockets.exceptions import ConnectionClosed

    with wsc.connect(service.ws + "/v1/ws/ingest", max_size=None) as ws:
        ws.send("[" + " " * (service.settings.max_body_bytes + 10) + "]")
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
