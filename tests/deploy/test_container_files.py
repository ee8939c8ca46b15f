"""The container files, checked by reading (no Docker engine here): the image runs as a
non-root user with a health check; compose wires Redis and never publishes it to the host."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_the_image_runs_as_a_non_root_user_with_a_healthcheck():
    text = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0"), "the image must end as a non-root user"
    assert re.search(r"^HEALTHCHECK .*", text, flags=re.MULTILINE)
    assert "/healthz" in text


def test_compose_wires_redis_and_never_publishes_it():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    redis = next(s for s in services.values() if "redis" in str(s.get("image", "")))
    assert "ports" not in redis, "Redis must not be published to the host"
    api = next(s for s in services.values()
               if "HEDGE_REDIS_URL" in str(s.get("environment", "")))
    assert "redis://redis:6379" in str(api["environment"])
