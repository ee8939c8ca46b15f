"""How the gateway routes a request, and how it merges the shards' answers (pure functions:
no I/O here; `app.gateway.app` does the sending).

Routing (docs/contract.md, "Scaling out"):
- a path that names an underlying (`/v1/underlyings/{symbol}`, `/v1/risk/{underlying}`,
  `/v1/hedge/policies/{underlying}`, `/v1/surfaces/{underlying}…`, `/v1/pnl/{underlying}`)
  goes to its owner;
- a signal's own path (`/v1/hedge/signals/{id}/…`) goes to the shard in its id (`K-…`);
- ticks and fills by their symbol's underlying (a fill's `underlying` field when it has one);
  a manual signal, an options plan, a halt or resume of one underlying by the body's
  `underlying`;
- limits by scope: an underlying's to its owner, the firm's `book` limits to every shard
  (`app.gateway.limits`);
- any other read goes to every shard and the answers are merged; any other write goes to
  every shard (halt/resume of all, roll, reconcile)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.domain.shard import shard_of, underlying_of

BY_PATH = {"underlyings", "risk", "surfaces", "pnl"}  # /v1/<these>/{underlying}…
NOT_AN_UNDERLYING = {("pnl", "history"), ("pnl", "roll"), ("risk", "scenarios")}
BY_BODY = {"/v1/fills", "/v1/hedge/signals", "/v1/hedge/options-plan", "/v1/hedge/halt",
           "/v1/hedge/resume"}
TOTAL_FIELDS = ("dollar_delta", "dollar_gamma", "vega", "theta", "rho")


@dataclass(frozen=True, slots=True)
class Route:
    """`kind`: owner (send to `shard`), body (the body says the owner), ticks, positions,
    reconcile, limits, limit_ack, signal (`shard` from the id), every (broadcast), find (the
    one shard that knows)."""

    kind: str
    shard: int | None = None
    underlying: str | None = None


def route(method: str, path: str, count: int) -> Route:
    parts = [p for p in path.split("/") if p]
    if parts[:1] != ["v1"]:
        return Route("every")
    rest = parts[1:]
    if path == "/v1/ticks" and method == "POST":
        return Route("ticks")
    if path == "/v1/positions" and method == "PUT":
        return Route("positions")
    if path == "/v1/positions/reconcile" and method == "PUT":
        return Route("reconcile")
    if path in BY_BODY and method == "POST":
        return Route("body")
    if path == "/v1/limits" and method in ("GET", "PUT"):
        return Route("limits")  # app.gateway.limits: by scope, merged
    if len(rest) == 3 and rest[0] == "limits" and rest[2] == "ack" and method == "POST":
        return Route("limit_ack")
    if len(rest) >= 2 and rest[0] in BY_PATH and (rest[0], rest[1]) not in NOT_AN_UNDERLYING:
        return owner_route(rest[1], count)
    if len(rest) >= 3 and rest[:2] == ["hedge", "policies"]:
        return owner_route(rest[2], count)
    if len(rest) >= 4 and rest[:2] == ["hedge", "signals"]:
        return Route("signal", signal_shard(rest[2], count))
    if len(rest) >= 3 and rest[0] == "fills":  # /v1/fills/{exec_id}/bust: whoever has it
        return Route("find")
    return Route("every")


def owner_route(underlying: str, count: int) -> Route:
    return Route("owner", shard_of(underlying, count), underlying)


def signal_shard(signal_id: str, count: int) -> int | None:
    """The shard in a signal id `K-…`; None when the id carries none."""
    head, sep, _ = signal_id.partition("-")
    if sep and head.isdigit() and int(head) < count:
        return int(head)
    return None


def body_underlying(path: str, body: Any) -> str | None:
    """The underlying a JSON body routes by (None: no underlying, e.g. halt of all)."""
    items = body if isinstance(body, list) else [body]
    found: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            return None
        u = item.get("underlying")
        if isinstance(u, str) and u:
            found.add(u)
        elif path == "/v1/fills" and isinstance(item.get("symbol"), str):
            found.add(underlying_of(item["symbol"]))
    return found.pop() if len(found) == 1 else None


def split_ticks(items: list[Any], count: int) -> tuple[dict[int, list[int]], list[int]]:
    """Original indexes per owning shard, and the indexes with no string symbol."""
    per: dict[int, list[int]] = {}
    unroutable: list[int] = []
    for i, item in enumerate(items):
        symbol = item.get("symbol") if isinstance(item, dict) else None
        if isinstance(symbol, str) and symbol:
            per.setdefault(shard_of(underlying_of(symbol), count), []).append(i)
        else:
            unroutable.append(i)
    return per, unroutable


def merge_ticks(parts: list[tuple[list[int], dict[str, Any]]],
                rejected: list[dict[str, Any]]) -> dict[str, Any]:
    """Shards' tick answers as one: accepted summed, each rejection at its original index."""
    accepted = 0
    out = list(rejected)
    for indexes, answer in parts:
        accepted += int(answer.get("accepted", 0))
        for r in answer.get("rejected", []):
            out.append({**r, "index": indexes[int(r["index"])]})
    return {"accepted": accepted, "rejected": sorted(out, key=lambda r: r["index"])}


def merge_risk(answers: dict[int, dict[str, Any]], status: dict[str, Any]) -> dict[str, Any]:
    """GET /v1/risk of every shard as the firm's: totals summed, underlyings side by side,
    `as_of` the latest, `shards` each shard's state and the time of its figures."""
    total: dict[str, Any] = dict.fromkeys(TOTAL_FIELDS, 0.0)
    underlyings: dict[str, Any] = {}
    stamps = []
    for answer in answers.values():
        for key, value in (answer.get("total") or {}).items():
            # every figure of the total adds up (P&L, beta-weighted delta… when a shard has
            # them); anything else is kept from the first shard that has it
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                prior = total.get(key)
                total[key] = value + (prior if isinstance(prior, (int, float)) else 0.0)
            else:
                total.setdefault(key, value)
        underlyings.update(answer.get("underlyings", {}))
        if answer.get("as_of"):
            stamps.append(answer["as_of"])
    return {"as_of": max(stamps) if stamps else None, "total": total,
            "underlyings": dict(sorted(underlyings.items())), "shards": status,
            "complete": all(s["status"] == "up" for s in status.values())}


def total_of(figures: Any) -> dict[str, float]:
    """The book's totals from per-underlying figures (as the service's own `total`)."""
    total = dict.fromkeys(TOTAL_FIELDS, 0.0)
    for f in figures:
        for key in TOTAL_FIELDS:
            total[key] += float(f.get(key) or 0.0)
    return total


def merge_signals(lists: list[list[dict[str, Any]]], limit: int) -> list[dict[str, Any]]:
    """Every shard's signals as one listing, ordered by time (then shard, then seq)."""
    merged = [s for items in lists for s in items]
    merged.sort(key=lambda s: (str(s.get("ts", "")), str(s.get("id", "")).split("-")[0],
                               int(s.get("seq", 0))))
    return merged[:limit]


def parse_cursor(text: str, count: int) -> list[int]:
    """`SEQ` (every shard) or `K:SEQ,K:SEQ,…` → the seq to read after, per shard."""
    text = text.strip()
    if text.isdigit():
        return [int(text)] * count
    out = [0] * count
    for part in filter(None, (p.strip() for p in text.split(","))):
        k, sep, seq = part.partition(":")
        if not (sep and k.isdigit() and seq.isdigit() and int(k) < count):
            raise ValueError(f"after: expected SEQ or K:SEQ,… with K < {count}")
        out[int(k)] = int(seq)
    return out


def next_cursor(cursor: list[int], listed: list[dict[str, Any]],
                lists: list[list[dict[str, Any]]]) -> str:
    """The cursor after `listed` (a time-ordered cut of every shard's `lists`): per shard the
    highest seq up to which every one of its signals was listed."""
    shown = {str(s.get("id")) for s in listed}
    out = []
    for k, items in enumerate(lists):
        seq = cursor[k]
        for s in sorted(items, key=lambda s: int(s.get("seq", 0))):
            if str(s.get("id")) not in shown:
                break
            seq = int(s["seq"])
        out.append(f"{k}:{seq}")
    return ",".join(out)


def merge_any(values: list[Any]) -> Any:
    """Answers of a broadcast read: lists concatenated, objects merged key by key."""
    if all(isinstance(v, list) for v in values):
        return [x for v in values for x in v]
    if all(isinstance(v, dict) for v in values):
        out: dict[str, Any] = {}
        for v in values:
            for key, value in v.items():
                prior = out.get(key)
                if key not in out:
                    out[key] = value
                elif isinstance(prior, bool) and isinstance(value, bool):
                    out[key] = prior and value  # e.g. `matched`: every shard matched
                elif isinstance(prior, (int, float)) and isinstance(value, (int, float)) \
                        and not isinstance(value, bool) and not isinstance(prior, bool):
                    out[key] = prior + value  # counts (loaded, accepted) add up
                elif isinstance(prior, dict) and isinstance(value, dict):
                    out[key] = {**prior, **value}
                elif isinstance(prior, list) and isinstance(value, list):
                    out[key] = prior + value  # e.g. `differences`, `accepted`
        return out
    return values[0] if values else None
