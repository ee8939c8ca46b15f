"""A real service on a loopback port (in-process signal bus, file journal) and Debian's
chromium driven by Playwright — never a browser Playwright downloads (`playwright install`
fails on machines without internet). scripts/test installs chromium with apt-get.

Every wait is bounded (Playwright's default timeout is set to a few seconds per call and the
service start is bounded), so a broken page fails the test instead of hanging it."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from app.settings import Settings
from tests.api.conftest import CALL
from tests.integration.conftest import free_port, start_service

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ACTION_TIMEOUT_MS = 8_000
ADMIN_KEY = "dash-admin-key"
READ_KEY = "dash-read-key"
API_KEYS = f"{ADMIN_KEY}:admin,{READ_KEY}:read"


@dataclass
class Service:
    base: str
    settings: Settings
    http: httpx.Client

    @property
    def netloc(self) -> str:
        return urlsplit(self.base).netloc

    def has_route(self, path: str) -> bool:
        paths: dict[str, Any] = self.http.get("/openapi.json").json()["paths"]
        return path in paths


@pytest.fixture
def serve(tmp_path: Any) -> Iterator[Callable[..., Service]]:
    """serve(api_keys=..., allow_page_origin=True) → a running service; stopped at teardown."""
    running: list[tuple[Any, Any, httpx.Client]] = []

    def start(api_keys: str | None = None, allow_page_origin: bool = True) -> Service:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        settings = Settings(port=port, redis_url=None, api_keys=api_keys,
                            db_path=str(tmp_path / f"journal-{port}.db"),
                            allowed_origins=base if allow_page_origin else None)
        server, thread = start_service(settings)
        key = ADMIN_KEY if api_keys else None
        http = httpx.Client(base_url=base, timeout=5.0,
                            headers={"X-API-Key": key} if key else {})
        running.append((server, thread, http))
        return Service(base, settings, http)

    yield start
    for server, thread, http in running:
        http.close()
        server.should_exit = True
        thread.join(10)


def load_book(svc: Service, underlyings: tuple[str, ...] = ("XYZ",), band: float = 100.0) -> None:
    """XYZ: 100 calls (the API tests' CALL); any other underlying: 1,000 shares, no options.
    No spot: nothing is valued, so nothing is hedged, before the test's first tick."""
    for u in underlyings:
        r = svc.http.put(f"/v1/underlyings/{u}", json={"rate": 0.0, "div_yield": 0.0,
                                                       "vol": 0.2})
        assert r.status_code == 200, r.text
    book = [{"symbol": CALL, "quantity": 100}] + [
        {"symbol": u, "quantity": 1000} for u in underlyings if u != "XYZ"]
    r = svc.http.put("/v1/positions", json=book)
    assert r.status_code == 200, r.text
    for u in underlyings:
        r = svc.http.put(f"/v1/hedge/policies/{u}", json={"mode": "band", "band": band})
        assert r.status_code == 200, r.text


def wait_for(predicate: Callable[[], Any], timeout: float = 3.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@dataclass
class Browser:
    """One page in a fresh profile, with every request and WebSocket it opens recorded."""

    page: Any
    urls: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)

    def assert_only_talked_to(self, svc: Service) -> None:
        assert self.urls, "no request recorded"
        foreign = [u for u in self.urls if urlsplit(u).netloc != svc.netloc
                   and not u.startswith("data:")]
        assert not foreign, f"requests outside the service: {foreign}"
        assert not self.page_errors, self.page_errors
        assert not self.csp_violations, self.csp_violations


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One chromium per test module, in a fresh profile; each test opens its own tab (its
    own sessionStorage) and closes it. Not session-wide: Playwright's sync API keeps an event
    loop running in this thread while it is open, and every later asyncio test would then
    fail with "cannot be called from a running event loop"."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium "
                    "(apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="dash-chromium-") as profile:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1500, "height": 1000}, timeout=30_000)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def browser(chromium: Any) -> Iterator[Callable[[], Browser]]:
    pages: list[Any] = []

    def open_page() -> Browser:
        page = chromium.new_page()
        pages.append(page)
        b = Browser(page)
        page.on("request", lambda r: b.urls.append(r.url))
        page.on("websocket", lambda ws: b.urls.append(ws.url))
        page.on("pageerror", lambda e: b.page_errors.append(str(e)))
        page.on("console", lambda m: b.csp_violations.append(m.text)
                if "Content Security Policy" in m.text else None)
        return b

    yield open_page
    for page in pages:
        page.close()


def whoami_stand_in(page: Any, svc: Service, scopes: list[str], auth: bool = True) -> None:
    """Until the service has GET /v1/whoami (the lead's, promised as `{scopes, auth}`), the
    browser answers it with what the test configured; once the service has it, it is used."""
    if svc.has_route("/v1/whoami"):
        return
    page.route("**/v1/whoami", lambda route: route.fulfill(
        status=200, content_type="application/json",
        body=httpx.Response(200, json={"scopes": scopes, "auth": auth}).text))
