"""Alerts on a real Redis: every warn, breach, ack, halt and resume is PUBLISHed on the alert
channel and XADDed to the alert stream (field `data`), the same JSON as GET /v1/alerts and
/v1/ws/alerts."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import redis

from app.bus_names import STREAM_FIELD
from tests.api.conftest import T0, load_book, make_client, wait_for
from tests.integration.conftest import REDIS_URL

pytestmark = pytest.mark.redis


def test_alerts_go_on_the_channel_the_stream_and_the_websocket() -> None:
    tag = uuid.uuid4().hex[:8]
    names = {"alert_channel": f"t:{tag}:alerts", "alert_stream": f"t:{tag}:alerts:stream",
             "signal_channel": f"t:{tag}:signals", "signal_stream": f"t:{tag}:stream"}
    r = redis.Redis.from_url(REDIS_URL)
    sub = r.pubsub()
    sub.subscribe(names["alert_channel"])
    assert sub.get_message(timeout=1.0)["type"] == "subscribe"  # type: ignore[index]
    try:
        with make_client(redis_url=REDIS_URL, **names) as c:
            load_book(c, band=1e9)
            c.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0, "ts": T0})
            delta = wait_for(lambda: c.get("/v1/risk/XYZ").json()["delta"])
            with c.websocket_connect("/v1/ws/alerts") as ws:
                r_put = c.put("/v1/limits", json=[{
                    "id": "d", "scope": "XYZ", "metric": "delta", "warn": delta / 2,
                    "breach": delta * 0.9, "action": "halt"}])
                assert r_put.status_code == 200, r_put.text
                assert c.post("/v1/limits/d/ack").status_code == 200
                assert c.post("/v1/hedge/resume", json={}).status_code == 200
                pushed = [json.loads(ws.receive_text()) for _ in range(4)]
            served = list(reversed(c.get("/v1/alerts").json()))
        assert [a["kind"] for a in served] == ["breach", "halt", "ack", "resume"]
        assert pushed == served
        announced = []
        deadline = time.monotonic() + 5
        while len(announced) < 4 and time.monotonic() < deadline:
            m = sub.get_message(timeout=0.5)
            if m and m["type"] == "message":
                announced.append(json.loads(m["data"]))
        assert announced == served
        stream = r.xrange(names["alert_stream"])
        assert [json.loads(fields[STREAM_FIELD.encode()]) for _, fields in stream] == served
    finally:
        sub.close()
        r.delete(names["alert_stream"], names["signal_stream"])
        r.close()
