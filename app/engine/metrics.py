"""Prometheus metrics of one service instance (its own registry: two apps in one process,
as in tests, never collide)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

PNL_PARTS = ("pnl", "options", "convertibles", "stock", "hedge", "fees", "realized",
             "unrealized", "trade_edge", "hedge_slippage", "revaluation", "residual")

_LATENCY_BUCKETS = (
    0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0
)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._quiet = _QuietCollector(lambda: ())
        r.register(self._quiet)
        self.ticks = Counter("dynhedge_ticks_total", "Ticks by outcome", ["outcome"], registry=r)
        self.fills = Counter("dynhedge_fills_total", "Fills by outcome", ["outcome"], registry=r)
        self.signals = Counter(
            "dynhedge_signals_total", "Signals by outcome", ["outcome"], registry=r
        )
        self.recompute_seconds = Histogram(
            "dynhedge_recompute_seconds", "Revaluation of one underlying",
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.tick_to_signal_seconds = Histogram(
            "dynhedge_tick_to_signal_seconds", "Tick received to signal handed to the bus",
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.risk_lag_seconds = Histogram(
            "dynhedge_risk_lag_seconds",
            "From the first tick an underlying's risk did not reflect to the recompute that did",
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.inbox_depth = Gauge(
            "dynhedge_inbox_depth", "Underlyings waiting for a recompute", registry=r
        )
        self.outbox_depth = Gauge(
            "dynhedge_outbox_depth", "Signals waiting to be published", registry=r
        )
        self.alerts = Counter(
            "dynhedge_alerts_total", "Alerts (warn, breach, ack, clear, halt, resume) by kind",
            ["kind"], registry=r,
        )
        self.redis_errors = Counter(
            "dynhedge_redis_publish_errors_total", "Failed publishes to Redis", registry=r
        )
        self.surface_fits = Counter(
            "dynhedge_surface_fits_total", "Volatility surface refits by outcome (accepted, "
            "rejected, locked, failed)", ["outcome"], registry=r,
        )
        self.surface_fit_seconds = Histogram(
            "dynhedge_surface_fit_seconds", "One surface refit in its worker thread",
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.pnl = Gauge(
            "dynhedge_pnl_dollars", "P&L since the start of the day and its parts, $",
            ["underlying", "part"], registry=r,
        )
        self.pnl_attribution = Gauge(
            "dynhedge_pnl_attribution_dollars",
            "The options' P&L by Greek (predict) and the unexplained rest, $",
            ["underlying", "term"], registry=r,
        )
        self.ws_dropped = Counter(
            "dynhedge_ws_dropped_total", "WebSocket consumers dropped for not reading",
            ["feed"], registry=r,
        )

    def set_pnl(self, per: dict[str, dict[str, Any]]) -> None:
        """The P&L gauges from `ReadModel.pnl_all()`'s figures (an unpriced figure is not
        set; an underlying no longer shown is removed)."""
        for gauge in (self.pnl, self.pnl_attribution):
            gauge.clear()
        for u, f in per.items():
            for part in PNL_PARTS:
                if f.get(part) is not None:
                    self.pnl.labels(u, part).set(f[part])
            for term, value in (f.get("attribution") or {}).items():
                self.pnl_attribution.labels(u, term).set(value)

    def count_quiet(self, totals: Callable[[], Iterable[tuple[str, int]]]) -> None:
        """dynhedge_hedge_quiet_total{reason}: the hedge engine's own counts of decisions not
        to trade, read when scraped (the tick path only bumps a dict entry)."""
        self._quiet.totals = totals


class _QuietCollector(Collector):
    def __init__(self, totals: Callable[[], Iterable[tuple[str, int]]]) -> None:
        self.totals = totals

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily("dynhedge_hedge_quiet", "Decisions not to trade, by reason",
                                     labels=["reason"])
        for reason, count in sorted(self.totals()):
            family.add_metric([reason], count)
        yield family
