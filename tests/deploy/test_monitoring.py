"""The monitoring profile, checked by reading (no Docker engine here): Prometheus scrapes the
service's /metrics, Grafana comes with the datasource and the dashboard provisioned, the
dashboard queries every metric the service exposes and nothing it does not, and the compose
CLI accepts the file with and without the profile."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.engine.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "dynhedge.json"


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """host path (relative to the repo) → container path, for the bind mounts."""
    out = {}
    for v in service.get("volumes", []):
        host, container = v.split(":")[:2]
        if host.startswith("./"):
            out[host[2:]] = container
    return out


def test_the_monitoring_profile_brings_pinned_prometheus_and_grafana_only() -> None:
    services = compose()["services"]
    for name in ("prometheus", "grafana"):
        s = services[name]
        assert s["profiles"] == ["monitoring"], name
        image = s["image"]
        assert re.fullmatch(r"[\w./-]+:v?\d+\.\d+\.\d+@sha256:[0-9a-f]{64}", image), image
        assert all(p.startswith("127.0.0.1:") for p in s["ports"]), name
    assert "profiles" not in services["dynhedge"] and "profiles" not in services["redis"]
    assert "ports" not in services["redis"]


def test_prometheus_scrapes_the_services_metrics_on_the_compose_network() -> None:
    s = compose()["services"]["prometheus"]
    config_path = next(c.split("=", 1)[1] for c in s["command"] if c.startswith("--config.file="))
    assert mounts(s)["deploy/prometheus/prometheus.yml"] == config_path
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    job = next(j for j in config["scrape_configs"] if j["job_name"] == "dynhedge")
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["dynhedge:8000"]


def test_grafana_is_provisioned_with_the_datasource_and_the_dashboard() -> None:
    s = compose()["services"]["grafana"]
    m = mounts(s)
    assert m["deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
    provisioning = ROOT / "deploy/grafana/provisioning"
    source = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())
    ds = source["datasources"][0]
    assert ds["type"] == "prometheus" and ds["url"] == "http://prometheus:9090"
    provider = yaml.safe_load((provisioning / "dashboards/dynhedge.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == m["deploy/grafana/dashboards"]
    board = json.loads(DASHBOARD.read_text())
    uids = {p["datasource"]["uid"] for p in board["panels"] if p["type"] != "row"}
    assert uids == {ds["uid"]}
    assert s["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"] == \
        f'{m["deploy/grafana/dashboards"]}/{DASHBOARD.name}'


def test_the_dashboard_json_is_what_its_script_writes() -> None:
    spec = importlib.util.spec_from_file_location("grafana_dashboard",
                                                  ROOT / "scripts/grafana_dashboard.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert DASHBOARD.read_text() == module.render(), "run scripts/grafana_dashboard.py"


def exposed_series() -> dict[str, str]:
    """Series names the service's /metrics has → the metric family they belong to."""
    out = {}
    for family in Metrics().registry.collect():
        if family.type == "counter":
            out[family.name + "_total"] = family.name
        elif family.type == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                out[family.name + suffix] = family.name
        else:
            out[family.name] = family.name
    return out


def test_the_dashboard_queries_every_metric_of_the_service_and_only_those() -> None:
    board = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    assert exprs and all(p.get("targets") for p in board["panels"] if p["type"] != "row")
    queried = {name for e in exprs for name in re.findall(r"\bdynhedge_\w+", e)}
    series = exposed_series()
    assert queried <= set(series), queried - set(series)
    assert {series[q] for q in queried} == set(series.values())
    histograms = {n for n, fam in series.items() if n.endswith("_bucket")}
    for h in histograms:  # p50 and p99 of each latency histogram
        for q in ("0.5", "0.99"):
            assert any(f"histogram_quantile({q}," in e and h in e for e in exprs), (h, q)


def compose_cli() -> list[str] | None:
    if shutil.which("docker") and subprocess.run(
            ["docker", "compose", "version"], capture_output=True, timeout=30).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


@pytest.mark.parametrize("profile", [[], ["--profile", "monitoring"]])
def test_the_compose_cli_accepts_the_file(profile: list[str]) -> None:
    cli = compose_cli()
    if cli is None:
        pytest.skip("no docker compose CLI on this machine")
    r = subprocess.run([*cli, *profile, "config", "-q"], cwd=ROOT, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stderr
