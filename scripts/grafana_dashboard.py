#!/usr/bin/env python3
"""Write deploy/grafana/dashboards/dynhedge.json: the Grafana dashboard on the service's
/metrics figures (app/engine/metrics.py). Edit the panels here and re-run; the test
tests/deploy/test_monitoring.py fails when the JSON and this script disagree.

    python scripts/grafana_dashboard.py [--check]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "dashboards" / "dynhedge.json"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}  # provisioning/datasources sets the uid
SEL = 'job="dynhedge", instance=~"$instance"'
WIDTH = 24


def target(expr: str, legend: str, ref: str) -> dict[str, Any]:
    return {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ref,
            "range": True}


def quantiles(metric: str) -> list[dict[str, Any]]:
    """p50 and p99 of a histogram over the last minute, all instances pooled."""
    return [target(f"histogram_quantile({q}, sum by (le) (rate({metric}_bucket{{{SEL}}}[1m])))",
                   f"p{round(q * 100)}", ref) for q, ref in ((0.5, "A"), (0.99, "B"))]


def panel(title: str, targets: list[dict[str, Any]], unit: str, *, kind: str = "timeseries",
          description: str = "", stack: bool = False) -> dict[str, Any]:
    custom: dict[str, Any] = {}
    if kind == "timeseries":
        custom = {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10 if stack else 0,
                  "showPoints": "never", "spanNulls": False,
                  "stacking": {"mode": "normal" if stack else "none", "group": "A"}}
    return {
        "type": kind, "title": title, "description": description, "datasource": DATASOURCE,
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit, "custom": custom}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                    "tooltip": {"mode": "multi", "sort": "desc"}} if kind == "timeseries"
        else {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
              "colorMode": "value", "graphMode": "area", "textMode": "auto"},
    }


ROWS: list[tuple[str, int, list[dict[str, Any]]]] = [
    ("Flow", 8, [
        panel("Ticks / s by outcome", [target(
            f"sum by (outcome) (rate(dynhedge_ticks_total{{{SEL}}}[1m]))", "{{outcome}}", "A")],
            "ops", stack=True, description="accepted and rejected ticks (REST and WebSocket)"),
        panel("Fills / s by outcome", [target(
            f"sum by (outcome) (rate(dynhedge_fills_total{{{SEL}}}[1m]))", "{{outcome}}", "A")],
            "ops", stack=True, description="applied, duplicate, conflict, overfill, busted"),
        panel("Signals / min by reason", [target(
            f"60 * sum by (outcome) (rate(dynhedge_signals_total{{{SEL}}}[5m]))",
            "{{outcome}}", "A")], "short", stack=True,
            description="signals handed to the bus, by the policy mode that sent them"),
        panel("Decisions not to trade / s, by reason", [target(
            f"sum by (reason) (rate(dynhedge_hedge_quiet_total{{{SEL}}}[5m]))",
            "{{reason}}", "A")], "ops", stack=True,
            description="why the hedger is quiet: inside_band, stale, halted, limit, ..."),
    ]),
    ("Latency", 8, [
        panel("Recompute of one underlying (p50, p99)", quantiles("dynhedge_recompute_seconds"),
              "s", description="book revaluation of one underlying, numba kernel included"),
        panel("Tick to signal (p50, p99)", quantiles("dynhedge_tick_to_signal_seconds"), "s",
              description="tick received to signal handed to the bus"),
        panel("Risk lag (p50, p99)", quantiles("dynhedge_risk_lag_seconds"), "s",
              description="first tick an underlying's risk did not reflect, to the recompute "
                          "that did"),
    ]),
    ("Health", 6, [
        panel("Up", [target(f"up{{{SEL}}}", "{{instance}}", "A")], "none", kind="stat",
              description="1 while Prometheus scrapes /metrics"),
        panel("Inbox depth", [target(f"max(dynhedge_inbox_depth{{{SEL}}})", "underlyings", "A")],
              "short", description="underlyings waiting for a recompute"),
        panel("Outbox depth", [target(f"max(dynhedge_outbox_depth{{{SEL}}})", "signals", "A")],
              "short", description="signals waiting to be published (grows while Redis is down)"),
        panel("Redis publish errors (5 min)", [target(
            f"sum(increase(dynhedge_redis_publish_errors_total{{{SEL}}}[5m]))", "errors", "A")],
            "short"),
        panel("WebSocket consumers dropped (5 min)", [target(
            f"sum by (feed) (increase(dynhedge_ws_dropped_total{{{SEL}}}[5m]))", "{{feed}}",
            "A")], "short", description="consumers that stopped reading, by feed"),
    ]),
    ("Desk", 7, [
        panel("P&L of the day", [target(
            f'sum by (underlying) (dynhedge_pnl_dollars{{{SEL}, part="pnl"}})', "{{underlying}}",
            "A")], "currencyUSD", description="$ since the start of the day, per underlying"),
        panel("P&L attribution", [target(
            f"sum by (term) (dynhedge_pnl_attribution_dollars{{{SEL}}})", "{{term}}", "A")],
            "currencyUSD", description="the options' P&L by Greek and the unexplained rest"),
        panel("Risk alerts (5 min)", [target(
            f"sum by (kind) (increase(dynhedge_alerts_total{{{SEL}}}[5m]))", "{{kind}}", "A")],
            "short", description="limit warnings, breaches, acknowledgements, clears, halts"),
        panel("Surface refits (5 min)", [target(
            f"sum by (outcome) (increase(dynhedge_surface_fits_total{{{SEL}}}[5m]))",
            "{{outcome}}", "A")], "short", description="refits by outcome"),
        panel("Surface refit (p50, p99)", quantiles("dynhedge_surface_fit_seconds"), "s",
              description="one refit in its worker thread"),
    ]),
]


def dashboard() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y = 0
    next_id = 1
    for row_title, height, row_panels in ROWS:
        panels.append({"type": "row", "title": row_title, "id": next_id, "collapsed": False,
                       "gridPos": {"h": 1, "w": WIDTH, "x": 0, "y": y}, "panels": []})
        next_id += 1
        y += 1
        widths = [WIDTH // len(row_panels)] * len(row_panels)
        widths[-1] += WIDTH - sum(widths)
        x = 0
        for p, w in zip(row_panels, widths, strict=True):
            panels.append({**p, "id": next_id, "gridPos": {"h": height, "w": w, "x": x, "y": y}})
            next_id += 1
            x += w
        y += height
    return {
        "uid": "dynhedge", "title": "dynhedge", "tags": ["dynhedge"], "timezone": "utc",
        "editable": False, "schemaVersion": 39, "version": 1, "refresh": "10s",
        "time": {"from": "now-1h", "to": "now"}, "graphTooltip": 1,
        "templating": {"list": [{
            "name": "instance", "label": "instance", "type": "query", "datasource": DATASOURCE,
            "query": {"query": 'label_values(up{job="dynhedge"}, instance)', "refId": "I"},
            "definition": 'label_values(up{job="dynhedge"}, instance)', "refresh": 2,
            "includeAll": True, "multi": True, "allValue": ".*",
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        }]},
        "annotations": {"list": []}, "links": [], "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        same = OUT.is_file() and OUT.read_text() == text
        print(f"{OUT}: {'up to date' if same else 'differs: run scripts/grafana_dashboard.py'}")
        return 0 if same else 1
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
