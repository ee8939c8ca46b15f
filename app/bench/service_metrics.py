"""Reading the service's Prometheus `/metrics`: samples, histograms and their quantiles."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import httpx

_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})? '
                     r'(?P<value>\S+)$')


def scrape(base: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """The samples of /metrics (no key needed): {name: {labels-string: value}}."""
    text = httpx.get(base + "/metrics", timeout=timeout_s).text
    out: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m:
            out.setdefault(m["name"], {})[m["labels"] or ""] = float(m["value"])
    return out


@dataclass(frozen=True)
class Histogram:
    """Cumulative bucket counts of one Prometheus histogram (upper bounds in seconds)."""

    bounds: tuple[float, ...]
    counts: tuple[float, ...]  # cumulative, aligned with bounds; the last bound is +Inf
    total: float
    sum: float

    def minus(self, before: Histogram) -> Histogram:
        return Histogram(self.bounds,
                         tuple(a - b for a, b in zip(self.counts, before.counts, strict=True)),
                         self.total - before.total, self.sum - before.sum)

    def quantile(self, q: float) -> float:
        """Linear interpolation inside the bucket holding the q-quantile, as Prometheus'
        histogram_quantile — which also answers the largest finite bound when the quantile
        falls in the +Inf bucket (then a lower bound: see `beyond`); NaN when empty."""
        if self.total <= 0:
            return math.nan
        rank = q * self.total
        lo_bound, lo_count = 0.0, 0.0
        for bound, count in zip(self.bounds, self.counts, strict=True):
            if count >= rank:
                if math.isinf(bound):
                    return lo_bound
                width = count - lo_count
                frac = (rank - lo_count) / width if width > 0 else 1.0
                return lo_bound + (bound - lo_bound) * frac
            lo_bound, lo_count = bound, count
        return lo_bound

    def bucket_of(self, q: float) -> tuple[float, float]:
        """(lower, upper] bounds of the bucket holding the q-quantile: what the histogram
        actually knows of it (the interpolated `quantile` is an estimate inside it)."""
        rank = q * self.total
        lo = 0.0
        for bound, count in zip(self.bounds, self.counts, strict=True):
            if self.total > 0 and count >= rank:
                return lo, bound
            lo = bound
        return lo, math.inf

    def beyond(self, q: float) -> bool:
        """True when the q-quantile lies past the largest finite bucket bound."""
        finite = [c for b, c in zip(self.bounds, self.counts, strict=True) if not math.isinf(b)]
        return self.total > 0 and (not finite or finite[-1] < q * self.total)

    def max_bucket(self) -> float:
        """The upper bound of the highest bucket that holds an observation (an upper bound
        of the largest value seen; +Inf when something fell past the last finite bound)."""
        if self.total <= 0:
            return math.nan
        for bound, count in zip(self.bounds, self.counts, strict=True):
            if count >= self.total:
                return bound
        return math.inf

    @property
    def mean(self) -> float:
        return self.sum / self.total if self.total > 0 else math.nan


def histogram(samples: dict[str, Any], name: str) -> Histogram:
    buckets = samples.get(name + "_bucket", {})
    pairs = []
    for labels, value in buckets.items():
        m = re.search(r'le="([^"]+)"', labels)
        if m:
            pairs.append((float(m[1]), value))
    pairs.sort()
    return Histogram(tuple(b for b, _ in pairs), tuple(c for _, c in pairs),
                     float(samples.get(name + "_count", {}).get("", 0.0)),
                     float(samples.get(name + "_sum", {}).get("", 0.0)))


def counter(samples: dict[str, Any], name: str, labels: str = "") -> float:
    return float(samples.get(name, {}).get(labels, 0.0))


def total(samples: dict[str, Any], name: str) -> float:
    """A metric summed over its labels."""
    return float(sum(samples.get(name, {}).values()))
