"""The panels whose backend lands with the rest of issue 14 (fills list, limits, alerts,
scenarios, P&L and beta-weighted delta): they say "not available yet" while the service
answers 404, and show the promised shapes once it answers them. The promised answers are
played by the browser (Playwright routes) on top of a real service."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.dashboard.conftest import Service, load_book

pytestmark = pytest.mark.slow

SPOTS = [-30, -20, -10, 0, 10, 20, 30]
VOLS = [-0.3, -0.15, 0.0, 0.15, 0.3]
RATES = [-100, -50, 0, 50, 100]


def grid_part(scale: float) -> dict[str, Any]:
    """A short-gamma, long-vega-looking grid: the worst cell at spot −30 %, vol −30 %."""
    cells = [{"spot_move_pct": s, "vol_move": v, "rate_move_bp": r,
              "pnl": scale * (-(s ** 2) + 40 * v * 100 + s * 3 - r * 0.5),
              "delta": -s * 10.0, "gamma": -2.0, "vega": 100.0}
             for s in SPOTS for v in VOLS for r in RATES]
    worst = min(cells, key=lambda c: c["pnl"])
    return {"cells": cells, "worst": worst}


def scenario_answer(body: dict[str, Any]) -> dict[str, Any]:
    names = body.get("underlyings") or ["XYZ"]
    return {"as_of": "2026-06-01T14:00:00Z", "preset": "grid", "vol_mode": "relative",
            "axes": {"spot_moves_pct": SPOTS, "vol_moves": VOLS},
            "total": grid_part(1.0 if not body.get("underlyings") else 2.0),
            "underlyings": {u: grid_part(2.0) for u in names}}


FILLS = [
    {"exec_id": "E-2", "symbol": "XYZ", "side": "sell", "quantity": 300.0, "price": 101.5,
     "ts": "2026-06-01T14:00:02Z", "signal_id": "sig-2"},
    {"exec_id": "E-1", "symbol": "XYZ", "side": "buy", "quantity": 100.0, "price": 100.25,
     "ts": "2026-06-01T14:00:01Z", "signal_id": None},
]
LIMITS = [
    {"id": "book-delta", "scope": "book", "metric": "dollar_delta", "warn": 800_000.0,
     "breach": 1_000_000.0, "action": "alert", "value": 400_000.0, "usage_pct": 40.0,
     "state": "ok"},
    {"id": "xyz-vega", "scope": "XYZ", "metric": "vega", "warn": 4_000.0, "breach": 5_000.0,
     "action": "flatten", "value": 4_500.0, "usage_pct": 90.0, "state": "warn"},
    {"id": "xyz-gamma", "scope": "XYZ", "metric": "gamma", "warn": 150.0, "breach": 200.0,
     "action": "halt", "value": 260.0, "usage_pct": 130.0, "state": "breach"},
]
ALERTS = [
    {"seq": 2, "ts": "2026-06-01T14:00:02Z", "kind": "breach", "limit_id": "xyz-gamma",
     "underlying": "XYZ", "metric": "gamma", "value": 260.0, "level": 200.0,
     "message": "XYZ gamma 260 beyond 200: halted"},
    {"seq": 1, "ts": "2026-06-01T14:00:01Z", "kind": "warn", "limit_id": "xyz-vega",
     "underlying": "XYZ", "metric": "vega", "value": 4_500.0, "level": 4_000.0,
     "message": "XYZ vega 4,500 past warn 4,000"},
]


def json_route(status: int, body: Any) -> Any:
    return lambda route: route.fulfill(status=status, content_type="application/json",
                                       body=json.dumps(body))


def test_panels_of_endpoints_not_there_yet_say_so_and_the_rest_works(serve: Any,
                                                                     browser: Any) -> None:
    svc: Service = serve()
    load_book(svc)
    svc.http.post("/v1/ticks", json={"symbol": "XYZ", "price": 100.0})
    b = browser()
    missing = {"error": "Not Found", "detail": [], "status": 404}
    for path in ("**/v1/fills?*", "**/v1/limits", "**/v1/alerts?*", "**/v1/risk/scenarios"):
        b.page.route(path, json_route(404, missing))
    b.page.goto(svc.base + "/dashboard")
    for panel in ("fills", "limits", "alerts", "scenarios"):
        b.page.locator(f'.status[data-for="{panel}"]').filter(
            has_text="not available yet").wait_for()
    b.page.locator('tr[data-underlying="XYZ"] td[data-field="spot"]').filter(
        has_text="100.00").wait_for()
    # the service serves P&L now: a book loaded at the model that has not moved made 0
    b.page.locator('tr[data-underlying="XYZ"] td[data-field="pnl"]').filter(
        has_text="0").wait_for()
    assert b.page.locator('tr[data-underlying="XYZ"] td[data-field="pnl"]').inner_text() == "0"
    assert "P&L0" in b.page.locator("#totals").inner_text().replace("\n", "")
    b.assert_only_talked_to(svc)


def test_the_promised_answers_show_as_rows_bars_alerts_a_heat_map_and_pnl(serve: Any,
                                                                          browser: Any) -> None:
    svc: Service = serve()
    load_book(svc, ("XYZ", "ABC"))
    svc.http.post("/v1/ticks", json=[{"symbol": "XYZ", "price": 100.0},
                                     {"symbol": "ABC", "price": 50.0}])
    b = browser()
    page = b.page
    scenario_bodies: list[dict[str, Any]] = []

    def scenarios(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        scenario_bodies.append(body)
        route.fulfill(status=200, content_type="application/json",
                      body=json.dumps(scenario_answer(body)))

    page.route("**/v1/fills?*", json_route(200, FILLS))
    page.route("**/v1/limits", json_route(200, LIMITS))
    page.route("**/v1/alerts?*", json_route(200, ALERTS))
    page.route("**/v1/risk/scenarios", scenarios)
    sockets: list[Any] = []

    def alerts_socket(ws: Any) -> None:  # the service's /v1/ws/alerts, as promised
        sockets.append(ws)

    def risk_with_pnl(ws: Any) -> None:  # the real risk feed plus the fields promised
        server = ws.connect_to_server()

        def forward(message: str | bytes) -> None:
            frame = json.loads(message)
            frame["pnl"] = 1000.0 if frame["underlying"] == "XYZ" else -250.0
            frame["beta_dollar_delta"] = (frame["dollar_delta"] or 0.0) * 1.5
            ws.send(json.dumps(frame))

        server.on_message(forward)

    page.route_web_socket("**/v1/ws/alerts*", alerts_socket)
    page.route_web_socket("**/v1/ws/risk*", risk_with_pnl)
    page.goto(svc.base + "/dashboard")

    # fills, newest first
    page.locator('#fill-rows tr[data-exec="E-2"]').wait_for()
    assert page.locator("#fill-rows tr").first.get_attribute("data-exec") == "E-2"
    assert page.locator("#fill-rows tr").first.locator('[data-field="price"]').inner_text() \
        == "101.50"
    # limits as bars, as wide as their usage (capped at the bar's end), coloured by state
    page.locator('.limit[data-limit="xyz-gamma"].breach').wait_for()
    widths = page.eval_on_selector_all(".limit .fill", "els => els.map(e => e.style.width)")
    assert widths == ["40%", "90%", "100%"]
    assert page.locator('.limit[data-limit="xyz-vega"]').get_attribute("class") == "limit warn"
    # alerts newest first, and one pushed on the alerts socket goes on top
    page.locator("#alerts li").first.filter(has_text="beyond 200").wait_for()
    assert sockets, "the page did not open /v1/ws/alerts"
    sockets[0].send(json.dumps({**ALERTS[0], "seq": 3, "kind": "ack",
                                "message": "XYZ gamma breach acknowledged"}))
    page.locator("#alerts li").first.filter(has_text="acknowledged").wait_for()
    # the heat map: 7 spot moves × 5 vol moves at rate 0, the worst cell marked
    page.locator("#heatmap td.worst").wait_for()
    assert page.locator("#heatmap tbody td").count() == 35
    worst = grid_part(1.0)["worst"]
    assert worst["rate_move_bp"] == 100  # the worst of all is at another rate: said below
    assert "rate +100 bp" in page.locator("#heatmap .worst-line").inner_text()
    worst_at_rate_0 = min((c for c in grid_part(1.0)["cells"] if c["rate_move_bp"] == 0),
                          key=lambda c: c["pnl"])
    marked = page.locator("#heatmap td.worst")
    assert marked.count() == 1
    assert float(marked.get_attribute("data-pnl") or "nan") == worst_at_rate_0["pnl"]
    assert (marked.get_attribute("data-spot"), marked.get_attribute("data-vol")) == ("-30", "-0.3")
    first_row = page.locator("#heatmap tbody tr").first
    assert first_row.locator("th").inner_text() == "vol +30%"
    assert page.locator("#heatmap thead th").nth(1).inner_text() == "-30%"
    # one underlying chosen: asked for it, shown for it
    page.locator("#scenario-scope").select_option("XYZ")
    page.wait_for_function("() => document.querySelector('#scenario-scope').value === 'XYZ'")
    page.locator(f'#heatmap td.worst[data-pnl="{2 * worst_at_rate_0["pnl"]:g}"]').wait_for()
    assert {"preset": "grid", "underlyings": ["XYZ"]} in scenario_bodies
    assert {"preset": "grid"} in scenario_bodies
    # P&L and beta-weighted dollar delta per underlying and for the book
    page.locator('tr[data-underlying="XYZ"] td[data-field="pnl"]').filter(
        has_text="1,000").wait_for()
    assert page.locator('tr[data-underlying="ABC"] td[data-field="pnl"]').inner_text() == "-250"
    page.locator('#totals [data-field="pnl"]').filter(has_text="750").wait_for()
    page.wait_for_function("() => !document.querySelector('#chart-note').textContent")
    b.assert_only_talked_to(svc)


def test_the_real_endpoints_fill_the_same_panels(serve: Any, browser: Any) -> None:
    """No stand-ins: the service's own GET /v1/fills, /v1/limits, /v1/alerts, /v1/ws/alerts,
    POST /v1/risk/scenarios and the beta-weighted figures fill the panels."""
    svc: Service = serve()
    load_book(svc, ("XYZ", "ABC"), band=1e9)
    assert svc.http.put("/v1/underlyings/ABC", json={"vol": 0.2, "beta": 1.5,
                                                     "benchmark": "XYZ"}).is_success
    svc.http.post("/v1/ticks", json=[{"symbol": "XYZ", "price": 100.0},
                                     {"symbol": "ABC", "price": 50.0}])
    r = svc.http.post("/v1/fills", json={"exec_id": "E-1", "symbol": "XYZ", "side": "buy",
                                         "quantity": 100, "price": 100.25})
    assert r.status_code == 200, r.text
    abc = svc.http.get("/v1/risk/ABC").json()
    assert abc["beta_dollar_delta"] == 1.5 * abc["dollar_delta"]
    b = browser()
    page = b.page
    page.goto(svc.base + "/dashboard")
    page.locator('#fill-rows tr[data-exec="E-1"]').wait_for()
    assert page.locator('#fill-rows tr[data-exec="E-1"] [data-field="price"]').inner_text() \
        == "100.25"
    # beta-weighted dollar delta: ABC 1,000 shares × 50 × 1.5
    page.locator('tr[data-underlying="ABC"] td[data-field="beta_dollar_delta"]').filter(
        has_text="75,000").wait_for()
    # the heat map of the grid preset, revalued by the service
    page.locator("#heatmap td.worst").wait_for()
    assert page.locator("#heatmap tbody td").count() == 35
    # a limit set now: its bar, and its breach pushed on /v1/ws/alerts
    delta = svc.http.get("/v1/risk/XYZ").json()["delta"]
    r = svc.http.put("/v1/limits", json=[{"id": "xyz-delta", "scope": "XYZ", "metric": "delta",
                                          "warn": delta / 2, "breach": delta * 0.9}])
    assert r.status_code == 200, r.text
    page.locator('.limit[data-limit="xyz-delta"].breach').wait_for()
    page.locator("#alerts li").filter(has_text="breach").first.wait_for()
    for panel in ("fills", "limits", "alerts", "scenarios"):
        assert page.locator(f'.status[data-for="{panel}"]').is_hidden(), panel
    b.assert_only_talked_to(svc)
