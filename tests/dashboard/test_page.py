"""The ops dashboard in a real headless chromium against a real service on a loopback port:
it shows what the API says, within a second of a tick and a fill; its kill switch halts
hedging; a wrong key shows an error and no data; it never asks anything of another host."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.dashboard.conftest import (
    ADMIN_KEY,
    API_KEYS,
    READ_KEY,
    Browser,
    Service,
    load_book,
    wait_for,
    whoami_stand_in,
)

pytestmark = pytest.mark.slow

HEDGE_IS = """([u, value]) => {
  const td = document.querySelector(`tr[data-underlying="${u}"] td[data-field="hedge_position"]`);
  return td !== null && td.dataset.value !== "" && Number(td.dataset.value) === value;
}"""

def cell(page: Any, underlying: str, field: str) -> Any:
    return page.locator(f'tr[data-underlying="{underlying}"] td[data-field="{field}"]')


def shown_number(text: str) -> float:
    return float(text.replace(",", ""))


def sign_in(page: Any, key: str) -> None:
    page.locator("#key").fill(key)
    page.locator("#login-form button[type=submit]").click()


def a_signal_and_its_fill(svc: Service, price: float) -> tuple[dict[str, Any], float]:
    """A tick that moves XYZ out of its band, then the fill of the signal it produced;
    answers the signal and the time the fill's answer came back."""
    r = svc.http.post("/v1/ticks", json={"symbol": "XYZ", "price": price})
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    wait_for(lambda: svc.http.get("/v1/risk/XYZ").json()["spot"] == price)
    signal = wait_for(lambda: svc.http.get("/v1/hedge/signals?after=0").json())[-1]
    assert signal["spot"] == price
    r = svc.http.post("/v1/fills", json={
        "exec_id": f"E-{signal['seq']}", "symbol": signal["instrument"], "side": signal["side"],
        "quantity": signal["quantity"], "price": price, "signal_id": signal["id"]})
    assert r.status_code == 200, r.text
    return signal, time.monotonic()


def test_after_a_tick_and_a_fill_the_page_shows_the_apis_delta_position_and_signal_in_1s(
        serve: Any, browser: Any) -> None:
    svc: Service = serve()
    load_book(svc)
    b: Browser = browser()
    page = b.page
    page.goto(svc.base + "/dashboard")
    cell(page, "XYZ", "delta").wait_for()
    assert page.locator("#login").is_hidden()

    signal, filled_at = a_signal_and_its_fill(svc, 101.0)
    risk = svc.http.get("/v1/risk").json()["underlyings"]["XYZ"]
    newest = svc.http.get("/v1/hedge/signals?after=0").json()[-1]
    assert newest["id"] == signal["id"]
    assert risk["hedge_position"] == signal["order_qty"]  # the fill is in the book

    budget_ms = max(1.0, 1000 * (1.0 - (time.monotonic() - filled_at)))
    page.wait_for_function(
        """([delta, hedge, id]) => {
          const v = (f) => document.querySelector(
            `tr[data-underlying="XYZ"] td[data-field="${f}"]`)?.dataset.value;
          const top = document.querySelector("#signal-rows tr");
          return Number(v("delta")) === delta && Number(v("hedge_position")) === hedge
            && top && top.dataset.id === id;
        }""", arg=[risk["delta"], risk["hedge_position"], signal["id"]], timeout=budget_ms,
        polling="raf")
    assert time.monotonic() - filled_at <= 1.0

    # what a person reads: the same figures, as text
    assert abs(shown_number(cell(page, "XYZ", "delta").inner_text()) - risk["delta"]) <= 0.05
    assert shown_number(cell(page, "XYZ", "hedge_position").inner_text()) == risk["hedge_position"]
    assert abs(shown_number(cell(page, "XYZ", "dollar_delta").inner_text())
               - risk["dollar_delta"]) <= 0.5
    top = page.locator("#signal-rows tr").first
    assert top.locator('[data-field="seq"]').inner_text() == str(signal["seq"])
    assert top.locator('[data-field="side"]').inner_text() == signal["side"]
    assert shown_number(top.locator('[data-field="quantity"]').inner_text()) == signal["quantity"]
    assert page.locator('.pill[data-feed="risk"]').get_attribute("data-state") == "live"
    b.assert_only_talked_to(svc)


def halted(svc: Service) -> dict[str, bool]:
    return {u: p["state"]["halted"] for u, p in svc.http.get("/v1/hedge/policies").json().items()}


def test_the_kill_switch_halts_and_resumes_one_underlying_and_all(serve: Any,
                                                                  browser: Any) -> None:
    svc = serve(api_keys=API_KEYS)
    load_book(svc, ("XYZ", "ABC"))
    b = browser()
    page = b.page
    whoami_stand_in(page, svc, ["read", "trade", "admin"])
    page.goto(svc.base + "/dashboard")
    sign_in(page, ADMIN_KEY)
    button = page.locator('tr[data-underlying="XYZ"] button')
    button.wait_for()
    assert page.locator("#kill").is_visible()
    assert halted(svc) == {"XYZ": False, "ABC": False}

    button.click()
    wait_for(lambda: halted(svc) == {"XYZ": True, "ABC": False})
    page.locator('tr[data-underlying="XYZ"] .badge.halted').wait_for()
    page.locator('tr[data-underlying="XYZ"] button[data-action="resume"]').click()
    wait_for(lambda: halted(svc) == {"XYZ": False, "ABC": False})

    page.locator("#halt-all").click()
    wait_for(lambda: halted(svc) == {"XYZ": True, "ABC": True})
    page.locator('tr[data-underlying="ABC"] .badge.halted').wait_for()
    page.locator("#resume-all").click()
    wait_for(lambda: halted(svc) == {"XYZ": False, "ABC": False})
    b.assert_only_talked_to(svc)


def test_a_wrong_key_shows_the_error_and_no_data(serve: Any, browser: Any) -> None:
    svc = serve(api_keys=API_KEYS)
    load_book(svc)
    b = browser()
    page = b.page
    page.goto(svc.base + "/dashboard")
    page.locator("#login").wait_for()
    assert page.locator("#login-error").inner_text() == ""  # no key yet: only the prompt

    sign_in(page, "not-a-key")
    page.locator("#login-error").filter(has_text="refused").wait_for()
    assert "unknown API key" in page.locator("#login-error").inner_text()
    assert page.locator("#board").is_hidden()
    assert "XYZ" not in page.locator("body").inner_text()
    assert page.evaluate("sessionStorage.getItem('dynhedge.apiKey')") is None
    # nothing but the key check was asked, and no feed was opened
    data = [u for u in b.urls if "/v1/" in u and not u.endswith(("/v1/whoami", "/v1/risk"))]
    assert data == []
    b.assert_only_talked_to(svc)


def test_a_read_only_key_sees_the_book_but_no_kill_switch(serve: Any, browser: Any) -> None:
    svc = serve(api_keys=API_KEYS)
    load_book(svc)
    b = browser()
    whoami_stand_in(b.page, svc, ["read"])
    b.page.goto(svc.base + "/dashboard")
    sign_in(b.page, READ_KEY)
    cell(b.page, "XYZ", "delta").wait_for()
    assert b.page.locator("#kill").is_hidden()
    assert b.page.locator('tr[data-underlying="XYZ"] button').is_hidden()
    assert "read" in b.page.locator("#who").inner_text()
    b.assert_only_talked_to(svc)


def test_when_the_service_cannot_say_who_the_key_is_the_kill_switch_stays_hidden(
        serve: Any, browser: Any) -> None:
    svc = serve()
    load_book(svc)
    b = browser()
    b.page.route("**/v1/whoami", lambda route: route.fulfill(
        status=404, content_type="application/json",
        body='{"error": "Not Found", "detail": [], "status": 404}'))
    b.page.goto(svc.base + "/dashboard")
    cell(b.page, "XYZ", "delta").wait_for()
    assert b.page.locator("#kill").is_hidden()
    assert b.page.locator("#who").inner_text() == "key scopes: unknown"


def test_the_pages_own_origin_opens_the_live_feeds_with_no_origin_configured(
        serve: Any, browser: Any) -> None:
    svc = serve(allow_page_origin=False)  # the default: HEDGE_ALLOWED_ORIGINS unset
    load_book(svc)
    b = browser()
    b.page.goto(svc.base + "/dashboard")
    b.page.wait_for_function(
        "() => document.querySelector('.pill[data-feed=\"risk\"]')?.dataset.state === 'live'",
        timeout=5_000)
    b.assert_only_talked_to(svc)


def test_when_the_feeds_cannot_open_the_page_polls_and_says_why(serve: Any,
                                                                browser: Any) -> None:
    svc = serve()
    load_book(svc)
    b = browser()
    b.page.route_web_socket("**/v1/ws/**", lambda ws: ws.close())  # a proxy that refuses them
    b.page.goto(svc.base + "/dashboard")
    b.page.locator("#banner").wait_for()
    b.page.wait_for_function(
        "() => document.querySelector('.pill[data-feed=\"risk\"]')?.dataset.state "
        "=== 'polling'", timeout=10_000)
    signal, _ = a_signal_and_its_fill(svc, 102.0)
    risk = svc.http.get("/v1/risk").json()["underlyings"]["XYZ"]
    b.page.wait_for_function(HEDGE_IS, arg=["XYZ", risk["hedge_position"]], timeout=3_000)
    b.page.locator(f'#signal-rows tr[data-id="{signal["id"]}"]').wait_for(timeout=3_000)
    b.assert_only_talked_to(svc)


def test_the_api_docs_load_from_the_service_alone(serve: Any, browser: Any) -> None:
    svc = serve()
    b = browser()
    b.page.goto(svc.base + "/docs")
    # a 1.7 MB bundle that renders the whole schema: slow on a busy machine
    b.page.locator(".swagger-ui .info .title").filter(has_text="dynhedge").wait_for(
        timeout=45_000)
    b.page.locator(".opblock-summary-path").filter(has_text="/v1/risk").first.wait_for()
    b.assert_only_talked_to(svc)
