"""The page's files and the docs page, read without a browser: served without a key, from
this service alone, every vendored file with its licence; /docs references no other host."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import make_client

STATIC = Path(__file__).resolve().parents[2] / "app" / "dashboard" / "static"
EXTERNAL = re.compile(r"""(?:https?:|wss?:)?//[a-z0-9.-]+""", re.IGNORECASE)


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


def links(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.urls


@pytest.fixture
def keyed() -> Iterator[TestClient]:
    with make_client(api_keys="k1:admin") as c:
        yield c


def test_the_page_and_every_file_it_links_are_served_without_a_key(keyed: TestClient) -> None:
    r = keyed.get("/dashboard")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "connect-src 'self'" in r.headers["content-security-policy"]
    urls = links(r.text)
    assert len(urls) >= 4
    for url in urls:
        if url.startswith("data:"):
            continue
        assert not EXTERNAL.match(url), url
        path = urlsplit(urljoin("http://testserver/dashboard", url)).path
        assert path.startswith("/dashboard/static/"), url
        assert keyed.get(path).status_code == 200, url
    assert keyed.get("/v1/risk").status_code == 401  # the data stays behind the key


def test_the_pages_own_scripts_import_only_files_beside_them(keyed: TestClient) -> None:
    for js in sorted((STATIC / "js").glob("*.js")):
        text = js.read_text()
        assert not EXTERNAL.search(text.replace("ws://", "").replace("wss://", "")), js.name
        for target in re.findall(r'from "(\./[^"]+)"', text):
            assert (js.parent / target).is_file(), f"{js.name} imports {target}"
        r = keyed.get(f"/dashboard/static/js/{js.name}")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/javascript")


def test_only_files_of_the_static_directory_are_served(keyed: TestClient) -> None:
    for path in ("/dashboard/static/../../main.py", "/dashboard/static/%2e%2e/%2e%2e/main.py",
                 "/dashboard/static/nope.js", "/dashboard/static/vendor/README.md",
                 "/dashboard/static//etc/passwd"):
        assert keyed.get(path).status_code == 404, path
    r = keyed.get("/dashboard/", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "../dashboard"


def test_every_vendored_library_has_its_licence_beside_it_and_a_line_in_the_readme() -> None:
    vendor = STATIC / "vendor"
    readme = (vendor / "README.md").read_text()
    libraries = sorted(p for p in vendor.iterdir() if p.is_dir())
    assert [p.name for p in libraries] == ["swagger-ui", "uplot"]
    for lib in libraries:
        assert (lib / "LICENSE").is_file(), lib.name
        assert f"`{lib.name}/`" in readme
    assert "| `uplot` | 1.6.32 | MIT" in readme
    assert "| `swagger-ui-dist` | 5.35.0 | Apache-2.0" in readme


def test_docs_reference_no_external_host_and_their_assets_are_served(keyed: TestClient) -> None:
    r = keyed.get("/docs")
    assert r.status_code == 200
    assert not EXTERNAL.search(r.text), EXTERNAL.findall(r.text)
    urls = links(r.text)
    assert any(u.endswith("swagger-ui-bundle.js") for u in urls)
    assert any(u.endswith("swagger-ui.css") for u in urls)
    for url in urls:
        assert url.startswith("/"), url
        assert keyed.get(url).status_code == 200, url
    assert "url: '/openapi.json'" in r.text
    assert keyed.get("/openapi.json").status_code == 200
    assert keyed.get("/redoc").status_code == 404


def test_the_pages_are_not_part_of_the_api_schema(keyed: TestClient) -> None:
    paths = keyed.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/dashboard", "/docs"))]
