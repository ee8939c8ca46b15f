"""What may import what (ARCHITECTURE.md), checked on the source with the ast module."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"
STDLIB = set(sys.stdlib_module_names)
WEB_AND_IO = {"fastapi", "starlette", "uvicorn", "redis", "sqlite3", "httpx", "websockets"}


def imports_of(package: str) -> dict[str, set[str]]:
    """module path → the top-level names (and app.* modules) it imports."""
    out: dict[str, set[str]] = {}
    for path in sorted((APP / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        out[str(path.relative_to(APP.parent))] = names
    return out


def app_parts(names: set[str]) -> set[str]:
    return {n.split(".")[1] for n in names if n.startswith("app.") and n.count(".") >= 1}


def roots(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def test_pricing_imports_nothing_of_the_app():
    for module, names in imports_of("pricing").items():
        assert app_parts(names) <= {"pricing"}, module


def test_domain_is_stdlib_only():
    for module, names in imports_of("domain").items():
        assert roots(names) - {"app"} <= STDLIB, module
        assert app_parts(names) <= {"domain"}, module


@pytest.mark.parametrize("package", ["book", "hedging"])
def test_book_and_hedging_know_no_web_redis_or_sqlite(package):
    for module, names in imports_of(package).items():
        assert not roots(names) & WEB_AND_IO, module
        assert app_parts(names) <= {"domain", "pricing", package, "errors"}, module


def test_hedging_does_not_import_the_book():
    """The hedge decision reads risk through its own input type (`app.hedging.Exposure`) and
    arrays, so the backtester and the live engine feed it alike."""
    for module, names in imports_of("hedging").items():
        assert "book" not in app_parts(names), module


def test_engine_knows_no_web_redis_or_sqlite():
    for module, names in imports_of("engine").items():
        assert not roots(names) & WEB_AND_IO, module
        assert "adapters" not in app_parts(names) and "api" not in app_parts(names), module


def test_adapters_do_not_reach_into_the_api_or_the_engine_core():
    for module, names in imports_of("adapters").items():
        assert not app_parts(names) & {"api", "book", "hedging"}, module
