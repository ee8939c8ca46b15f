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


# the book reads the vol surface (ARCHITECTURE: "a surface/ package that book uses")
MAY_IMPORT = {"book": {"surface"}, "hedging": set()}


@pytest.mark.parametrize("package", ["book", "hedging"])
def test_book_and_hedging_know_no_web_redis_or_sqlite(package):
    for module, names in imports_of(package).items():
        assert not roots(names) & WEB_AND_IO, module
        allowed = {"domain", "pricing", package, "errors"} | MAY_IMPORT[package]
        assert app_parts(names) <= allowed, module


def test_the_surface_imports_only_the_pricing_core():
    for module, names in imports_of("surface").items():
        assert not roots(names) & WEB_AND_IO, module
        assert app_parts(names) <= {"surface", "pricing"}, module


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


def test_settings_know_no_adapter():
    names = imports_of_file(APP / "settings.py")
    assert "adapters" not in app_parts(names)


# What the API may use of the engine: its shell (the runner and its feeds), its commands and
# their codec, and its read side (read models and their JSON) — never the core's mutable parts.
ENGINE_FOR_THE_API = {"app.engine.runner", "app.engine.feed", "app.engine.commands",
                      "app.engine.command_codec", "app.engine.read", "app.engine.views"}


def test_the_api_imports_only_the_engines_read_side_and_commands():
    for module, names in imports_of("api").items():
        engine = {n for n in names if n.startswith("app.engine")}
        assert engine <= ENGINE_FOR_THE_API, (module, engine - ENGINE_FOR_THE_API)
        assert not app_parts(names) & {"book", "adapters", "pricing", "backtest"}, module
        hedging = {n for n in names if n.startswith("app.hedging")}
        assert hedging <= {"app.hedging", "app.hedging.policy"}, module  # the policy value


def test_routes_never_read_the_wall_clock():
    for path in sorted((APP / "api").rglob("*.py")):
        text = path.read_text()
        assert "time.time()" not in text and "datetime.now(" not in text, path


def test_routes_never_reach_into_the_core():
    for path in sorted((APP / "api").rglob("*.py")):
        text = path.read_text()
        for mutable in ("runner.core", ".hedger.", ".book.", "core.risk"):
            assert mutable not in text, (path, mutable)


def imports_of_file(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names
