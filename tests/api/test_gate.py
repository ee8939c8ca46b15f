"""The request gate (`app.api.gate`): what is decided from the headers alone — JSON bodies only
on writes (issue 9, point 20), no browser write from a foreign origin, the scopes read from the
routes' own declarations, and no route served without the gate."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.api.gate import PUBLIC, UNROUTED, Gate, RouteScopes, is_json
from app.main import create_app
from app.settings import Settings
from tests.api.conftest import make_client

TICK = b'{"symbol":"XYZ","price":101.0}'
SIGNAL = b'{"underlying":"XYZ","order_qty":10}'


def state(c: TestClient) -> dict[str, Any]:
    return {"signals": c.get("/v1/hedge/signals").json(),
            "underlyings": c.get("/v1/underlyings").json(),
            "policies": c.get("/v1/hedge/policies").json()}


@pytest.mark.parametrize("content_type", [
    "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=----x", "application/json; charset=latin-1",
    "application/json-seq", "application/vnd.api+json", "json", None,
])
def test_a_write_whose_body_is_not_json_is_refused_with_415_and_changes_nothing(
        client: TestClient, content_type: str | None):
    client.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0})
    before = state(client)
    headers = {} if content_type is None else {"content-type": content_type}
    for method, path, body in [("POST", "/v1/ticks", TICK), ("POST", "/v1/hedge/signals", SIGNAL),
                               ("POST", "/v1/hedge/halt", b'{"underlying":"XYZ"}'),
                               ("PUT", "/v1/hedge/policies/XYZ", b'{"mode":"band","band":1}')]:
        r = client.request(method, path, content=body, headers=headers)
        assert r.status_code == 415, f"{method} {path} as {content_type}: {r.status_code}"
        assert repr((content_type or "none")[:100]) in r.json()["error"], r.text
        assert r.headers["connection"] == "close"
    assert state(client) == before


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON",
                                          "application/json; charset=utf-8",
                                          'application/json;charset="UTF-8"'])
def test_json_with_or_without_a_utf8_charset_in_any_case_is_taken(client: TestClient,
                                                                   content_type: str):
    client.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0})
    r = client.post("/v1/ticks", content=TICK, headers={"content-type": content_type})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text


def test_a_route_whose_body_is_optional_takes_none_but_refuses_one_that_is_not_json(
        client: TestClient):
    client.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0})
    for path in ("/v1/hedge/halt", "/v1/positions/reconcile/accept"):
        r = client.post(path, content=b'{}', headers={"content-type": "text/plain"})
        assert r.status_code == 415, f"{path}: {r.status_code}"
    assert client.get("/v1/hedge/policies").json()["XYZ"]["state"]["halted"] is False
    assert client.post("/v1/hedge/halt").json() == {"halted": "all"}  # no body, no type
    assert client.get("/v1/hedge/policies").json()["XYZ"]["state"]["halted"] is True


def test_a_browser_write_from_a_foreign_origin_is_refused_but_its_own_or_an_allowed_one_taken():
    with make_client(allowed_origins="https://desk.example") as c:
        c.put("/v1/underlyings/XYZ", json={"vol": 0.2, "spot": 100.0})
        for origin in ("https://evil.example", "null", "http://testserver.evil.example"):
            r = c.post("/v1/hedge/halt", headers={"origin": origin})
            assert r.status_code == 403 and "origin" in r.json()["error"], (origin, r.text)
        assert c.get("/v1/hedge/policies").json()["XYZ"]["state"]["halted"] is False
        assert c.get("/v1/risk", headers={"origin": "https://evil.example"}).status_code == 200
        for origin in ("http://testserver", "https://desk.example/"):
            r = c.post("/v1/ticks", content=TICK, headers={"origin": origin,
                                                            "content-type": "application/json"})
            assert r.status_code == 200, (origin, r.text)


def test_is_json_takes_only_json_with_at_most_a_utf8_charset():
    assert is_json("application/json") and is_json(" APPLICATION/JSON ; CHARSET=utf8")
    for other in (None, "", "text/json", "application/json; boundary=x",
                  "application/json; charset=utf-16", "application/json,text/plain"):
        assert not is_json(other), other


def test_each_route_needs_the_scope_its_own_declaration_names():
    app = create_app(Settings(db_path=":memory:", redis_url=None))
    scopes = RouteScopes(app.routes)
    expect = {("GET", "/v1/risk/XYZ"): "read", ("GET", "/v1/hedge/signals"): "read",
              ("POST", "/v1/hedge/options-plan"): "read", ("POST", "/v1/ticks"): "trade",
              ("POST", "/v1/fills"): "trade", ("POST", "/v1/hedge/signals/s1/cancel"): "trade",
              ("POST", "/v1/hedge/signals"): "admin", ("POST", "/v1/fills/E1/bust"): "admin",
              ("PUT", "/v1/underlyings/XYZ"): "admin", ("POST", "/v1/hedge/resume"): "admin"}
    assert {k: scopes.of(*k).scope for k in expect} == expect
    for path in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"):
        assert scopes.of("GET", path) is PUBLIC, path
    assert scopes.of("DELETE", "/v1/ticks") is UNROUTED
    assert scopes.of("GET", "/v1/nowhere") is UNROUTED
    assert scopes.of("POST", "/v1/ticks").write and not scopes.of("GET", "/v1/risk").write


def test_with_keys_a_path_no_route_serves_still_needs_a_key():
    with make_client(api_keys="k-read:read") as c:
        assert c.post("/v1/nowhere", content=b"x" * 10).status_code == 401
        assert c.post("/v1/nowhere", headers={"x-api-key": "k-read"}).status_code == 404
        assert c.get("/healthz").status_code == 200


def test_without_the_gate_no_route_that_needs_a_key_serves():
    app = create_app(Settings(db_path=":memory:", redis_url=None))
    app.user_middleware = [m for m in app.user_middleware if m.cls is not Gate]
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/healthz").status_code == 200
        assert c.get("/v1/risk").status_code == 500
