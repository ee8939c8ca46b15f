"""The documentation a clone carries: every Markdown link stays inside the repository and
lands on a file (and heading) that exists; the contract page names every HTTP route, WebSocket
and setting the code has, so a feature cannot land without its line there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.main import create_app
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "docs" / "contract.md"
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
WEB = re.compile(r"^(https?|mailto):", re.IGNORECASE)


def markdown_files() -> list[Path]:
    return sorted([*ROOT.glob("*.md"), *(ROOT / "docs").rglob("*.md")])


def links(text: str) -> Iterator[str]:
    """Link targets of a Markdown text, outside code blocks and code spans."""
    prose = CODE_SPAN.sub("", FENCE.sub("", text))
    for pattern in (INLINE_LINK, REFERENCE):
        for found in pattern.finditer(prose):
            yield found.group(1)


def anchors(text: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown text."""
    out: set[str] = set()
    for line in FENCE.sub("", text).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            title = heading.group(1).lower().replace("`", "")
            out.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return out


def broken_links(text: str, source: Path) -> list[str]:
    """What is wrong with the links of `text`, a Markdown page at `source` (web addresses are
    fine; any other target must be a file or heading inside the repository)."""
    problems = []
    for target in links(text):
        if WEB.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        if re.match(r"^[a-z][a-z0-9+.-]*:", path_part, re.IGNORECASE) or path_part.startswith(
                ("/", "~")):
            problems.append(f"{target}: not a path inside the repository")
            continue
        resolved = (source.parent / path_part).resolve() if path_part else source
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{target}: outside the repository")
        elif path_part and not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md":
            page = text if not path_part else resolved.read_text(encoding="utf-8")
            if anchor not in anchors(page):
                problems.append(f"{target}: no heading #{anchor}")
    return problems


@pytest.mark.parametrize("source", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_markdown_link_stays_in_the_repository_and_finds_its_file(source: Path):
    assert broken_links(source.read_text(encoding="utf-8"), source) == []


def test_the_link_check_catches_links_that_leave_the_repository_or_lead_nowhere():
    text = ("# A page\n[a](../../shared/CONTRACT.md) [b](/etc/passwd) [c](missing.md)"
            " [d](#no-such) [e](file:///x) [f](contract.md#no-such)\n"
            "[ok](https://example.org) [ok](#a-page) [ok](contract.md#2-instruments)"
            " [ok](../README.md) `[code](../../x.md)`\n"
            "```\n[fenced](../../y.md)\n```\n")
    found = broken_links(text, ROOT / "docs" / "a-page.md")
    assert [x.rsplit(": ", 1)[0] for x in found] == [
        "../../shared/CONTRACT.md", "/etc/passwd", "missing.md", "#no-such", "file:///x",
        "contract.md#no-such"]


def contract_text() -> str:
    assert CONTRACT.exists(), "docs/contract.md is the service's contract"
    return CONTRACT.read_text(encoding="utf-8")


def app_routes() -> Any:
    return create_app(Settings())


def test_the_contract_names_every_http_route_of_the_service():
    text = contract_text()
    spec = app_routes().openapi()
    missing = [f"{method.upper()} {path}" for path, ops in spec["paths"].items()
               for method in ops if f"{method.upper()} {path}" not in text]
    assert missing == [], "routes not in docs/contract.md"


def websocket_paths(routes: list[Any]) -> Iterator[str]:
    for route in routes:
        inner = getattr(route, "routes", None) or getattr(
            getattr(route, "original_router", None), "routes", None)
        if inner:
            yield from websocket_paths(inner)
        elif type(route).__name__.endswith("WebSocketRoute"):
            yield route.path


def test_the_contract_names_every_websocket_of_the_service():
    text = contract_text()
    paths = sorted(set(websocket_paths(app_routes().routes)))
    assert paths, "no WebSocket route found: the walk over the routes needs updating"
    assert [p for p in paths if f"WS {p}" not in text] == []


def test_the_contract_names_every_setting_as_its_environment_variable():
    text = contract_text()
    names = [f"HEDGE_{name.upper()}" for name in Settings.model_fields]
    assert [n for n in names if f"`{n}`" not in text] == []
